from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("django_jwt_at.urls")),  # /.well-known/oauth-protected-resource
    path("mcp", views.mcp),
    path("api/orders", views.Orders.as_view()),
    path("api/refunds", views.Refunds.as_view()),
]
