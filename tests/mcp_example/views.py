from django.http import JsonResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwt_at.decorators import access_token_required
from django_jwt_at.permissions import HasScope, HasScopeForMethod, StepUpRequired


@access_token_required(scopes=["mcp:tools"])
def mcp(request):
    """The MCP endpoint (Streamable HTTP): hand the JSON-RPC message to your MCP server
    implementation here. ``request.auth`` is the validated access token."""
    return JsonResponse({"subject": request.auth.subject, "scopes": sorted(request.auth.scopes)})


class Orders(APIView):
    """An endpoint for agents: reading needs orders:read, creating orders:write."""

    permission_classes = [HasScopeForMethod({"read": ["orders:read"], "write": ["orders:write"]})]

    def get(self, request):
        return Response({"orders": [], "client": request.auth.client_id})

    def post(self, request):
        return Response({"created": True}, status=201)


class Refunds(APIView):
    """Money leaves: a DPoP-bound token only, and a recent multi-factor login (RFC 9470)."""

    dpop = "required"
    permission_classes = [HasScope("refunds:write") & StepUpRequired(acr_values=["urn:example:acr:mfa"], max_age=300)]

    def post(self, request):
        return Response({"refunded": True})
