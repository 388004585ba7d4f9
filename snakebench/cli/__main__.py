"""``python -m snakebench.cli``: the ``snakebench`` command without its console script."""

from snakebench.cli.main import main

main()
