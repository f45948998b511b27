"""What containerd would answer when the kubelet pulls an image: which images exist and the errors
of those that don't (F11), in the runtime's own words."""

from __future__ import annotations

import hashlib
import re

_REFERENCE = re.compile(r"^[a-z0-9]+(?:(?:[._:-]|__|/)[a-z0-9]+)*$")
# Registries that never resolve: reserved TLDs (RFC 2606/6761) and the obvious placeholder.
_DEAD_SUFFIXES = (".invalid", ".example", ".test", ".local")
_SIZES = {"actions-runner": 281_403_221, "docker": 132_801_511, "gha-runner-scale-set-controller": 31_642_010}


def normalize(image: str) -> tuple[str, str, str]:
    """(registry host, repository, full reference) as containerd resolves a short name."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repo = first, rest
    else:
        host, repo = "docker.io", name if rest else f"library/{name}"
    last = repo.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in image:
        repo += ":latest"
    return host, repo, f"{host}/{repo}"


def invalid_reference(image: str) -> str | None:
    """The InvalidImageName message, or None for a well-formed reference."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if _REFERENCE.match(name):
        return None
    return (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": '
        "invalid reference format"
    )


def pull_error(image: str) -> str | None:
    """containerd's error for an image that cannot be pulled, or None when it can."""
    host, repo, ref = normalize(image)
    hostname = host.split(":", 1)[0]
    if hostname.endswith(_DEAD_SUFFIXES) or "does-not-exist" in hostname:
        path = repo.rsplit(":", 1)
        return (
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": failed to resolve '
            f'reference "{ref}": failed to do request: Head "https://{host}/v2/{path[0]}/manifests/'
            f'{path[-1]}": dial tcp: lookup {hostname} on 10.96.0.10:53: no such host'
        )
    if "does-not-exist" in repo:
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to '
            f'resolve reference "{ref}": {ref}: not found'
        )
    return None


def default_policy(image: str) -> str:
    tag = normalize(image)[1].rsplit(":", 1)[-1]
    return "Always" if tag == "latest" and "@" not in image else "IfNotPresent"


def size_of(image: str) -> int:
    repo = normalize(image)[1].rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return _SIZES.get(repo) or 20_000_000 + int(hashlib.sha1(repo.encode()).hexdigest()[:6], 16) * 10


def image_id(image: str) -> str:
    digest = hashlib.sha256(normalize(image)[2].encode()).hexdigest()
    return f"{normalize(image)[2].rsplit(':', 1)[0]}@sha256:{digest}"


def go_duration(seconds: float) -> str:
    """A duration as the kubelet prints it (Go's Duration, millisecond precision): `412ms`, `1.2s`."""
    millis = int(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    return f"{millis / 1000:.3f}".rstrip("0").rstrip(".") + "s"
