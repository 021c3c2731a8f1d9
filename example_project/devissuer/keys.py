"""The development issuer's RSA signing key and its public JWK.

The key is generated on first use and kept as an unencrypted PKCS#8 PEM file
(``settings.DEV_ISSUER_KEY_FILE``, mode 0600), so tokens minted by one process verify in
another and across restarts. Delete the file to rotate the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    """An RSA parameter as a JWK Base64urlUInt (RFC 7518 §2: big-endian, minimal length)."""
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """Return the RSA key stored at ``path``, generating an RSA-2048 key there first if
    there is none.

    Safe when several processes start at once: each writes its candidate to a private
    temporary file and hard-links it into place; the link fails for all but the first,
    which then read the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey) or loaded.key_size < 2048:
        raise ValueError(f"{path} does not hold an RSA key of at least 2048 bits; delete it to get a new one")
    return loaded


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """The issuer's private key (loaded once per process)."""
    return load_or_create_key(Path(settings.DEV_ISSUER_KEY_FILE))


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an RSA public JWK: the hash of its required
    members in lexicographic order, serialized without whitespace."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@cache
def public_jwk() -> dict[str, str]:
    """The public JWK of :func:`signing_key`, with ``kid`` = its RFC 7638 thumbprint, so the
    kid is stable for a key and changes when the key does."""
    numbers = signing_key().public_key().public_numbers()
    jwk = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    return {**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": "RS256"}
