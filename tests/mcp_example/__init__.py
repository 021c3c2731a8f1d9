"""The example of docs/mcp.rst: the documentation shows these files as they are, and
tests/test_third_party_clients.py runs them against real clients."""
