"""Signed statements: a JWS over the statement, attached with the signature usage type."""
from __future__ import annotations

import base64
import json

import jwt
from cryptography import x509

from fse_fad.errors import BadRequest
from lrs.rules import SIGNATURE_USAGE

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")


def _comparable(statement: dict) -> dict:
    result = {k: v for k, v in statement.items() if k not in ("authority", "stored", "version")}
    attachments = [a for a in result.get("attachments", ()) if a.get("usageType") != SIGNATURE_USAGE]
    if attachments:
        result["attachments"] = attachments
    else:
        result.pop("attachments", None)
    return result


def verify(statement: dict, jws: bytes, path: str) -> None:
    """Refuse a signature that is not an RS JWS of this very statement."""
    def bad(rule: str):
        raise BadRequest(f"{path}: invalid signature ({rule})", field=path, rule=rule)

    try:
        token = jws.decode("ascii").strip()
        header = jwt.get_unverified_header(token)
        payload_b64 = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    except (ValueError, UnicodeDecodeError, IndexError, jwt.InvalidTokenError):
        bad("a JWS in compact serialization")
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        bad("signed with RS256, RS384 or RS512")
    if not isinstance(payload, dict):
        bad("payload is the statement")
    expected = _comparable(statement)
    received = _comparable(payload)
    if "id" not in received:
        expected.pop("id", None)
    if received != expected:
        bad("payload equal to the statement")
    chain = header.get("x5c")
    if chain:
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
            jwt.api_jws.PyJWS().decode_complete(token, key=certificate.public_key(), algorithms=[header["alg"]])
        except Exception:
            bad("signature verified by the x5c certificate")
