"""Imports: no other arc-top package but `core` (plain text helpers): the sandbox stands alone, like a real API
server (tests/test_layers.py)."""
