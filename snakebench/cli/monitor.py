"""Watching a batch: a live progress bar fed by the batch row's counters.

Each refresh reads one row (:func:`snakebench.services.batches.batch_progress`), so a monitor
costs the same on 10 games as on 10,000, and any number of people may watch. The
monitor also enforces the batch's budget: once ``max_cost`` is spent it cancels what
is left (workers refuse to start a game of a spent batch on their own as well), lists
each failed or void game with its reason as it ends, and names any worker that takes
games but cannot run them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

import redis
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from snakebench.cli.terminal import one_line, safe_text, stop_live
from snakebench.queueing import WORKER_COMMAND
from snakebench.queueing.status import cannot_run, cannot_run_warnings, registered_worker_count
from snakebench.services.batches import BatchProgress, batch_progress, enforce_budget
from snakebench.store import batch_problems, batch_timespan, first_cancel_reason

RATE_WINDOW = 120  # samples (about two minutes at one a second) behind games/min and ETA
PROBLEMS_SHOWN = 20  # failed and void games a monitor lists, each with its reason
PROBLEM_REASON_CHARS = 300
WORKER_CHECK_EVERY = 10.0  # seconds between looks for workers that cannot run our jobs


class RateMeter:
    """Games per minute over a sliding window of (time, games done) samples."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW)

    def add(self, done: int) -> None:
        self._samples.append((self._clock(), done))

    def per_minute(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or d1 <= d0:
            return None
        return (d1 - d0) / (t1 - t0) * 60

    def eta(self, remaining: int) -> timedelta | None:
        rate = self.per_minute()
        if rate is None:
            return None
        return timedelta(seconds=round(remaining / rate * 60))


def counts_line(progress: BatchProgress, rate: RateMeter) -> str:
    """Two lines: completed / running / queued / failed / void / cancelled, then
    games per minute, ETA and the cost so far (short enough for 80 columns)."""
    per_minute, eta = rate.per_minute(), rate.eta(progress.total - progress.done)
    counts = " · ".join(
        f"{label} {getattr(progress, label)}"
        for label in ("completed", "running", "queued", "failed", "void", "cancelled")
    )
    budget = f" of ${progress.max_cost:.2f}" if progress.max_cost is not None else ""
    pace = " · ".join(
        [
            f"{per_minute:.1f} games/min" if per_minute is not None else "- games/min",
            f"ETA {eta}" if eta is not None else "ETA -",
            f"cost ${progress.cost:.4f}{budget}",
        ]
    )
    return f"{counts}\n{pace}"


class BatchView:
    """The live display of one batch: a bar (games done of total) over a line of
    counts. Drawn on stderr, so stdout keeps only results (e.g. ``--json``)."""

    def __init__(self, progress: BatchProgress, console: Console) -> None:
        self.rate = RateMeter()
        self._bar = Progress(
            TextColumn(f"batch {progress.batch_id[:8]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._bar.add_task("batch", total=progress.total)
        self._counts = Text()
        self._live = Live(Group(self._bar, self._counts), console=console, auto_refresh=False)

    def __enter__(self) -> BatchView:
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop_live(self._live)

    def update(self, progress: BatchProgress) -> None:
        self.rate.add(progress.done)
        self._bar.update(self._task, completed=progress.done, total=progress.total)
        self._counts.plain = counts_line(progress, self.rate)
        self._live.refresh()


def watch(
    batch_id: str,
    connection: redis.Redis | None,
    *,
    console: Console,
    interval: float = 1.0,
) -> BatchProgress:
    """Redraw the batch's progress every ``interval`` seconds until it is finished;
    return its final progress. Ctrl+C (KeyboardInterrupt) is left to the caller:
    it stops the watching, never the games."""
    progress = batch_progress(batch_id)
    notices = Notices(batch_id, connection)
    with BatchView(progress, console) as view:
        while True:
            for line in notices.check(progress):
                console.print(line)  # above the bar: the live display crops long lines
            view.update(progress)
            if progress.finished:
                return progress
            time.sleep(interval)
            progress = batch_progress(batch_id)


class Notices:
    """What a monitor says above its bar, each thing once: the budget spent (and the
    games cancelled for it), the spending cap that stopped a game, each failed or void
    game with its reason as it ends (the first :data:`PROBLEMS_SHOWN`), no worker
    running, and any live worker that takes games but cannot run them (while games wait,
    every :data:`WORKER_CHECK_EVERY` s)."""

    def __init__(
        self,
        batch_id: str,
        connection: redis.Redis | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batch_id = batch_id
        self.connection = connection
        self._clock = clock
        self._problems_shown: set[str] = set()
        self._told_of_more = False
        self._idle = False
        self._workers_warned: set[str] = set()
        self._next_worker_check = clock()
        self._cap_told = False

    def check(self, progress: BatchProgress) -> list[Text]:
        lines = [enforce_budget(progress, self.connection), self._cap_reached(progress)]
        lines += self._problems(progress)
        lines.append(self._idle_note(progress))
        lines += self._cannot_run(progress)
        return [safe_text(line) for line in lines if line]

    def _problems(self, progress: BatchProgress) -> list[str]:
        ended_badly = progress.failed + progress.void
        if ended_badly <= len(self._problems_shown) or self._told_of_more:
            return []
        lines = []
        for game_id, status, error in batch_problems(self.batch_id, PROBLEMS_SHOWN):
            if game_id not in self._problems_shown:
                self._problems_shown.add(game_id)
                lines.append(problem_line(game_id, status, error))
        if ended_badly > PROBLEMS_SHOWN:
            self._told_of_more = True
            lines.append(f"more failed or void games: see /batches/{self.batch_id} on the web")
        return lines

    def _cap_reached(self, progress: BatchProgress) -> str:
        """Once: the spending cap that stopped a game (its first game cancelled with a
        reason); the games after it end the same way."""
        if self._cap_told or not progress.cancelled:
            return ""
        reason = first_cancel_reason(self.batch_id)
        if reason is None:
            return ""
        self._cap_told = True
        return f"spending cap reached: {reason}; games it stops end cancelled"

    def _idle_note(self, progress: BatchProgress) -> str:
        """A hint when games wait and no worker exists to take them (once a spell)."""
        idle = (
            self.connection is not None
            and progress.queued > 0
            and registered_worker_count(self.connection) == 0
        )
        said, self._idle = self._idle, idle
        return (
            f"no worker is running: start one with `{WORKER_COMMAND}`" if idle and not said else ""
        )

    def _cannot_run(self, progress: BatchProgress) -> list[str]:
        if (
            self.connection is None
            or progress.queued == 0
            or self._clock() < self._next_worker_check
        ):
            return []
        self._next_worker_check = self._clock() + WORKER_CHECK_EVERY
        found = {w: games for w, games in cannot_run(self.connection).items()
                 if w not in self._workers_warned}  # fmt: skip
        self._workers_warned |= set(found)
        return cannot_run_warnings(found)


def problem_line(game_id: str, status: str, error: str | None) -> str:
    """``game ID failed: REASON`` on one line, however the reason was written."""
    reason = one_line(error or "no reason recorded", PROBLEM_REASON_CHARS)
    return f"game {game_id} {status}: {reason}"


def summary(progress: BatchProgress) -> dict[str, Any]:
    """The end of a batch in numbers: counts, wall time, games per minute and cost,
    and its first failed or void games with their reasons. Time runs from the first
    game's start to the last game's end."""
    first, last = batch_timespan(progress.batch_id)
    seconds = (last - first).total_seconds() if first and last else None
    played = progress.completed + progress.failed + progress.void
    rate = played / seconds * 60 if seconds and played else None
    return {
        **progress.to_dict(),
        "seconds": round(seconds, 3) if seconds is not None else None,
        "games_per_minute": round(rate, 1) if rate is not None else None,
        "problems": [
            {"game_id": game_id, "status": status, "error": error}
            for game_id, status, error in batch_problems(progress.batch_id, PROBLEMS_SHOWN)
        ]
        if progress.failed or progress.void
        else [],
    }


def summary_line(progress: BatchProgress) -> str:
    """E.g. ``batch 1a2b3c4d finished: 50 completed, 0 void, 0 failed, 0 cancelled
    in 12.3 s (243.9 games/min), cost $0.0000``."""
    facts = summary(progress)
    line = (
        f"batch {progress.batch_id} {progress.status if progress.finished else 'in progress'}: "
        f"{progress.completed} completed, {progress.void} void, {progress.failed} failed, "
        f"{progress.cancelled} cancelled"
    )
    if facts["seconds"] is not None:
        line += f" in {facts['seconds']:.1f} s"
    if facts["games_per_minute"] is not None:
        line += f" ({facts['games_per_minute']} games/min)"
    return f"{line}, cost ${progress.cost:.4f}"
