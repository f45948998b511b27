"""The operator's settings (issue 15): the config file's keys, the precedence flag > env > file > default, the bad
file as one line and exit 2 (the real CLI, as a child), `arc-top config` / `config --init`, `--version`, the
silence rules (pure matching in checks/silence.py) and `arc-top check` honouring them (--ignore, -o json
`silenced`). Every test has its own XDG_CONFIG_HOME (tests/conftest.py isolated_config_home, and tmp_path here)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest
import textual
import yaml

from arc_top.checks.finding import Finding, Subject
from arc_top.checks.silence import Silence, glob_problem, split
from arc_top.cli import config
from arc_top.cli.main import build_parser, main, settle_config
from arc_top.cli.monitor_cmd import app_options
from arc_top.tui.app import known_binding_ids
from arc_top.tui.screens.logs import default_cap
from tests.test_check_cli import SCHEMA, saved_cluster, validate

ARC_TOP = [sys.executable, "-m", "arc_top.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An XDG_CONFIG_HOME of the test's own; returns the config file's path (not written yet)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ARC_TOP_LOG_LINES", raising=False)
    path = tmp_path / "xdg" / "arc-top" / "config.yaml"
    path.parent.mkdir(parents=True)
    return path


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def settled(*argv: str) -> argparse.Namespace:
    """The parsed command line with the settings applied, as cli.main runs it; fails on a config problem."""
    args = build_parser().parse_args(list(argv))
    problem = settle_config(args)
    assert problem == "", problem
    return args


def run(*argv: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(ARC_TOP + list(argv), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def assert_one_line(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("arc-top: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


# ---- the keys -------------------------------------------------------------------------------------------------
def test_without_a_file_every_key_is_its_default(home):
    args = settled("config")
    settings = args.settings
    assert not settings.found and settings.path == str(home)
    assert settings.values == config.DEFAULTS and set(settings.sources.values()) == {"default"}
    assert args.github_timeout == 5.0 and args.no_github is False and args.read_only is False
    assert args.silence == []


def test_each_key_of_the_file_reaches_what_uses_it(home):
    write(home, """
theme: nord
keymap: {arc-top.panel-runners: r, arc-top.copy-name: "ctrl+y,c"}
context: prod
namespaces: [arc-runners, team-b]
all_namespaces: false
read_only: true
github_probes: false
github_timeout: 2.5
log_lines: 1234
silence:
  - {code: ARC602, reason: "we follow latest on purpose", scale_set: "arc-runners/team-*"}
  - {code: ARC601, reason: canaries, namespace: "canary-*", name: "*-canary-*"}
""")
    args = settled()                           # the monitor on the kubeconfig's cluster
    assert args.settings.found and all(args.settings.sources[k] == "file" for k in config.DEFAULTS)
    assert (args.context, args.namespaces, args.all_namespaces) == ("prod", ["arc-runners", "team-b"], False)
    assert args.read_only is True and args.no_github is True and args.github_timeout == 2.5
    assert args.silence == [Silence("ARC602", "we follow latest on purpose", scale_set="arc-runners/team-*"),
                            Silence("ARC601", "canaries", namespace="canary-*", name="*-canary-*")]
    options = app_options("arc-top", args)
    assert options["theme"] == "nord" and options["read_only"] is True and options["github"] is False
    assert options["keymap"] == {"arc-top.panel-runners": "r", "arc-top.copy-name": "ctrl+y,c"}
    assert options["github_timeout"] == 2.5 and options["log_lines"] == 1234 and options["silence"] == args.silence

    class App:
        log_lines = options["log_lines"]
    assert default_cap(App()) == 1234 and default_cap(None) == 50_000        # what a log view keeps


def test_all_namespaces_from_the_file(home):
    write(home, "all_namespaces: true\n")
    args = settled("check")
    assert args.all_namespaces is True and args.namespaces == [] and args.context is None


def test_the_file_does_not_point_the_sandbox_or_saved_files_at_a_context(home, tmp_path):
    """`check --demo`, `check --from` and `demo` take no cluster flags; the file's context must not count as one."""
    write(home, "context: prod\nnamespaces: [x]\n")
    for argv in (("check", "--demo"), ("check", "--from", "a.yaml"), ("demo",)):
        args = settled(*argv)
        assert args.context is None and args.namespaces == [], argv


