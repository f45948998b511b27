"""Reusable widgets and text helpers: resource table with keyed reconcile, sparklines, safe cluster text."""
