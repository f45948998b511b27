"""The arc-top terminal UI: the App, its screens, the command palette and the one stylesheet."""
