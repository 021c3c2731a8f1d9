# The django-jwt-at settings of an MCP server (add them to your project's settings).

JWT_AT_ISSUERS = {
    "https://auth.example.com": {
        # RFC 8707: clients ask for a token for this resource, and the authorization
        # server puts it in the token's aud, which is checked against AUDIENCE. Some
        # clients send an origin with a trailing slash: the same URI (RFC 3986 §6.2.3).
        "AUDIENCE": ["https://mcp.example.com", "https://mcp.example.com/"],
        "ALGORITHMS": ["RS256", "ES256"],
    },
}

# RFC 9728: served at /.well-known/oauth-protected-resource and named in every challenge.
JWT_AT_RESOURCE = "https://mcp.example.com"
JWT_AT_RESOURCE_METADATA = {"resource_name": "Example MCP server"}

# A 401 without credentials names the scopes the endpoint needs, so that a client asks
# for those only.
JWT_AT_CHALLENGE_SCOPE = True

# Bearer tokens and DPoP-bound tokens (RFC 9449) are both accepted, except where a view
# requires DPoP.
JWT_AT_DPOP = "optional"
