"""Known failure lines of ARC's listener, controller, runner and kube-mode hook (ARC_REFERENCE §4).

`match(line)` names the failure a log line shows, or None. The checks use it for log evidence and the log
viewer to highlight lines, so it must be cheap on the common case (a line that matches nothing): plain substring
tests (each pattern's `triggers`) decide that; only a hit walks the patterns, in priority order, to pick the most
specific one. `scan_tail` remembers the result per log tail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str                      # the failure in ARC_REFERENCE §4, e.g. "F1" ("S1": run.sh's start-up failure)
    code: str                    # the finding code this line supports
    label: str                   # a short phrase for the log viewer ("work directory not writable")
    regex: re.Pattern = field(repr=False, compare=False)
    triggers: tuple[str, ...] = field(default=(), repr=False, compare=False)   # one of them is in every match


def _p(fid: str, code: str, label: str, triggers: tuple[str, ...], pattern: str) -> Pattern:
    return Pattern(fid, code, label, re.compile(pattern), triggers)


# Most specific first: a line can match several (a 401 inside an App-token error is F15, not F12). `triggers` are
# plain substrings, one of which every matching line contains: `in` tests are far cheaper than regex searches.
PATTERNS: tuple[Pattern, ...] = (
    _p("F1", "ARC502", "work directory not writable", ("is denied",),
       r"Access to the path '/home/runner/_work[^']*' is denied"),
    _p("F1", "ARC502", "work directory not writable", ("runner's work directory",),
       r"Fail to create and validate runner's work directory"),
    _p("F1", "ARC502", "hook response file missing", ("_runner_hook_responses",),
       r"Missing file at path:\s*\S*_runner_hook_responses"),
    _p("F3", "ARC504", "job container required", ("job container are forbidden",),
       r"Jobs without a job container are forbidden"),
    _p("F4", "ARC503", "runner service account lacks permissions", ("needs the following permissions",),
       r"The Service account needs the following permissions"),
    _p("F4", "ARC503", "runner service account lacks permissions", ("system:serviceaccount:",),
       r"forbidden: User \\?\"system:serviceaccount:[^\"\\]*\\?\" cannot \w+ resource"),
    _p("F13", "ARC103", "whitespace in a credential", ("invalid header field value",),
       r"invalid header field value .{0,400}for key Authorization"),
    _p("F13", "ARC103", "GitHub App id is not a number", ("strconv.ParseInt",),
       r"strconv\.ParseInt: parsing .{0,200}: invalid syntax"),
    _p("F15", "ARC403", "GitHub App authentication failed", ("access token for GitHub App",),
       r"failed to get access token for GitHub App"),
    _p("F15", "ARC403", "GitHub App authentication failed", ("web token", "claim", "create JWT"),
       r"A JSON web token could not be decoded|'Expiration time' claim|Issued at' claim|failed to create JWT"),
    _p("F15", "ARC403", "GitHub App lacks a permission", ("by integration",),
       r"Resource not accessible by integration"),
    _p("F12", "ARC403", "bad, expired or revoked token", ("Bad credentials", "401 Unauthorized"),
       r"Bad credentials|\b401 Unauthorized\b"),
    _p("F14", "ARC403", "token lacks a permission",
       ("by personal access token", "org admin", "admin rights", "403 Forbidden"),
       r"Resource not accessible by personal access token|You must be an org admin"
       r"|Must have admin rights to Repository|\b403 Forbidden\b"),
    _p("F16", "ARC108", "wrong githubConfigUrl", ("invalid config URL",),
       r"invalid config URL, should point to an enterprise, org, or repository"),
    _p("F17", "ARC403", "runner group missing", ("runner group found",), r"no runner group found with name"),
    _p("F18", "ARC403", "two listeners for one scale set", ("SessionConflict", "active session"),
       r"RunnerScaleSetSessionConflictException|already has an active session"),
    _p("F19", "ARC403", "scale set deleted on GitHub", ("ScaleSetNotFound", "scale set found"),
       r"RunnerScaleSetNotFoundException|No runner scale set found with identifier"),
    _p("F21", "ARC605", "CRDs older than the controller", ("cannot unmarshal",),
       r"cannot unmarshal \w+ into Go struct field"),
    _p("F22", "ARC603", "scale set and controller versions differ", ("build version",),
       r"Autoscaling runner set version doesn't match the build version"),
    _p("F25", "ARC404", "runner registration lost", ("medium trust",),
       r"Registration was not found or is not medium trust"),
    _p("S1", "ARC404", "runner start-up failed", ("terminated error",), r"exit with terminated error"),
    _p("F20", "ARC304", "GitHub unreachable (timeout or DNS)",
       ("timeout", "deadline exceeded", "imed out", "no such host", "name resolution", "misbehaving"),
       r"i/o timeout|context deadline exceeded|[Tt]imed out after|no such host|Connection timed out"
       r"|Temporary failure in name resolution|server misbehaving|TLS handshake timeout"),
)
BY_ID: dict[str, tuple[Pattern, ...]] = {}
for _pattern in PATTERNS:
    BY_ID[_pattern.id] = BY_ID.get(_pattern.id, ()) + (_pattern,)
# The runner's line once it is up and waiting for work, and the failures it meets before that line (creating its
# work directory, starting up): a runner that logged it has got past them.
LISTENING = "Listening for Jobs"
BEFORE_LISTENING: frozenset[Pattern] = frozenset(p for p in PATTERNS
                                                 if p.id == "S1" or p.label == "work directory not writable")
_TRIGGERS = tuple(dict.fromkeys(t for p in PATTERNS for t in p.triggers))
_CACHE: dict[tuple[str, ...], tuple[tuple[str, Pattern], ...]] = {}
_CACHE_LIMIT = 4096
_LISTENING: dict[tuple[str, ...], bool] = {}


def match(line: str) -> Pattern | None:
    """The known failure this log line shows (the most specific one), or None. ~2 µs for an ordinary line."""
    if type(line) is not str:
        return None
    for trigger in _TRIGGERS:
        if trigger in line:
            break
    else:
        return None
    for pattern in PATTERNS:
        if any(t in line for t in pattern.triggers) and pattern.regex.search(line):
            return pattern
    return None


def scan(lines: Iterable[str], codes: frozenset[str] | set[str] | None = None) -> Iterator[tuple[str, Pattern]]:
    """(line, pattern) for every matching line, optionally only patterns supporting `codes`."""
    for line in lines:
        pattern = match(line)
        if pattern is not None and (codes is None or pattern.code in codes):
            yield line, pattern


def listening(lines: tuple[str, ...]) -> bool:
    """Whether a runner's log tail shows it got as far as LISTENING (remembered per tail, like `scan_tail`)."""
    found = _LISTENING.get(lines)
    if found is None:
        found = any(LISTENING in line for line in lines if type(line) is str)
        if len(_LISTENING) >= _CACHE_LIMIT:
            _LISTENING.clear()
        _LISTENING[lines] = found
    return found


