"""The command line: ``snakebench`` (:mod:`snakebench.cli.main` puts it together) and
``python -m snakebench.dispatch``, one module per command group.

This package imports nothing itself, so a command run on its own (``python -m
snakebench.dispatch``, run by supervisors and the drills every few seconds) loads only
what it uses, not every other command's dependencies (Flask, the SDKs' catalog...).
"""
