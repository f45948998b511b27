"""The helpers every layer shares, each in one place: masking secrets, stripping terminal escapes, one-line
cleaning, kubectl-style ages (`core.text`) and defensive readers of untrusted dicts (`core.data`).

Imports: nothing from arc-top and only the standard library; every layer may import it (tests/test_layers.py,
and tests/test_core_text.py checks that loading it pulls in no third-party module)."""
