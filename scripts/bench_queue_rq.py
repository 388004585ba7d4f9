"""The no-op job of ``scripts/bench_queue.py``, and the RQ job class that lets it run.

Workers started with ``WORKER_COMMAND`` run ``-j snakebench.queueing.GameJob``, which
refuses every function but SnakeBench's own (:data:`snakebench.queueing.ALLOWED_FUNCTIONS`).
The bench's no-op rows start the same workers with ``-P scripts -j bench_queue_rq.BenchJob``
instead: GameJob's check, with this module's :func:`noop` let through too.
"""

from __future__ import annotations

from typing import Any

from rq.job import Job

from snakebench.queueing import GameJob

NOOP = "bench_queue_rq.noop"


def noop() -> None:
    """A job that does nothing: whatever time it takes through a queue is the queue's."""


class BenchJob(GameJob):
    """:class:`GameJob` that also runs :func:`noop` (and nothing else new)."""

    @property
    def func(self) -> Any:
        if self.instance is None and self.func_name == NOOP:
            return Job.func.fget(self)  # type: ignore[attr-defined]
        return super().func