# ---- precedence: flag > env > file > default -------------------------------------------------------------------
def test_flags_beat_the_file(home):
    write(home, "context: prod\nnamespaces: [a]\ngithub_timeout: 2\nlog_lines: 500\n")
    args = settled("--context", "staging", "-n", "b", "--github-timeout", "7", "--read-only", "--no-github")
    s = args.settings
    assert (args.context, args.namespaces, args.github_timeout) == ("staging", ["b"], 7.0)
    assert args.read_only is True and args.no_github is True
    assert s.sources["context"] == "flag --context" and s.sources["namespaces"] == "flag --namespace"
    assert s.sources["github_timeout"] == "flag --github-timeout" and s.sources["read_only"] == "flag --read-only"
    assert s.sources["github_probes"] == "flag --no-github"
    assert s.values["log_lines"] == 500 and s.sources["log_lines"] == "file"      # no flag: the file's
    args = settled("-A")                                                         # -A replaces the file's list
    assert args.all_namespaces is True and args.namespaces == []
    assert args.settings.sources["all_namespaces"] == "flag --all-namespaces"
    args = settled("check", "--context", "c2", "--github-timeout", "3")         # on the subcommand too
    assert (args.context, args.github_timeout) == ("c2", 3.0)


def test_env_beats_the_file_and_the_file_beats_the_default(home, monkeypatch):
    write(home, "log_lines: 500\n")
    assert settled("config").settings.values["log_lines"] == 500
    monkeypatch.setenv("ARC_TOP_LOG_LINES", "700")
    s = settled("config").settings
    assert s.values["log_lines"] == 700 and s.sources["log_lines"] == "env ARC_TOP_LOG_LINES"
    home.unlink()
    assert settled("config").settings.values["log_lines"] == 700


def test_config_flag_reads_another_file(home, tmp_path):
    write(home, "context: from-home\n")
    other = write(tmp_path / "other.yaml", "context: from-other\n")
    assert settled("--config", str(other)).context == "from-other"
    assert settled("check", "--config", str(other)).context == "from-other"
    assert settled().context == "from-home"


def test_ignore_adds_to_the_files_rules(home):
    write(home, "silence: [{code: ARC602, reason: latest on purpose}]\n")
    args = settled("check", "--ignore", "ARC109", "--ignore", "ARC206")
    assert [r.code for r in args.silence] == ["ARC602", "ARC109", "ARC206"]
    assert args.settings.sources["silence"] == "file + flag --ignore"


