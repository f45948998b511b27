"""core: the one home of the helpers every layer shares — masking (one rule), redaction, escape stripping (one set),
one-line cleaning, ages, and the defensive dict readers — and its import rule (standard library only)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from arc_top.core.data import d, dicts, lst, s
from arc_top.core.text import (
    TOKEN_PREFIXES,
    age,
    clean_line,
    mask_secret_value,
    mask_token,
    plural,
    redact,
    strip_escapes,
    token_prefix,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOKEN = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ0a1b2"


# ---- the masking rule -----------------------------------------------------------------------------------------
def test_a_short_value_shows_only_the_ellipsis():
    assert mask_token("") == "…"
    assert mask_token("hunter2") == "…"
    assert mask_token("12345678901") == "…"                       # 11 characters


def test_the_last_four_from_12_characters_without_a_prefix():
    assert mask_token("123456789012") == "…9012"
    assert mask_token("x" * 40 + "WXYZ") == "…WXYZ"


def test_the_12_characters_are_counted_after_the_prefix():
    assert mask_token("ghp_" + "12345678901") == "ghp_…"          # 15 long, 11 after the prefix
    assert mask_token("ghp_" + "123456789012") == "ghp_…9012"
    assert mask_token("github_pat_" + "12345678901") == "github_pat_…"
    assert mask_token("github_pat_" + "123456789012") == "github_pat_…9012"
    assert mask_token(TOKEN) == "ghp_…a1b2"


@pytest.mark.parametrize("prefix", ["ghp_", "github_pat_", "gho_", "ghu_", "ghs_", "ghr_"])
def test_each_known_prefix_is_kept(prefix):
    assert prefix in TOKEN_PREFIXES and token_prefix(prefix + "abc") == prefix
    assert mask_token(prefix + "abcdefghijklmnop") == f"{prefix}…mnop"
    assert mask_token(prefix + "abc") == f"{prefix}…"


def test_an_unknown_prefix_is_not_shown():
    assert token_prefix("ghx_abcdefghijklmnop") == "" and token_prefix("GHP_abc") == ""
    assert mask_token("ghx_abcdefghijklmnop") == "…mnop"


def test_a_secret_value_marks_its_surrounding_whitespace():
    assert mask_secret_value(TOKEN + "\n") == "ghp_…a1b2⏎"
    assert mask_secret_value(TOKEN + "\r\n") == "ghp_…a1b2␍⏎"
    assert mask_secret_value("\t" + TOKEN + " ") == "⇥ghp_…a1b2␠"
    assert mask_secret_value(" 12345 ") == "␠…␠"
    assert mask_secret_value("ghp_short\n") == "ghp_…⏎"
    assert mask_secret_value(TOKEN) == mask_token(TOKEN)
    assert mask_secret_value("") == "" and mask_secret_value("\n") == "⏎"


def test_a_private_key_is_named_not_masked():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert mask_secret_value(pem) == "[private key]"
    assert mask_secret_value(pem + "\n") == "[private key]⏎"
    assert "MIIE" not in mask_secret_value(pem) and "----" not in mask_secret_value(pem)


# ---- redaction inside a line ----------------------------------------------------------------------------------
def test_tokens_inside_a_line_are_masked():
    line = f'invalid header field value "Bearer {TOKEN}\\n" for key Authorization'
    out = redact(line)
    assert TOKEN not in out and TOKEN[4:12] not in out
    assert out == 'invalid header field value "Bearer ghp_…a1b2\\n" for key Authorization'
    assert redact("github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz") == "github_pat_…wxyz"
    assert redact("token ghs_abcdef1 expired") == "token ghs_… expired"
    assert redact("two ghp_abcdefghijklmnop and gho_qrstuvwxyzABCDEF") == "two ghp_…mnop and gho_…CDEF"


def test_bearer_and_basic_credentials_are_masked():
    assert redact("Authorization: Bearer abcdefghijklmnop1234") == "Authorization: Bearer …1234"
    assert redact("Authorization: Basic dXNlcjpw") == "Authorization: Basic …"
    assert "secret" not in redact("Authorization: Bearer abc.secret.value.here")


def test_jwts_and_private_keys_are_redacted():
    assert redact("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJl ok") == "jwt eyJ…[jwt redacted] ok"
    out = redact("key: -----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY----- done")
    assert out == "key: [private key redacted] done"
    assert redact("-----BEGIN EC PRIVATE KEY-----\nMHcC") == "[private key redacted]"     # cut off: to the end


def test_what_is_not_a_credential_stays():
    for line in ("getting runner registration token registrationTokenURL=https://x",
                 "secret arc-github-token in namespace arc-runners", "ghp_ alone", "Bearer short"):
        assert redact(line) == line


# ---- escapes and control characters ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("\x1b[31mred\x1b[0m", "red"),                                   # CSI
    ("a\x1b[2Jb\x1b[?25lc", "abc"),
    ("\x1b]0;pwned\x07after", "after"),                              # OSC ended by BEL
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),          # OSC ended by ST (a hyperlink)
    ("keep \x1b]0;title", "keep "),                                   # unterminated OSC: to the end
    ("a\x1b]0;t\x1b[1mb", "ab"),                                      # unterminated OSC: to the next ESC
    ("\x1bPq#0;2;0;0;0\x1b\\dcs", "dcs"),                             # DCS (sixel)
    ("\x1b_apc\x1b\\x\x1b^pm\x1b\\y\x1bXsos\x1b\\z", "xyz"),          # APC, PM, SOS
    ("a\x1b7b\x1b(Bc\x1bcd", "abcd"),                                 # other ESC sequences
    ("lone \x1b", "lone "),
    ("\x9b2Jc1\x9d0;t\x85", "2Jc10;t"),                                # C1 controls (their parameters stay text)
    ("bell\x07nul\x00del\x7f", "bellnuldel"),                         # C0 and DEL
    ("\u202egnp\u202c \u2066iso\u2069 \u202aa\u202b", "gnp iso a"),    # bidi overrides and isolates
    ("xml\ud800\ufffe\uffff", "xml"),                                 # what XML 1.0 cannot carry
    ("[bold]markup[/] stays", "[bold]markup[/] stays"),
])
def test_escapes_and_controls_are_stripped(raw, shown):
    assert strip_escapes(raw) == shown


def test_strip_keeps_tab_and_newline_clean_line_folds_them():
    assert strip_escapes("a\tb\nc") == "a\tb\nc"
    assert strip_escapes("a\r\nb\rc") == "a\nb\nc"
    assert clean_line("two\nlines\r\nand\ttab\rcr") == "two lines and tab cr"
    assert clean_line("\x1b[1mbold\x1b[0m\n") == "bold "
    assert strip_escapes(None) == "" and clean_line(None) == "" and clean_line(5) == "5"
    assert strip_escapes("plain ünïcode ✔") == "plain ünïcode ✔"


# ---- age and plural -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds, text", [
    (None, "?"), (-5, "0s"), (-0.5, "0s"), (0, "0s"), (45.9, "45s"), (119, "119s"), (120, "2m"),
    (7199, "119m"), (7200, "2h"), (172799, "47h"), (172800, "2d"), (86400 * 30, "30d"),
])
def test_age(seconds, text):
    assert age(seconds) == text


def test_plural():
    assert plural(1, "runner") == "1 runner" and plural(0, "runner") == "0 runners"
    assert plural(2, "entry", "entries") == "2 entries" and plural(1, "entry", "entries") == "1 entry"


# ---- dict readers ---------------------------------------------------------------------------------------------
def test_dict_readers_return_the_expected_type_whatever_they_get():
    mapping = {"a": 1}
    assert d(mapping) is mapping and d(None) == {} and d([1]) == {} and d("x") == {}
    assert lst([1]) == [1] and lst((1,)) == (1,) and lst(None) == () and lst({"a": 1}) == () and lst("ab") == ()
    assert s("x") == "x" and s(None) == "" and s(3) == "3" and s(False) == "False"
    assert list(dicts([{"a": 1}, "x", None, {"b": 2}, [1]])) == [{"a": 1}, {"b": 2}]
    assert list(dicts({"a": 1})) == [] and list(dicts(None)) == []


# ---- one home, and the import rule ----------------------------------------------------------------------------
def test_the_layers_use_the_one_copy():
    from arc_top.checks import context, fixplan, report
    from arc_top.checks import text as evidence
    from arc_top.core import data, text
    from arc_top.probes import model
    from arc_top.sandbox import github
    from arc_top.widgets import text as widget_text

    assert evidence.redact is text.redact and evidence.age is text.age and evidence.plural is text.plural
    assert widget_text.age is text.age and widget_text.strip_escapes is text.strip_escapes
    assert widget_text.clean_line is text.clean_line
    assert model.mask_token is text.mask_token and github.mask_token is text.mask_token
    assert fixplan.mask_secret_value is text.mask_secret_value
    assert (context.d, context.lst, context.s, context.dicts) == (data.d, data.lst, data.s, data.dicts)
    assert report.clean("a\x1b[31mred\x1b[0m\u202e\rb\ud800") == "ared b"


def test_core_loads_no_third_party_module():
    code = ("import json, sys; import arc_top.core.text, arc_top.core.data; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rich', 'textual', 'kubernetes', 'httpx', 'yaml', 'arc_top'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["arc_top", "arc_top.core", "arc_top.core.data", "arc_top.core.text"]
