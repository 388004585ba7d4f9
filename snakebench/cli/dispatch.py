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
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import redis
import typer

from snakebench.cli import dispatch_ops
from snakebench.cli.app import App, err, fail, guarded
from snakebench.cli.dispatch_ops import finish, line_up, models_of, out, watch_to_end
from snakebench.cli.monitor import BatchView, watch
from snakebench.queueing import QUEUE_NAMES, QueueError, connect_redis
from snakebench.services.batches import (
    BatchError,
    BatchSpec,
    batch_progress,
    cancel_batch,
    create_batch_games,
    enqueue_batch,
    run_batch_sync,
)
from snakebench.services.budget import BudgetError
from snakebench.store import (
    BOT_MODELS,
    Batch,
    UnknownBatchError,
    UnknownModelError,
    open_store,
    store_exists,
)

F = TypeVar("F", bound=Callable[..., Any])


class DispatchError(ValueError):
    """Bad command-line input that Typer cannot catch itself (e.g. a malformed --in)."""


# Reported as one line with exit status 2, besides the errors App already reports so.
DISPATCH_ERRORS: tuple[type[Exception], ...] = (
    BatchError,
    BudgetError,
    DispatchError,
    QueueError,
    UnknownBatchError,
)


def reported(func: F) -> F:
    """``func`` reporting :data:`DISPATCH_ERRORS` as one line, exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DISPATCH_ERRORS as exc:
            raise fail(" ".join(str(exc).split())) from None

    return wrapper  # type: ignore[return-value]


class DispatchApp(App):
    """:class:`App` that also reports dispatch's own errors as one line, and guards the
    default command (a Typer callback) like the subcommands."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(reported(func))
            return func

        return decorator

    def default(self, func: F) -> F:
        self.callback(invoke_without_command=True)(guarded(reported(func)))
        return func