def scan_tail(lines: tuple[str, ...]) -> tuple[tuple[str, Pattern], ...]:
    """Every matching line of one log tail; remembered, so a tail fetched once is scanned once however often the
    checks run (a pure function of the lines: the cache is only a shortcut)."""
    found = _CACHE.get(lines)
    if found is None:
        found = tuple(scan(lines))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[lines] = found
    return found


# ---- the controller's errors ----------------------------------------------------------------------------------
# What an ERROR line of the gha-runner-scale-set controller (or controller-runtime's "Reconciler error" line after
# it) is about, read from its `error` text and message, most specific first: (id, label, regex, the finding codes
# the line explains, best first). The ids are not failure ids of ARC_REFERENCE §4 (those are F…): C… are the
# controller's. The codes: a line becomes evidence on the first of them found for the same scale set.
@dataclass(frozen=True, slots=True)
class ControllerError:
    id: str
    label: str
    regex: re.Pattern = field(repr=False, compare=False)
    explains: tuple[str, ...] = ()


def _ce(cid: str, label: str, pattern: str, explains: tuple[str, ...]) -> ControllerError:
    return ControllerError(cid, label, re.compile(pattern), explains)


_GITHUB = ("ARC409", "ARC403")
CONTROLLER_ERRORS: tuple[ControllerError, ...] = (
    _ce("C1", "GitHub's TLS certificate is not trusted",
        r"x509: |tls: failed to verify certificate|certificate signed by unknown authority", _GITHUB),
    _ce("C2", "proxy error", r"proxyconnect|[Pp]roxy [Aa]uthentication [Rr]equired|\b407\b", (*_GITHUB, "ARC304")),
    _ce("C3", "invalid githubConfigUrl", r"invalid config URL|failed to parse githubConfigUrl", ("ARC108", *_GITHUB)),
    _ce("C4", "GitHub rejects the credential (401)", r"Bad credentials|\b401\b|Unauthorized",
        ("ARC104", "ARC107", "ARC103", *_GITHUB)),
    _ce("C5", "GitHub refuses the credential (403)", r"\b403\b|Resource not accessible|must be an org admin",
        ("ARC105", "ARC107", *_GITHUB)),
    _ce("C6", "GitHub answers 404 for the config URL or runner group",
        r"\b404\b|Not Found|no runner group found", ("ARC108", "ARC105", "ARC107", *_GITHUB)),
    _ce("C7", "credentials Secret missing or unreadable",
        r'secrets? \\?"[^"\\]*\\?" not found|failed to get secret|no credentials provided|both PAT and GitHub App',
        ("ARC101", "ARC102", "ARC103", *_GITHUB)),
    _ce("C8", "GitHub unreachable (timeout or DNS)",
        r"i/o timeout|context deadline exceeded|no such host|connection refused|TLS handshake timeout"
        r"|server misbehaving|giving up after", ("ARC304", "ARC301", "ARC302", *_GITHUB)),
    _ce("C9", "an object the CRD cannot hold (decoding error)",
        r"cannot unmarshal|json: unknown field|strict decoding error|unknown field \\?\"|failed to decode",
        ("ARC605",)),
    _ce("C10", "scale set and controller versions differ", r"doesn't match the build version", ("ARC603",)),
    _ce("C11", "quota exceeded", r"exceeded quota|[Rr]esource quota is exceeded", ("ARC405", "ARC401", "ARC407")),
    _ce("C12", "pod refused at admission",
        r"admission webhook|denied the request|violates PodSecurity|failed calling webhook|is forbidden|is invalid",
        ("ARC407", "ARC506", "ARC403")),
)
# Errors a healthy controller logs too, retried at once by controller-runtime: optimistic-concurrency conflicts,
# objects deleted while being reconciled, a create that raced another. Unless a pattern above names them, they are
# no finding.
CONTROLLER_TRANSIENT = re.compile(r"the object has been modified|Operation cannot be fulfilled|\bnot found\b"
                                  r"|already exists|context canceled")
