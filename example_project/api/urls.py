"""Routes of the example API (mounted under ``/api/``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("public", views.PublicView.as_view()),
    path("me", views.MeView.as_view()),
    path("orders", views.OrdersView.as_view()),
    path("payments", views.PaymentsView.as_view()),
]
