"""A URLconf for scope collection (C-9728-03): decorated plain views and per-method scopes."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.decorators import access_token_required
from django_jwt_at.permissions import HasScopeForMethod


@access_token_required(scopes=["d:read"], any_scopes=["d:any1", "d:any2"])
def decorated(request):
    return JsonResponse({"ok": True})


class MethodScopes(APIView):
    permission_classes = [HasScopeForMethod]
    required_scopes = {"read": ["m:read"], "write": ["m:write", "m:read"]}

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("decorated", decorated), path("method-scopes", MethodScopes.as_view())]
