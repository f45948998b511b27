"""Everything that talks to the Kubernetes API: kubeconfig resolution, watch threads, the store of
slim objects and discovery of ARC. Textual-free: results reach the UI through an injected callback.

Imports: only `core` (plain text helpers) and `probes` (the GitHub credential probes it hands the Secrets it reads) —
never checks, fixes, tui, widgets, cli or sandbox (tests/test_layers.py)."""
