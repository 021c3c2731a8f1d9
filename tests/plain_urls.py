"""A URLconf as a new project has it: one API view, no view with its own DPoP mode."""

from django.urls import path

from . import views

urlpatterns = [path("orders", views.OrdersView.as_view())]
