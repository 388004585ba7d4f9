"""The one error the local stack raises."""

from __future__ import annotations


class LocalStackError(RuntimeError):
    """The local stack cannot start or be found; the message is one line for a human."""
