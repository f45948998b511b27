"""GitHub Apps: an RS256 JWT signed with the Secret's private key (as the listener signs it), `GET /app` (key and
id match), then the installation on the config URL's org or repository and its permissions. Clock skew is read
from the server's Date header.

Side-effect free: no installation token is minted (that POST is ARC's, with the operator's consent only).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arc_top.probes import jwt
from arc_top.probes.client import GitHubClient, ProbeError
from arc_top.probes.model import LEVEL_PERMISSIONS, Credentials, ProbeProblem, ProbeResult
from arc_top.probes.urls import Target

MAX_SKEW_S = 60.0
_CLOCK_WORDS = ("'Expiration time' claim", "'Issued at' claim")
_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}


def _says(reply, path: str) -> str:
    message = f" {reply.message}" if reply.message else ""
    return f"GET {path}: {reply.status}{message}"[:200]


def probe_app(creds: Credentials, target: Target, client: GitHubClient,
              clock: Callable[[], float] = time.time) -> ProbeResult:
    started = clock()
    app_id = creds.app_id
    fields: dict = {"namespace": creds.namespace, "secret": creds.secret, "config_url": target.url,
                    "resource_version": creds.resource_version, "kind": "app", "identity": creds.identity,
                    "level": target.level, "target": target.name, "api_base": client.api_base, "probed_at": started}
    notes = tuple(f"{k} has whitespace around it: probed trimmed (see ARC103)" for k in creds.whitespace)
    problems: list[ProbeProblem] = []

    def done() -> ProbeResult:
        return ProbeResult(**fields, problems=tuple(problems), notes=notes, elapsed=clock() - started)

    key = jwt.load_private_key(creds.private_key)
    if key is None:
        problems.append(ProbeProblem("ARC107", "bad-key"))
        return done()
    if not (app_id.isascii() and app_id.isprintable() and 0 < len(app_id) <= 64 and " " not in app_id):
        return ProbeResult(**fields, evaluated=False, notes=notes,
                           reason="need a github_app_id that is an app id or client id (see ARC102/ARC103)")
    token = jwt.app_jwt(key, app_id, clock())
    reply = client.get("/app", authorization=f"Bearer {token}", secrets=(token,))
    skew = reply.clock_skew
    if skew is not None:
        fields["clock_skew"] = round(skew, 1)
    clock_refused = reply.status == 401 and any(w in reply.message for w in _CLOCK_WORDS)
    if skew is not None and (abs(skew) > MAX_SKEW_S or clock_refused):
        problems.append(ProbeProblem("ARC107", "clock-skew", value=round(skew), evidence=(
            _says(reply, "/app"), f"Date: {reply.header('date')} (this machine: "
            f"{time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(reply.received_at))})")))
        if clock_refused:        # sign again on GitHub's clock, to see what else is wrong
            token = jwt.app_jwt(key, app_id, clock() + skew)
            reply = client.get("/app", authorization=f"Bearer {token}", secrets=(token,))
    if reply.status == 401:
        problems.append(ProbeProblem("ARC107", "wrong-key", detail=app_id, evidence=(_says(reply, "/app"),)))
        return done()
    if reply.status != 200:
        raise ProbeError(f"GitHub answered {_says(reply, '/app')}")
    body = reply.body if isinstance(reply.body, dict) else {}
    slug = str(body.get("slug") or "")[:100]
    fields["identity"] = f"app {body.get('id', app_id)}" + (f" ({slug})" if slug else "")
    if target.level == "enterprise":
        problems.append(ProbeProblem("ARC107", "app-enterprise"))
        return done()
    path = f"{target.resource_path}/installation"
    inst = client.get(path, authorization=f"Bearer {token}", secrets=(token,))
    if inst.status == 404:
        problems.append(ProbeProblem("ARC107", "not-installed", detail=target.name, evidence=(_says(inst, path),)))
        return done()
    if inst.status != 200 or not isinstance(inst.body, dict):
        raise ProbeError(f"GitHub answered {_says(inst, path)}")
    found = inst.body
    iid = found.get("id")
    fields["installation_id"] = iid if isinstance(iid, int) else None
    perms = found.get("permissions") if isinstance(found.get("permissions"), dict) else {}
    fields["permissions"] = tuple(sorted((str(k), str(v)) for k, v in perms.items()))
    wanted = creds.installation_id
    if isinstance(iid, int) and wanted != str(iid):
        problems.append(ProbeProblem("ARC107", "installation-mismatch",
                                     detail=f"the Secret says {wanted[:20] or '(empty)'}, GitHub says {iid}",
                                     evidence=(f"GET {path}: installation {iid}",)))
    needed = LEVEL_PERMISSIONS[target.level]
    if _LEVELS.get(str(perms.get(needed, "none")), 0) < _LEVELS["write"]:
        have = ", ".join(f"{k}={v}" for k, v in sorted(perms.items())) or "none"
        problems.append(ProbeProblem("ARC107", "app-missing-permission", detail=needed,
                                     evidence=(f"installation {iid} permissions: {have}"[:240],)))
    if found.get("suspended_at"):
        problems.append(ProbeProblem("ARC107", "suspended", detail=target.name,
                                     evidence=(f"suspended_at: {str(found['suspended_at'])[:40]}",)))
    return done()
