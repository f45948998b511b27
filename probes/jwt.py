"""RS256 JWTs for GitHub App authentication, signed as ARC's listener signs them (cryptography, no JWT library).

Claims: `iat` one minute back (GitHub allows for clock drift), `exp` nine minutes after `iat` (GitHub refuses more
than ten minutes ahead of its own clock), `iss` the app id or client id. A JWT is a credential: it lives only in
the request that carries it.
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

IAT_BACK_S = 60
LIFETIME_S = 540


def load_private_key(pem: str) -> rsa.RSAPrivateKey | None:
    """The RSA key of a PEM (PKCS#1 or PKCS#8, unencrypted), or None. Never raises, never echoes the key."""
    if "-----BEGIN" not in pem or "PRIVATE KEY-----" not in pem:
        return None
    try:
        key = serialization.load_pem_private_key(pem.strip().encode() + b"\n", password=None)
    except (ValueError, TypeError, AttributeError):
        return None
    except Exception:  # an unsupported key type or backend error: still "not a usable key", never its text
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(issuer: str, now: float) -> dict:
    iat = int(now) - IAT_BACK_S
    return {"iat": iat, "exp": iat + LIFETIME_S, "iss": issuer}


def app_jwt(key: rsa.RSAPrivateKey, issuer: str, now: float) -> str:
    """A compact RS256 JWS for `issuer` (app id or client id) at `now` (epoch seconds, any clock)."""
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims(issuer, now), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{_b64(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))}"
