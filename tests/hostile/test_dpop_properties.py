"""Hostile DPoP proofs (RFC 9449 §4.3), as property tests.

(a) Every mutation of a valid proof (ES256 and PS256 proof keys, made with
``cryptography`` through tests/dpop_proofs.py) is refused. (b) ``verify_proof`` raises
only the library's protocol errors for arbitrary text, never anything else (a 500).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_jwt_at.conf import get_config
from django_jwt_at.dpop import DPoPProof, verify_proof
from django_jwt_at.errors import ProtocolError

from .. import signing
from ..conftest import NOW
from ..dpop_proofs import RS, make_proof, public_jwk, thumbprint
from .test_properties import TOKEN_TEXT, mutated, robustness_settings

ACCESS_TOKEN = "eyJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJl"  # only its hash is used
HTU = RS + "/orders"


def verify(proof: str) -> DPoPProof:
    return verify_proof(proof, method="GET", htu=HTU, access_token=ACCESS_TOKEN, config=get_config(), now=NOW)


@pytest.fixture
def proofs(keys: dict[str, signing.SigningKey]) -> list[str]:
    made = [make_proof(keys[name], token=ACCESS_TOKEN, now=NOW) for name in ("ec-1", "ps-1")]
    for proof, name in zip(made, ("ec-1", "ps-1")):  # control: the unmutated proofs pass
        assert verify(proof).jkt == thumbprint(public_jwk(keys[name]))
    return made


def test_any_mutation_of_a_valid_proof_is_refused(proofs: list[str]) -> None:
    examples = 0

    @robustness_settings()
    @given(data=st.data())
    def mutation_is_refused(data: Any) -> None:
        nonlocal examples
        examples += 1
        proof = data.draw(mutated(data.draw(st.sampled_from(proofs), label="proof")), label="mutated")
        with pytest.raises(ProtocolError):
            verify(proof)

    mutation_is_refused()
    assert examples > 0


def test_verify_proof_raises_only_protocol_errors(proofs: list[str]) -> None:
    @robustness_settings()
    @given(proof=TOKEN_TEXT)
    def only_protocol_errors(proof: str) -> None:
        with pytest.raises(ProtocolError):  # nothing unsigned by a proof key can pass
            verify(proof)

    only_protocol_errors()
