"""Settings of the test project under gunicorn behind nginx (tests/test_mtls_nginx.py).

The suite's settings, with the ``JWT_AT_*`` values the test passes as JSON in the
``JWT_AT_TEST_SETTINGS`` environment variable (the issuer's JWKS URI names the test's
loopback server, the certificate header format is the one nginx forwards).
"""

import json
import os

from tests.settings import *  # noqa: F403

globals().update({k: v for k, v in json.loads(os.environ["JWT_AT_TEST_SETTINGS"]).items() if k.startswith("JWT_AT_")})
