"""``python -m snakebench.dispatch``: the dispatch commands (:mod:`snakebench.cli.dispatch`)
run as a module, as the original's dispatcher is, and as ``snakebench dispatch``."""

from snakebench.cli.dispatch import main

if __name__ == "__main__":
    main()