# ---- `arc-top config`, `--init`, `--version` --------------------------------------------------------------------
def test_config_prints_each_value_and_its_source(home, capsys, monkeypatch):
    write(home, "theme: gruvbox\nsilence: [{code: ARC602, reason: 'on purpose', name: 'arc-*'}]\n")
    monkeypatch.setenv("ARC_TOP_LOG_LINES", "900")
    assert main(["--read-only", "config"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"config file: {home}"
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:] if not line.startswith(" ")}
    assert lines["theme"][1:] == ['"gruvbox"', "file"]
    assert lines["read_only"][1:] == ["true", "flag", "--read-only"]
    assert lines["log_lines"][1:] == ["900", "env", "ARC_TOP_LOG_LINES"]
    assert lines["context"][1:] == ["null", "default"]
    assert "  - ARC602 name=arc-*: on purpose" in out
    assert main(["config", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["values"]["silence"] == [{"code": "ARC602", "reason": "on purpose", "name": "arc-*"}]
    assert doc["sources"]["theme"] == "file" and doc["found"] is True


def test_init_writes_the_commented_defaults_and_refuses_to_overwrite(home, capsys):
    assert main(["config", "--init"]) == 0
    text = home.read_text()
    assert text == config.DEFAULT_FILE and text.count("\n#") > 10
    assert yaml.safe_load(text) == {k: v for k, v in config.DEFAULTS.items()}     # every key, at its default
    assert settled("config").settings.values == config.DEFAULTS
    home.write_text("theme: nord\n")
    assert main(["config", "--init"]) == 2
    assert "already exists (--force overwrites it)" in capsys.readouterr().err
    assert home.read_text() == "theme: nord\n"
    home.write_text("not: [valid")                        # a broken file is no obstacle to --init --force
    assert main(["config", "--init", "--force"]) == 0
    assert home.read_text() == config.DEFAULT_FILE


def test_the_readme_shows_the_generated_default_file():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = re.search(r"<!-- config-init -->\n```yaml\n(.*?)```\n<!-- /config-init -->", readme, re.S)
    assert block, "README.md: the config file section between <!-- config-init --> markers"
    assert block.group(1) == config.DEFAULT_FILE, "regenerate it: arc-top config --init --config /dev/stdout"


def test_every_keymap_example_and_copy_binding_exists():
    ids = known_binding_ids()
    assert {"arc-top.copy-name", "arc-top.silenced", "arc-top.panel-runners"} <= ids
    for found in re.findall(r"#  (arc-top\.[a-z.-]+):", config.DEFAULT_FILE):
        assert found in ids


def test_version_names_arc_top_textual_and_python():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == "arc-top 0.1.0"
    assert lines[1] == f"Textual {textual.__version__}"
    assert lines[2].startswith(f"Python {'.'.join(map(str, sys.version_info[:3]))}")


# ---- a bad file: one line naming the key and the problem, exit 2 (the real CLI) ----------------------------
BAD = [
    ("colour: red\n", "colour: unknown key"),
    ("read_only: 'yes'\n", "read_only: expected true or false, got a string 'yes'"),
    ("theme: sparkly\n", "theme: unknown theme 'sparkly'"),
    ("github_timeout: 0\n", "github_timeout: 0: give a number of seconds between 0 and 120"),
    ("log_lines: ten\n", "log_lines: expected a whole number of lines"),
    ("namespaces: arc-runners\n", "namespaces: expected a list of namespaces"),
    ("keymap: {arc-top.nope: x}\n", "keymap.arc-top.nope: no such binding id"),
    ("silence: [{code: ARC602}]\n", "silence[0].reason: missing"),
    ("silence: [{code: ARC602, reason: '  '}]\n", "silence[0].reason: empty"),
    ("silence: [{code: ARC999, reason: x}]\n", "silence[0].code: unknown code 'ARC999'"),
    ("silence: [{reason: x, code: ARC602, name: 'runner-[ab'}]\n", "silence[0].name: bad glob 'runner-[ab'"),
    ("silence: [{code: ARC602, reason: x, namespace: 'a/b'}]\n", "silence[0].namespace: bad glob 'a/b'"),
    ("theme: [unclosed\n", "not valid YAML (line 2, column 1"),
    ("- just\n- a list\n", "expected a mapping of keys"),
]


@pytest.mark.parametrize("text, needle", BAD, ids=[n.split(":")[0] for _, n in BAD])
def test_a_bad_file_is_one_line_naming_the_key(home, text, needle):
    write(home, text)
    assert_one_line(run("config"), f"config {home}: {needle}")


def test_a_bad_file_stops_every_command_before_it_starts(home, tmp_path):
    write(home, "silence: [{code: ARC602}]\n")
    for argv in (("check", "--from", str(tmp_path / "x.yaml")), ("--kubeconfig", str(tmp_path / "none"))):
        assert_one_line(run(*argv), "silence[0].reason: missing")
    write(home, "keymap: {arc-top.no-such-key: x}\n")
    assert_one_line(run("check", "--from", str(tmp_path / "x.yaml")), "keymap.arc-top.no-such-key: no such binding")


def test_unreadable_missing_and_binary_files_and_a_bad_env(home, tmp_path):
    assert_one_line(run("--config", str(tmp_path / "missing.yaml"), "config"), "missing.yaml: cannot read it")
    assert_one_line(run("--config", str(tmp_path), "config"), f"config {tmp_path}: cannot read it")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00theme")
    assert_one_line(run("--config", str(binary), "config"), "not UTF-8 text")
    assert_one_line(run("config", env={"ARC_TOP_LOG_LINES": "lots"}), "ARC_TOP_LOG_LINES='lots': give a whole")
    assert_one_line(run("check", "--from", "x.yaml", "--ignore", "ARC999"), "--ignore 'ARC999': unknown code")
    hostile = write(tmp_path / "hostile.yaml", "\"\\e[31mred\\e]0;title\\a\": 1\n")
    proc = run("--config", str(hostile), "config")
    assert_one_line(proc, "unknown key")
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr


# ---- silence rules (pure) ---------------------------------------------------------------------------------------
def finding(code: str, ns: str, name: str, scale_set: str = "", kind: str = "Pod") -> Finding:
    return Finding(code, "warning", "t", Subject(kind, ns, name), scale_set=scale_set)


def test_a_rule_matches_by_code_and_its_globs():
    a = finding("ARC601", "arc-runners", "team-a-runner-x1", "arc-runners/team-a")
    b = finding("ARC601", "arc-runners", "team-b-runner-x2", "arc-runners/team-b")
    c = finding("ARC602", "canary", "canary-runner", "canary/team-a")
    cluster = finding("ARC606", "", "arc-runners", "arc-runners/team-a", kind="Namespace")
    items = [a, b, c, cluster]
    assert split(items, [Silence("ARC601")]) == ([c, cluster], [a, b])
    assert split(items, [Silence("ARC601", scale_set="team-a")]) == ([b, c, cluster], [a])
    assert split(items, [Silence("ARC602", scale_set="canary/team-*")]) == ([a, b, cluster], [c])
    assert split(items, [Silence("ARC602", scale_set="arc-runners/team-*")]) == (items, [])
    assert split(items, [Silence("ARC601", name="*-x[2]")]) == ([a, c, cluster], [b])
    assert split(items, [Silence("ARC601", namespace="canary")]) == (items, [])
    assert split(items, [Silence("ARC606", namespace="arc-*")]) == ([a, b, c], [cluster])   # the set's namespace
    assert split(items, []) == (items, [])
    assert Silence("ARC601", "why", scale_set="s", name="n*").describe() == "ARC601 scale_set=s name=n*"


def test_globs_that_cannot_be_meant():
    assert glob_problem("team-*") == "" and glob_problem("ns/set-*", slash=True) == ""
    assert glob_problem("[!a]*") == "" and glob_problem("[]]x") == ""
    assert "unclosed" in glob_problem("team-[ab")
    assert "empty" in glob_problem("")
    assert "'/'" in glob_problem("a/b") and "'/'" in glob_problem("a/b/c", slash=True)
    assert "control" in glob_problem("a\x1bb")
    assert "string" in glob_problem(3)


# ---- `arc-top check` honours them --------------------------------------------------------------------------------
def test_check_leaves_silenced_findings_out_and_counts_them(home):
    """The healthy demo reports ARC602 and ARC109 on both scale sets and ARC206 on one (template findings, no churn):
    the file silences ARC602 everywhere and ARC109 on arc-default-*, --ignore adds ARC206."""
    write(home, """silence:
  - {code: ARC602, reason: "we follow the runner image's latest tag"}
  - {code: ARC109, scale_set: "arc-default-*", reason: "the default set keeps its PAT until Q3"}
""")
    proc = run("check", "--demo", "--scenario", "healthy", "--settle", "1", "--no-github", "--ignore", "ARC206",
               "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert validate(doc, SCHEMA) == []
    shown = sorted((f["code"], f["scale_set"]) for f in doc["findings"])
    assert shown == [("ARC109", "arc-runners/arc-runner-set")]
    assert doc["silenced"] == {"total": 4, "summary": {"error": 0, "warning": 0, "info": 4},
                               "by_code": {"ARC109": 1, "ARC206": 1, "ARC602": 2}}
    assert doc["summary"] == {"error": 0, "warning": 0, "info": 1}


def test_silenced_errors_do_not_fail_the_check_and_the_table_says_so(home, tmp_path, capsys, monkeypatch):
    from arc_top import checks

    path = str(tmp_path / "missing-secret.yaml")
    write(tmp_path / "missing-secret.yaml", yaml.safe_dump_all(saved_cluster("missing-secret"), sort_keys=False))
    assert main(["check", "--from", path, "-o", "json", "--fail-on", "never"]) == 0
    doc = json.loads(capsys.readouterr().out)
    errors = [f["code"] for f in doc["findings"] if f["severity"] == "error"]
    assert "ARC101" in errors and doc["silenced"]["total"] == 0
    rules = "".join(f"  - {{code: {code}, reason: the secret comes from vault later}}\n" for code in set(errors))
    write(home, "silence:\n" + rules)
    assert main(["check", "--from", path]) == 0                 # every error silenced: nothing fails
    out = capsys.readouterr().out
    listed, note = out.split("Silenced (config file silence: rules, --ignore): ")
    assert "ARC101" not in listed and note.startswith(f"{len(errors)} finding") and "ARC101" in note
    monkeypatch.setattr(checks, "run", lambda snapshot, **_: [])
    assert main(["check", "--from", path, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["silenced"] == {
        "total": 0, "summary": {"error": 0, "warning": 0, "info": 0}, "by_code": {}}


def test_the_files_context_namespaces_and_probes_reach_a_real_check(home, healthy, tmp_path):
    """The kubeconfig's context is not the file's: the file's context, namespaces and github_probes are used."""
    kubeconfig = yaml.safe_load(open(healthy.kubeconfig_path, encoding="utf-8"))
    kubeconfig["current-context"] = "nowhere"
    kubeconfig["contexts"].append({"name": "nowhere", "context": {"cluster": "none", "user": "none"}})
    path = write(tmp_path / "kubeconfig", yaml.safe_dump(kubeconfig))
    write(home, "context: arc-sandbox\nnamespaces: [arc-runners, team-x]\ngithub_probes: false\n")
    proc = run("--kubeconfig", str(path), "check", "-o", "json", "--no-logs", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    source = json.loads(proc.stdout)["source"]
    assert source["context"] == "arc-sandbox" and source["namespaces"] == ["arc-runners", "team-x"]
    assert source["github"] == {"probed": False}
    write(home, "context: elsewhere\n")
    assert_one_line(run("--kubeconfig", str(path), "check"), 'context "elsewhere" not found')


def test_a_relative_or_empty_xdg_config_home_means_home_config():
    expected = os.path.join(os.path.expanduser("~"), ".config", "arc-top", "config.yaml")
    for value in ("", "relative/dir"):
        assert config.default_path({"XDG_CONFIG_HOME": value}) == expected
    assert config.default_path({"XDG_CONFIG_HOME": "/x"}) == "/x/arc-top/config.yaml"
