"""Fixing what the checks find: plan (checks.remedies, pure) → access review and server-side dry-run → confirm →
apply (kube.remedy) → audit → verify, and undo. Above checks/ and kube/ (it uses both), below tui/ and cli/
(both use it); it imports neither, nor textual.

Imports: `core`, `kube`, `probes`, `checks` only (tests/test_layers.py)."""
