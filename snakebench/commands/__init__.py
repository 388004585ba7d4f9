"""The ``snakebench`` subcommands, one module per area."""
