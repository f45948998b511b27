"""Imports: no other arc-top package: the sandbox stands alone, like a real API server (tests/test_layers.py)."""
