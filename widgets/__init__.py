"""Reusable widgets and text helpers: resource table with keyed reconcile, sparklines, safe cluster text.

Imports: no other arc-top package but `core` (plain text helpers): reusable widgets stand alone
(tests/test_layers.py)."""
