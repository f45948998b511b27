"""arc-top, installed as one import package.

The repository keeps one folder per layer at its root (`core/`, `kube/`, `probes/`, `checks/`, `fixes/`,
`tui/`, `widgets/`, `cli/`, `sandbox/`); `arc_top/` holds a symbolic link to each, so the project installs as the single
top-level name `arc_top` (`arc_top.kube`, `arc_top.checks`, …) while the source stays where it was specified.
This module imports nothing; each layer's `__init__` states what that layer may import.
"""
