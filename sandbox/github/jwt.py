"""RS256 JWTs for GitHub App authentication: signing (as ARC does) and GitHub's validation rules.

One validator serves both the HTTP endpoint and the in-process listener simulation, so a
scenario can never pass in one path and fail in the other. Error texts are GitHub's own.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DECODE_ERROR = "A JSON web token could not be decoded"
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXP_PAST = ("'Expiration time' claim ('exp') must be a numeric value representing the future time "
            "at which the assertion expires")
IAT_FUTURE = ("'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
              "was issued")

MAX_LIFETIME = 600      # GitHub refuses exp more than 10 minutes ahead of its clock
IAT_LEEWAY = 60         # and iat more than a minute ahead


@dataclass(frozen=True)
class JwtError:
    """Why GitHub refused a JWT: `kind` is `decode` (key, issuer, format) or `clock` (iat/exp)."""

    kind: str
    message: str


def generate_rsa_key(slot: str | None = None) -> tuple[str, str]:
    """A fresh 2048-bit key pair as (private PEM, public PEM).

    With `slot`, the same pair is returned for the same slot within the process: scenarios and
    tests can ask for "the app key" many times without paying ~100 ms per generation.
    """
    if slot is not None:
        return _slot_key(slot)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@functools.lru_cache(maxsize=32)
def _slot_key(slot: str) -> tuple[str, str]:
    return generate_rsa_key()


@functools.lru_cache(maxsize=64)
def load_private_key(pem: str) -> rsa.RSAPrivateKey | None:
    """The RSA key in a PEM (PKCS#1 or PKCS#8), or None; cached because loading checks the key."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


@functools.lru_cache(maxsize=64)
def load_public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def public_pem_of(private_pem: str) -> str | None:
    key = load_private_key(private_pem)
    if key is None:
        return None
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_fingerprint(pem: str) -> str:
    """Short stable hash of a key's text: a cache key and something safe to print."""
    return hashlib.sha256(pem.strip().encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and all(parts)


def sign_jwt(private_key: rsa.RSAPrivateKey, claims: dict) -> str:
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


def arc_claims(issuer: str | int, now: float) -> dict:
    """The claims ARC's listener signs: iat one minute back, exp nine minutes after iat."""
    iat = int(now) - 60
    return {"iat": iat, "exp": iat + 540, "iss": issuer}


def decode_unverified(token: str) -> tuple[dict, dict, bytes, bytes] | None:
    """(header, claims, signing input, signature) of a compact JWS, or None when malformed."""
    try:
        h, p, s = token.split(".")
        header, claims = json.loads(_unb64(h)), json.loads(_unb64(p))
        signature = _unb64(s)
    except (ValueError, TypeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims, f"{h}.{p}".encode(), signature


def signature_valid(public_key: rsa.RSAPublicKey, signing_input: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def check_claims(claims: dict, server_now: float) -> JwtError | None:
    """GitHub's time rules, in GitHub's order (exp is judged before iat)."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_number(exp):
        return JwtError("clock", EXP_PAST)
    if exp > server_now + MAX_LIFETIME:
        return JwtError("clock", EXP_TOO_FAR)
    if exp <= server_now:
        return JwtError("clock", EXP_PAST)
    if not _is_number(iat) or iat > server_now + IAT_LEEWAY:
        return JwtError("clock", IAT_FUTURE)
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
