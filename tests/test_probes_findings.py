"""Probe results as findings (pure): ARC104–ARC107 per scale set on the Secret, ARC000 when not evaluated, the link
with a failing listener (ARC403), the per-scale-set lookup for the monitor, the cache, and import purity."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from arc_top import checks
from arc_top.checks import credentials
from arc_top.checks.credentials import ProbeProblem, ProbeResult, link_listener_findings, probe_findings, severity_of
from arc_top.checks.finding import Finding, Subject
from arc_top.probes.cache import ProbeCache, cache_key
from tests.checks_fixtures import NOW, snapshot

ROOT = pathlib.Path(__file__).resolve().parents[1]


def result(**kw) -> ProbeResult:
    base = dict(namespace="arc-runners", secret="arc-github-token", config_url="https://github.com/arc-org",
                resource_version="12", scale_sets=("arc-runners/arc-runner-set",), kind="classic",
                identity="ghp_…a1b2", level="organization", target="arc-org", scopes=("repo",), probed_at=NOW)
    base.update(kw)
    return ProbeResult(**base)


def test_one_finding_per_problem_and_scale_set_on_the_secret():
    r = result(scale_sets=("arc-runners/a", "arc-runners/b"),
               problems=(ProbeProblem("ARC105", "missing-scope", detail="admin:org", evidence=("GET …: 403",)),))
    found = probe_findings([r], {("arc-runners", "arc-github-token"): "uid-1"})
    assert [(f.code, f.scale_set) for f in found] == [("ARC105", "arc-runners/a"), ("ARC105", "arc-runners/b")]
    f = found[0]
    assert f.subject == Subject("Secret", "arc-runners", "arc-github-token", "uid-1")
    assert f.title == "Token ghp_…a1b2 lacks the admin:org scope the organization level needs"
    assert f.evidence[0] == "classic PAT ghp_…a1b2; scopes: repo" and "GET …: 403" in f.evidence
    assert "admin:org scope" in f.fix and "Secret arc-runners/arc-github-token" in f.fix


def test_expiry_severities():
    warning = result(expires_at=NOW + 3 * 86400, problems=(ProbeProblem("ARC106", "expiring", value=3.0,
                                                                        severity="warning"),))
    error = result(expires_at=NOW - 86400, problems=(ProbeProblem("ARC106", "expired", value=-1.0,
                                                                  severity="error"),))
    [w], [e] = probe_findings([warning]), probe_findings([error])
    assert (w.severity, e.severity) == ("warning", "error")
    assert w.title == "Token ghp_…a1b2 expires in 3 days" and "expired" in e.title
    assert any(line.startswith("github-authentication-token-expiration: ") for line in w.evidence)
    assert severity_of(warning) == "warning" and severity_of(error) == "error" and severity_of(result()) is None


def test_not_evaluated_is_arc000_never_an_error():
    r = result(evaluated=False, reason="need GitHub: https://api.github.com unreachable from this machine (timeout)")
    [f] = probe_findings([r])
    assert f.code == "ARC000" and f.severity == "info"
    assert f.title.startswith("not evaluated: ARC104–ARC107 need GitHub") and "--no-github" in f.fix


def test_run_takes_probe_results_and_links_the_failing_listener():
    snap = snapshot([])
    bad = result(problems=(ProbeProblem("ARC104", "bad-credentials", evidence=("GET /user: 401 Bad credentials",)),))
    without = checks.run(snap, now=NOW)
    assert not {"ARC104", "ARC105", "ARC106", "ARC107"} & {f.code for f in without}
    assert "ARC104" in {f.code for f in checks.run(snap, now=NOW, probes=[bad])}
    listener = Finding("ARC403", "error", "Listener missing or failing", Subject("Pod", "arc-systems", "l-listener"),
                       scale_set="arc-runners/arc-runner-set", evidence=("listener pod l-listener: Error",))
    other = Finding("ARC403", "error", "Listener missing or failing", Subject("Pod", "arc-systems", "x"),
                    scale_set="arc-runners/other")
    linked = link_listener_findings([listener, other, *probe_findings([bad])])
    lis, oth, probe = linked
    assert lis.evidence[-1] == ("GitHub probe of Secret arc-runners/arc-github-token: ARC104 GitHub rejects "
                                "ghp_…a1b2: 401 Bad credentials")
    assert Subject("Secret", "arc-runners", "arc-github-token") in lis.related
    assert probe.evidence[-1] == "listener failing (ARC403): listener pod l-listener: Error"
    assert listener.subject in probe.related and oth == other


def test_results_by_scale_set_and_summary():
    ok = result(scale_sets=("a/x", "a/y"), scopes=("repo", "admin:org"), expires_at=NOW + 10 * 86400,
                login="arc-admin")
    app = result(secret="app", scale_sets=("a/z",), kind="app", identity="app 101 (arc-app)", scopes=None,
                 permissions=(("organization_self_hosted_runners", "write"),))
    down = result(secret="d", scale_sets=("a/w",), evaluated=False, reason="need GitHub: unreachable")
    by = checks.results_by_scale_set([ok, app, down])
    assert by["a/x"] is ok and by["a/y"] is ok and by["a/z"] is app
    assert credentials.summary(ok, now=NOW) == ("classic PAT ghp_…a1b2 (arc-admin) · scopes repo, admin:org · "
                                                "expires in 10 days · ok")
    assert credentials.summary(app) == "GitHub App app 101 (arc-app) · organization_self_hosted_runners=write · ok"
    assert credentials.summary(down) == "not checked: need GitHub: unreachable" and not down.ok


def test_cache_per_resource_version_and_ttls():
    t = [0.0]
    cache = ProbeCache(ttl=100, ttl_not_evaluated=10, clock=lambda: t[0])
    key = cache_key("ns", "s", "5", "https://github.com/o")
    cache.put(key, result())
    assert cache.get(key) == result()
    assert cache.get(cache_key("ns", "s", "6", "https://github.com/o")) is None       # changed Secret
    cache.put(cache_key("ns", "s", "6", "https://github.com/o"), result(resource_version="6"))
    assert cache.get(key) is None and len(cache) == 1                                # older version dropped
    down = cache_key("ns", "d", "1", "u")
    cache.put(down, result(evaluated=False, reason="x"))
    t[0] = 11
    assert cache.get(down) is None and cache.get(cache_key("ns", "s", "6", "https://github.com/o")) is not None
    t[0] = 200
    assert cache.get(cache_key("ns", "s", "6", "https://github.com/o")) is None
    cache.put(cache_key("ns", "s", "", "u"), result())
    assert cache.get(cache_key("ns", "s", "", "u")) is None                          # no rv: never cached


def test_importing_probes_loads_neither_textual_nor_kubernetes():
    code = ("import sys, arc_top.probes, arc_top.probes.app, arc_top.probes.pat, arc_top.probes.cache\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'kubernetes', 'rich'}))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    for path in (ROOT / "probes").glob("*.py"):
        text = path.read_text()
        for name in ("textual", "kubernetes", "kube", "tui", "widgets", "sandbox"):
            assert f"import {name}" not in text and f"from {name}" not in text, f"{path.name} imports {name}"
