"""Fake GitHub Enterprise Server for the sandbox: `/api/v3` endpoints and ARC listener verdicts."""

from .fake import FakeGitHub
from .jwt import generate_rsa_key
from .listener import CredentialOutcome
from .state import mask_token
from .urls import ConfigUrl, api_base, parse_config_url

__all__ = ["ConfigUrl", "CredentialOutcome", "FakeGitHub", "api_base", "generate_rsa_key", "mask_token",
           "parse_config_url"]
