"""The `arc-top` command line: one entry point, each subcommand imports only its own layer."""
