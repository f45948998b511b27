"""The `arc-top` command line: one entry point, each subcommand imports only its own layer.

Imports: any layer; nothing imports cli (tests/test_layers.py)."""
