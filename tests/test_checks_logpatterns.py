"""The log line scanner (checks.logpatterns) and the evidence cleaner (checks.text)."""

from __future__ import annotations

import dataclasses

import pytest

from arc_top.checks import logpatterns
from arc_top.checks.text import clean, redact

SAMPLES = [
    ("F1", "ARC502", "System.UnauthorizedAccessException: Access to the path '/home/runner/_work/_tool' is denied."),
    ("F1", "ARC502", "[RUNNER 2026-01-01 00:00:00Z ERR  Runner] Fail to create and validate runner's work directory "
                     "'/home/runner/_work'."),
    ("F1", "ARC502", "##[error]Missing file at path: /home/runner/_work/_temp/_runner_hook_responses/resp.json"),
    ("F3", "ARC504", "##[error]Jobs without a job container are forbidden on this runner, please add a 'container:'"),
    ("F4", "ARC503", "##[error]Error: The Service account needs the following permissions [...] on the pod resource"),
    ("F4", "ARC503", 'pods is forbidden: User "system:serviceaccount:team-a:ci-runner" cannot create resource "pods" '
                     'in API group "" in the namespace "team-a"'),
    ("F12", "ARC403", 'unexpected response from Actions service during registration token call: 401 - '
                      '{"message":"Bad credentials"}'),
    ("F13", "ARC103", 'Post "https://api.github.com/x": net/http: invalid header field value "Bearer ghp_…abcd\\n" '
                      'for key Authorization'),
    ("F13", "ARC103", 'failed to parse github_app_id: strconv.ParseInt: parsing "123\\n": invalid syntax'),
    ("F14", "ARC403", '403 - {"message":"Resource not accessible by personal access token"}'),
    ("F14", "ARC403", "You must be an org admin or have the runners and runner groups fine-grained permission."),
    ("F15", "ARC403", "failed to get access token for GitHub App auth (401 Unauthorized): A JSON web token could not "
                      "be decoded"),
    ("F15", "ARC403", "'Expiration time' claim ('exp') is too far in the future"),
    ("F15", "ARC403", "403 Resource not accessible by integration"),
    ("F16", "ARC108", "failed to parse GitHub config from URL: invalid config URL, should point to an enterprise, org, "
                      "or repository"),
    ("F17", "ARC403", 'failed to get runner group: no runner group found with name "gpu"'),
    ("F18", "ARC403", "RunnerScaleSetSessionConflictException: The actions runner scale set already has an active "
                      "session"),
    ("F19", "ARC403", "RunnerScaleSetNotFoundException: No runner scale set found with identifier 7"),
    ("F20", "ARC304", "dial tcp 140.82.112.3:443: i/o timeout"),
    ("F20", "ARC304", "dial tcp: lookup api.github.com on 10.96.0.10:53: no such host"),
    ("F20", "ARC304", "Runner connect error: The HTTP request timed out after 00:01:40.. Retrying until reconnected."),
    ("F20", "ARC304", 'Get "https://pipelines.actions.githubusercontent.com": context deadline exceeded'),
    ("F21", "ARC605", "cannot unmarshal bool into Go struct field EphemeralRunnerStatus.items.status.failures of type "
                      "string"),
    ("F22", "ARC603", "Autoscaling runner set version doesn't match the build version. Deleting the resource."),
    ("F25", "ARC404", "Registration was not found or is not medium trust"),
    ("S1", "ARC404", "Runner listener exit with terminated error, stop the service, no retry needed."),
]


@pytest.mark.parametrize("fid, code, line", SAMPLES)
def test_each_failure_line_is_recognised(fid, code, line):
    pattern = logpatterns.match(line)
    assert pattern is not None and (pattern.id, pattern.code) == (fid, code) and pattern.label


@pytest.mark.parametrize("line", ["", "√ Connected to GitHub", "2026-01-01 Listening for Jobs",
                                  "time=… level=INFO msg=\"Calculated target runner count\" decision=2",
                                  "Job build completed with result: Succeeded", None, 42])
def test_ordinary_lines_match_nothing(line):
    assert logpatterns.match(line) is None


def test_every_pattern_has_a_sample_and_supports_a_catalogue_code():
    from arc_top.checks.catalogue import CODES

    assert {p.id for p in logpatterns.PATTERNS} == {fid for fid, _, _ in SAMPLES}
    assert all(p.code in CODES for p in logpatterns.PATTERNS)


@pytest.mark.parametrize("fid, code, line", SAMPLES)
def test_triggers_never_hide_a_regex_match(fid, code, line):
    for pattern in logpatterns.PATTERNS:
        if pattern.regex.search(line):
            assert any(t in line for t in pattern.triggers), (pattern.id, pattern.label)


def test_scan_tail_remembers_and_agrees_with_match():
    lines = tuple(line for _, _, line in SAMPLES) + ("nothing here",)
    first = logpatterns.scan_tail(lines)
    assert logpatterns.scan_tail(lines) is first and len(first) == len(SAMPLES)


def test_scan_filters_by_code():
    lines = [line for _, _, line in SAMPLES]
    assert {p.code for _, p in logpatterns.scan(lines, {"ARC304"})} == {"ARC304"}


class CountingRegex:
    def __init__(self, regex):
        self.regex, self.searches = regex, 0

    def search(self, line):
        self.searches += 1
        return self.regex.search(line)


def test_match_is_cheap_on_ordinary_lines(monkeypatch):
    """Cheap: an ordinary line is turned away by the trigger words, without a single regular expression run.
    (The cost itself is a figure: ~2 µs a line on the 2-core machine; bench/checks.py times the checks with
    the log tails of the `large` fleet.)"""
    counting = [dataclasses.replace(p, regex=CountingRegex(p.regex)) for p in logpatterns.PATTERNS]
    monkeypatch.setattr(logpatterns, "PATTERNS", tuple(counting))
    lines = [f"[RUNNER 2026-01-01 00:00:{i % 60:02d}Z INFO JobDispatcher] Processing message {i} for job step "
             f"{'x' * (i % 80)}" for i in range(20_000)]
    assert not any(logpatterns.match(line) for line in lines)
    assert sum(p.regex.searches for p in counting) == 0
    assert all(logpatterns.match(line) for _, _, line in SAMPLES)     # the counting patterns do match
    assert sum(p.regex.searches for p in counting) >= len(SAMPLES)


# ---- evidence text -----------------------------------------------------------------------------------------------
def test_clean_strips_escapes_and_control_characters():
    assert clean("\x1b[31mred\x1b[0m \x1b]0;title\x07ok\tx\r\n") == "red ok x"
    assert clean(None) == "" and clean(5) == "5"


def test_clean_masks_credentials():
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    text = clean(f'invalid header field value "Bearer {token}\\n" for key Authorization')
    assert token not in text and token[4:12] not in text and "ghp_…Q7r8" in text
    assert "github_pat_…wxyz" in redact("github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz")
    assert "secret" not in redact("Authorization: Bearer abc.secret.value.here")
    assert "MIIE" not in redact("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----")
    assert "eyJ…" in redact("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJl")
    assert redact("getting runner registration token registrationTokenURL=https://x") == \
        "getting runner registration token registrationTokenURL=https://x"


def test_clean_keeps_both_ends_of_long_lines():
    text = clean("start " + "x" * 1000 + " root cause", limit=100)
    assert len(text) == 100 and text.startswith("start") and text.endswith("root cause") and "…" in text
