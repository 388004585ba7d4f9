"""The webhook tests' receiver: a real local HTTP server on a thread
(:mod:`snakebench.testing.receiver`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from snakebench.testing.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found
