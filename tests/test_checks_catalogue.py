"""The codes table is the contract: every code of the catalogue, with its severity, wording and a docs link."""

from __future__ import annotations

import re

from arc_top.checks import engine
from arc_top.checks.catalogue import CODES

EXPECTED = {
    "ARC000": "info",
    "ARC101": "error", "ARC102": "error", "ARC103": "error", "ARC104": "error", "ARC105": "error",
    "ARC106": "warning", "ARC107": "error", "ARC108": "error", "ARC109": "info",
    "ARC201": "error", "ARC202": "error", "ARC203": "error", "ARC204": "error", "ARC205": "warning",
    "ARC206": "info",
    "ARC301": "error", "ARC302": "error", "ARC303": "warning", "ARC304": "error",
    "ARC401": "error", "ARC402": "error", "ARC403": "error", "ARC404": "error", "ARC405": "error",
    "ARC406": "error", "ARC407": "error", "ARC408": "error", "ARC409": "error", "ARC410": "error",
    "ARC501": "error", "ARC502": "error", "ARC503": "error", "ARC504": "warning", "ARC505": "error",
    "ARC506": "error", "ARC507": "warning", "ARC508": "warning",
    "ARC601": "warning", "ARC602": "info", "ARC603": "error", "ARC604": "warning", "ARC605": "error",
    "ARC606": "info",
}


def test_the_codes_and_their_severities():
    assert {c: e.severity for c, e in CODES.items()} == EXPECTED


def test_the_probe_codes_come_only_from_the_credential_probes():
    probe_codes = {"ARC104", "ARC105", "ARC106", "ARC107"}
    assert probe_codes <= set(CODES)
    emitters = {name for name, codes in engine.codes().items() if probe_codes & set(codes)}
    assert emitters == {"credentials.credential_probes"}


def test_every_code_has_wording_and_a_link_and_a_check():
    emitted = {code for codes in engine.codes().values() for code in codes}
    assert emitted == set(EXPECTED) - {"ARC000"}
    for code, entry in CODES.items():
        assert re.fullmatch(r"ARC\d{3}", code) and entry.code == code
        assert entry.title and len(entry.title) <= 70 and not entry.title.endswith(".")
        assert entry.explanation.endswith(".") and entry.fix.endswith((".", ")"))
        assert entry.docs.startswith("https://") and " " not in entry.docs
