"""``python -m snakebench.dispatch``: run batches of games on RQ, and watch them.

Submitting is the default command::

    python -m snakebench.dispatch --model-a greedy --model-b random --count 50 --monitor

then ``monitor``, ``status``, ``health``, ``batches``, ``cancel``, ``retry``,
``reconcile`` and ``purge`` (:mod:`snakebench.cli.dispatch_ops`). Any stock ``rq worker
games`` plays the games; :data:`snakebench.queueing.WORKER_COMMAND` is the hardened,
preloaded one the docs recommend. ``--local`` starts a private Redis and workers for
one batch, ``--sync`` plays the batch in this process with no Redis at all.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from snakebench.cli import dispatch_ops
from snakebench.cli.app import App, UsageError, configure_command_logging
from snakebench.cli.options import game_options
from snakebench.cli.submission import Submission, run_submission
from snakebench.cli.webhooks import WebhookOption, submission_webhook
from snakebench.options import DEFAULTS, GameOptions
from snakebench.services.batches import (
    BatchSpec,
    prepare_batch,
)

app = App(
    help="Run batches of SnakeBench games on RQ workers and watch them.\n\n"
    "Submit (the default): python -m snakebench.dispatch --model-a greedy --model-b random "
    "--count 10 --monitor",
)
dispatch_ops.register(app)  # monitor, status, health, batches, cancel, retry, ...

# --- submit -------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(at: str | None, delay: str | None, now: datetime | None = None) -> datetime | None:
    """The UTC time games should start: ``--at`` (ISO 8601; local time when it has no
    offset) or ``--in`` (``90s``, ``10m``, ``2h``, ``1d``, ``1h30m``); None for now."""
    now = now or datetime.now(UTC)
    if at and delay:
        raise UsageError("give --at or --in, not both")
    if delay is not None:
        text = delay.strip().lower()
        if not text or _DURATION.sub("", text):
            raise UsageError(f"--in {delay!r}: use a number and s, m, h or d, e.g. 10m")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
        return now + timedelta(seconds=seconds)
    if at is None:
        return None
    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError:
        raise UsageError(f"--at {at!r} is not an ISO 8601 time, e.g. 2026-05-01T09:30") from None
    when = when.astimezone(UTC)  # a naive time is local time
    if when < now - timedelta(minutes=1):
        raise UsageError(f"--at {at!r} is in the past")
    return when


@app.default
@game_options()
def submit(
    ctx: typer.Context,
    model_a: Annotated[
        str | None, typer.Option("--model-a", "--model_a", help="Snake 0's model.")
    ] = None,
    model_b: Annotated[
        str | None, typer.Option("--model-b", "--model_b", help="Snake 1's model.")
    ] = None,
    count: Annotated[int, typer.Option(help="Games to play (with --mirror: an even number).")] = 10,
    options: GameOptions = DEFAULTS,  # each game option (snakebench.cli.options)
    seed: Annotated[
        int | None, typer.Option(help="Game i gets seed+i (pair i with --mirror); else random.")
    ] = None,
    mirror: Annotated[
        bool, typer.Option("--mirror", help="Play each seed twice, sides swapped.")
    ] = False,
    priority: Annotated[str, typer.Option(help="Queue: high, normal or low.")] = "normal",
    at: Annotated[
        str | None, typer.Option("--at", help="Start at this ISO 8601 time (local if no offset).")
    ] = None,
    in_: Annotated[str | None, typer.Option("--in", help="Start after 90s, 10m, 2h, 1d.")] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            "--max_cost",
            help="Budget in USD, a hard cap: no provider call is made that could pass it "
            "(a game it stops ends cancelled). Refused up front if the worst case is above, "
            "unless --force.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Dispatch though the worst case is over --max-cost.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A name for the batch.")] = None,
    webhook: WebhookOption = None,
    monitor: Annotated[bool, typer.Option("--monitor", help="Watch the batch to the end.")] = False,
    sync: Annotated[
        bool, typer.Option("--sync", help="Play the games in this process, no Redis.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Start a private Redis and workers for this batch.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Workers for --local.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Submit a batch (the default command): N games between two models, as RQ jobs."""
    configure_command_logging()  # python -m snakebench.dispatch has no snakebench root
    if ctx.invoked_subcommand is not None:
        return
    if not (model_a and model_b):
        raise UsageError("two models are needed: --model-a NAME --model-b NAME")
    if sync and (local or at or in_):
        raise UsageError("--sync plays now, in this process: not with --local, --at or --in")
    spec = BatchSpec(
        model_a, model_b, count=count, seed=seed, mirror=mirror, priority=priority,
        max_cost=max_cost, name=name, webhook=submission_webhook(webhook, sync=sync),
        **asdict(options),
    )  # fmt: skip
    when = parse_when(at, in_)
    submission = Submission((model_a, model_b), functools.partial(prepare_batch, spec, force=force))
    run_submission(submission, when, sync=sync, local=local, monitor=monitor, workers=workers,
                   as_json=as_json)  # fmt: skip


def main() -> None:
    app(prog_name="python -m snakebench.dispatch")


if __name__ == "__main__":
    main()