app = DispatchApp(
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
        raise DispatchError("give --at or --in, not both")
    if delay is not None:
        text = delay.strip().lower()
        if not text or _DURATION.sub("", text):
            raise DispatchError(f"--in {delay!r}: use a number and s, m, h or d, e.g. 10m")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
        return now + timedelta(seconds=seconds)
    if at is None:
        return None
    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError:
        raise DispatchError(f"--at {at!r} is not an ISO 8601 time, e.g. 2026-05-01T09:30") from None
    when = when.astimezone(UTC)  # a naive time is local time
    if when < now - timedelta(minutes=1):
        raise DispatchError(f"--at {at!r} is in the past")
    return when


@app.default
def submit(
    ctx: typer.Context,
    model_a: Annotated[
        str | None, typer.Option("--model-a", "--model_a", help="Snake 0's model.")
    ] = None,
    model_b: Annotated[
        str | None, typer.Option("--model-b", "--model_b", help="Snake 1's model.")
    ] = None,
    count: Annotated[int, typer.Option(help="Games to play (with --mirror: an even number).")] = 10,
    width: Annotated[int, typer.Option(help="Board width.")] = 10,
    height: Annotated[int, typer.Option(help="Board height.")] = 10,
    max_rounds: Annotated[
        int, typer.Option("--max-rounds", "--max_rounds", help="Rounds before a game ends.")
    ] = 100,
    num_apples: Annotated[
        int, typer.Option("--num-apples", "--num_apples", help="Apples kept on the board.")
    ] = 5,
    apple_target: Annotated[
        int, typer.Option("--apple-target", "--apple_target", help="Apples that win at once.")
    ] = 30,
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
    double_death: Annotated[
        str, typer.Option("--double-death", help="Both snakes die: 'score' or 'tie'.")
    ] = "score",
    invalid_move_policy: Annotated[
        str, typer.Option("--invalid-move-policy", help="No valid move: 'random' or 'forfeit'.")
    ] = "random",
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
    if ctx.invoked_subcommand is not None:
        return
    if not (model_a and model_b):
        raise DispatchError("two models are needed: --model-a NAME --model-b NAME")
    if sync and (local or at or in_):
        raise DispatchError("--sync plays now, in this process: not with --local, --at or --in")
    spec = BatchSpec(
        model_a=model_a, model_b=model_b, count=count, width=width, height=height,
        max_rounds=max_rounds, num_apples=num_apples, apple_target=apple_target, seed=seed,
        mirror=mirror, priority=priority, max_cost=max_cost, name=name,
        double_death=double_death, invalid_move_policy=invalid_move_policy,
    )  # fmt: skip
    when = parse_when(at, in_)
    submission = Submission(
        (model_a, model_b), functools.partial(create_batch_games, spec, force=force)
    )
    run_submission(submission, when, sync=sync, local=local, monitor=monitor, workers=workers,
                   as_json=as_json)  # fmt: skip


@dataclass(frozen=True)
class Submission:
    """A batch to submit: the names of its models (checked before a database is
    created) and ``create``, which validates and writes it (games ``queued``, nothing
    in Redis). Tournaments submit through the same modes with their own ``create``."""

    models: Sequence[str]
    create: Callable[[], Batch]
    # Once the batch is over (watched, --sync, --local): its results as JSON-ready
    # facts, added to the final JSON under "results", and how to print them as text.
    results: Callable[[str], dict[str, Any]] | None = None
    show: Callable[[dict[str, Any]], None] | None = None


def run_submission(
    submission: Submission, when: datetime | None = None, *, sync: bool = False,
    local: bool = False, monitor: bool = False, workers: int = 2, as_json: bool = False,
) -> str:  # fmt: skip
    """Submit as ``--sync``, ``--local`` or to Redis (watched with ``monitor``), print
    the report, and return the batch id (exits 1 if a watched game failed)."""
    if sync:
        return _submit_sync(submission, as_json=as_json)
    if local:
        return _submit_local(submission, when, workers=workers, as_json=as_json)
    return _submit_queued(submission, when, monitor=monitor, as_json=as_json)


def _open_store_for(models: Sequence[str]) -> None:
    """Open the store, unless the models cannot be in it: a directory with no database
    yet knows only the bots, and bad input must not leave an empty database behind."""
    if not store_exists():
        for model in models:
            if model not in BOT_MODELS:
                raise UnknownModelError(model, BOT_MODELS)
    open_store()


def _submit_queued(
    submission: Submission, when: datetime | None, *, monitor: bool, as_json: bool
) -> str:
    connection = connect_redis()  # unreachable Redis: refused before anything is written
    _open_store_for(submission.models)
    report = _submit(submission, connection, when)
    if not (monitor and as_json):  # with both, one JSON document at the end
        _print_submitted(report, as_json)
    if monitor:
        finish(watch_to_end(report["batch_id"], connection), as_json, report, submission)
    return str(report["batch_id"])


def _submit(
    submission: Submission, connection: redis.Redis, when: datetime | None
) -> dict[str, Any]:
    """:func:`submit_batch`, reporting how many jobs were really enqueued."""
    batch = submission.create()
    return _submitted(batch, when, enqueue_batch(batch.id, connection, at=when))


def _submitted(batch: Batch, when: datetime | None, enqueued: int) -> dict[str, Any]:
    params = batch.params or {}
    return {
        "batch_id": batch.id,
        "games": batch.total_games,
        "enqueued": enqueued,
        "models": models_of(params),
        "mirror": params.get("mirror"),
        "seed": params.get("seed"),
        "priority": params.get("priority"),
        "queue": QUEUE_NAMES.get(str(params.get("priority")), None),
        "scheduled_for": when.isoformat() if when else None,
        "estimated_cost": params.get("estimated_cost"),
        "max_cost": batch.max_cost,
    }


def _print_submitted(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report))
        return
    line = f"batch {report['batch_id']}: {report['games']} games, {line_up(report['models'])}"
    line += " (mirrored)" if report["mirror"] else ""
    line += f", on queue {report['queue']}"
    if report["scheduled_for"]:
        line += f", scheduled for {report['scheduled_for']}"
    line += f"; at most ${report['estimated_cost']:.2f}"
    out.print(line)
    err.print(f"watch it: python -m snakebench.dispatch monitor {report['batch_id']}")


def _submit_sync(submission: Submission, *, as_json: bool) -> str:
    """Create the batch and play it here, game after game (no Redis, no workers)."""
    _open_store_for(submission.models)
    batch = submission.create()
    report = _submitted(batch, None, 0)
    try:
        with BatchView(batch_progress(batch.id), err) as view:
            final = run_batch_sync(
                batch.id, on_game=lambda _: view.update(batch_progress(batch.id))
            )
    except KeyboardInterrupt:
        cancelled = cancel_batch(batch.id, None)
        err.print(f"interrupted: {cancelled} games of batch {batch.id} cancelled")
        raise typer.Exit(130) from None
    finish(final, as_json, report, submission)
    return batch.id


def _submit_local(
    submission: Submission, when: datetime | None, *, workers: int, as_json: bool
) -> str:
    """Start a private Redis and ``workers`` workers, run the batch on them to the end,
    stop everything, and print a summary. Ctrl+C cancels what is left: with the stack
    gone, nothing would play it."""
    from snakebench.localstack.stack import LocalStack, LocalStackError  # lazily: starts processes

    _open_store_for(submission.models)
    try:
        with LocalStack(workers=workers) as stack:
            connection = connect_redis(stack.redis_url)
            report = _submit(submission, connection, when)
            try:
                final = watch(report["batch_id"], connection, console=err)
            except KeyboardInterrupt:
                cancelled = cancel_batch(report["batch_id"], connection)
                err.print(f"interrupted: {cancelled} games cancelled; local stack stopped")
                raise typer.Exit(130) from None
    except LocalStackError as exc:
        raise DispatchError(str(exc)) from None
    finish(final, as_json, report, submission)
    return str(report["batch_id"])


def main() -> None:
    app(prog_name="python -m snakebench.dispatch")


if __name__ == "__main__":
    main()
