"""The arc-top terminal UI: the App, its screens, the command palette and the one stylesheet.

Imports: every layer below it (core, kube, probes, checks, fixes, widgets), never cli or sandbox
(tests/test_layers.py)."""
