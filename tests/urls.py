from django.urls import include, path

from . import views

urlpatterns = [
    path("orders", views.OrdersView.as_view()),
    path("admin", views.AdminView.as_view()),
    path("payments", views.PaymentsView.as_view()),
    path("payments-subclass", views.PaymentsSubclassView.as_view()),
    path("payments-subclass-only", views.PaymentsSubclassOnlyView.as_view()),
    path("public", views.PublicView.as_view()),
    path("two-scopes", views.TwoScopesView.as_view()),
    path("any-scope", views.AnyScopeView.as_view()),
    path("composed-scopes", views.ComposedScopesView.as_view()),
    path("or-scopes", views.OrScopesView.as_view()),
    path("not-scope", views.NotScopeView.as_view()),
    path("acr-list", views.AcrListView.as_view()),
    path("max-age-only", views.MaxAgeOnlyView.as_view()),
    path("whoami", views.WhoAmIView.as_view()),
    path("session-first/orders", views.SessionFirstOrdersView.as_view()),
    path("session-first/whoami", views.SessionFirstWhoAmIView.as_view()),
    path("basic-after-us", views.BasicAfterUsView.as_view()),
    path("local-user", views.LocalUserView.as_view()),
    path("~user/x", views.WhoAmIView.as_view()),  # C-9449-15
    path("a/b", views.WhoAmIView.as_view()),  # C-9449-15 (/a%2fb arrives decoded)
    path("dpop-required", views.DPoPRequiredView.as_view()),
    path("dpop-off", views.DPoPOffView.as_view()),
    path("dpop-optional", views.DPoPOptionalView.as_view()),
    path("plain/dpop-required", views.plain_dpop_required),
    path("plain/orders", views.plain_orders),
    path("plain/certificate", views.plain_certificate),
    path("drf-fn/dpop-required", views.drf_fn_dpop_required),
    path("drf-fn/decorator-above", views.drf_fn_decorator_above),
    path("", include("django_jwt_at.urls")),
]
