"""The ``workdir`` and ``cli`` fixtures of this folder are the root conftest's; here,
their type for the tests to import."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]
