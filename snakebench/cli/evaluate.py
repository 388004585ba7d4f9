"""``snakebench evaluate``: place models on the ladder (see :mod:`snakebench.services.evaluation`).

One command, its mode chosen by flags, because the issue fixes the shapes
``evaluate MODEL`` and ``evaluate --queue MODEL...``: a Typer group with a ``MODEL``
argument on its callback would swallow subcommand names (a model called ``status``),
while flags keep every model name usable::

    snakebench evaluate MODEL [--games 10] [--sync | --local] [--monitor] [--json]
                        [--tactic price-band|rematch|climb ...]
    snakebench evaluate --queue MODEL...          # several ladders on the same workers
    snakebench evaluate --status [MODEL...]       # list evaluations
    snakebench evaluate --resume [MODEL...]       # re-drive live ladders (lost callback;
                                                  # --sync ones only when named)
    snakebench evaluate --cancel MODEL...         # stop live ladders (running games too)
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Annotated, Any

import redis
import typer

from snakebench.cli.app import err
from snakebench.cli.options import game_options
from snakebench.cli.terminal import SafeConsole
from snakebench.cli.webhooks import WebhookOption, submission_webhook
from snakebench.games.simulation import GameParams
from snakebench.localstack.stack import LocalStack
from snakebench.options import DEFAULTS, GameOptions
from snakebench.queueing import WORKER_COMMAND, QueueError, connect_redis
from snakebench.services.batches import MAX_SEED
from snakebench.services.evaluation import (
    EvaluationError,
    advance,
    cancel_evaluation,
    checked_tactics,
    get_evaluation,
    live_evaluations,
    run_sync,
    start_evaluation,
)
from snakebench.store import (
    BOT_MODELS,
    Batch,
    Evaluation,
    Model,
    UnknownModelError,
    open_store,
    store_exists,
)
from snakebench.store.webhook_queries import set_batch_webhook

out = SafeConsole(soft_wrap=True)
POLL_SECONDS = 1.0  # how often --monitor re-reads the evaluations (the ladder itself never polls)


@game_options()
def evaluate(
    models: Annotated[
        list[str] | None, typer.Argument(help="Model name(s).", show_default=False)
    ] = None,
    games: Annotated[int, typer.Option(help="Completed games to place the model on.")] = 10,
    queue: Annotated[
        bool, typer.Option("--queue", help="Evaluate several models; the workers share them.")
    ] = False,
    status: Annotated[bool, typer.Option("--status", help="List evaluations (of MODELs).")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Re-enqueue live ladders that lost their next game.")
    ] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel MODELs' evaluations.")] = False,
    sync: Annotated[bool, typer.Option("--sync", help="Play in this process, no Redis.")] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Start a private Redis and workers for this.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Workers for --local.")] = 2,
    monitor: Annotated[bool, typer.Option("--monitor", help="Watch to the end.")] = False,
    options: GameOptions = DEFAULTS,  # each game option (snakebench.cli.options)
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_SEED,
            help="Game n of the ladder gets seed + n (reproducible boards). Else random.",
        ),
    ] = None,
    priority: Annotated[str, typer.Option(help="Queue: high, normal or low.")] = "normal",
    tactic: Annotated[
        list[str] | None,
        typer.Option(
            "--tactic",
            help="price-band (start among models priced within 4x), rematch (after a "
            "loss by one apple at most), climb (after a win, the next model up); repeatable.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    webhook: WebhookOption = None,
) -> None:
    """Place a model on the ladder: N games, each opponent the rated model closest to
    its rating (weighted by uncertainty), chosen when the previous game ends.

    The model's test status goes untested -> testing -> ranked. Exit status 1 if an
    evaluation watched to its end failed.
    """
    names = list(models or [])
    if sum((status, resume, cancel)) > 1:
        raise EvaluationError("give one of --status, --resume, --cancel")
    if status:
        return _status(names, as_json)
    if resume or cancel:
        return _resume(names, as_json) if resume else _cancel(names, as_json)
    hook = submission_webhook(webhook, sync=sync)
    tactics = checked_tactics(tactic or ())
    _check_start(names, games=games, queue=queue, sync=sync, local=local, priority=priority)
    params = GameParams(**asdict(options), seed=seed)
    start = functools.partial(_start_all, names, games, params, tactics=tactics, webhook=hook)
    if sync:
        return _run_sync(start, as_json)
    if local:
        return _run_local(start, workers, priority, as_json)
    _run_queued(start, priority, monitor, as_json)


def _check_start(
    names: list[str], *, games: int, queue: bool, sync: bool, local: bool, priority: str
) -> None:
    if not names:
        raise EvaluationError("name a model: snakebench evaluate MODEL")
    if len(names) > 1 and not queue:
        raise EvaluationError("several models: use snakebench evaluate --queue MODEL...")
    if len(set(names)) < len(names):
        raise EvaluationError("a model is named twice")
    if games < 1:
        raise EvaluationError(f"--games must be at least 1, got {games}")
    if sync and local:
        raise EvaluationError("give --sync or --local, not both")
    if priority not in ("high", "normal", "low"):
        raise EvaluationError(f"priority must be high, normal or low, not {priority!r}")
    if not store_exists():  # a new directory knows only the bots; leave no empty db behind
        for name in names:
            if name not in BOT_MODELS:
                raise UnknownModelError(name, BOT_MODELS)
    open_store()


def _start_all(
    names: Sequence[str],
    games: int,
    params: GameParams,
    priority: str,
    *,
    sync: bool = False,
    tactics: Sequence[str] = (),
    webhook: str | None = None,
) -> list[Evaluation]:
    """Start one evaluation per model, all or nothing: if one is refused, those this
    command already started are cancelled again. ``webhook``: each one's batch's own
    URL (docs/WEBHOOKS.md), set before its first game exists."""
    started: list[Evaluation] = []
    try:
        for name in names:
            ev = start_evaluation(
                name, games, params=params, priority=priority, sync=sync, tactics=tactics
            )
            started.append(ev)
            if webhook is not None:
                set_batch_webhook(str(ev.batch_id), webhook)
    except Exception:
        for ev in started:
            cancel_evaluation(ev.id)
        raise
    return started


# What starts the command's evaluations: _start_all with the models, games, rules and
# tactics already given; the mode adds the priority (and sync).
Start = Callable[..., list[Evaluation]]


def _run_queued(start: Start, priority: str, monitor: bool, as_json: bool) -> None:
    connection = connect_redis()  # unreachable Redis: refused before anything is written
    evaluations = start(priority)
    for ev in evaluations:
        advance(ev.id, connection)
    if monitor:
        _finish(_watch([ev.id for ev in evaluations]), as_json)
        return
    _print(evaluations, as_json)
    if not as_json:
        err.print("watch it: snakebench evaluate --status; workers: " + WORKER_COMMAND)


def _run_local(start: Start, workers: int, priority: str, as_json: bool) -> None:
    """Start a private Redis and workers, run the ladders on them to the end, stop all.
    Ctrl+C cancels what is left: with the stack gone, nothing would play it."""
    with LocalStack(workers=workers) as stack:
        connection = connect_redis(stack.redis_url)
        evaluations = start(priority)
        for ev in evaluations:
            advance(ev.id, connection)
        try:
            final = _watch([ev.id for ev in evaluations])
        except KeyboardInterrupt:
            for ev in evaluations:
                cancel_evaluation(ev.id, connection)
            err.print("interrupted: evaluations cancelled; local stack stopped")
            raise typer.Exit(130) from None
    _finish(final, as_json)


def _run_sync(start: Start, as_json: bool) -> None:
    evaluations = start("normal", sync=True)
    final: list[dict[str, Any]] = []
    for ev in evaluations:
        try:
            done = run_sync(ev.id, on_game=functools.partial(_game_line, ev.id))
        except KeyboardInterrupt:
            for left in evaluations:
                cancel_evaluation(left.id)
            err.print("interrupted: evaluations cancelled")
            raise typer.Exit(130) from None
        final.append(describe(done))
    _finish(final, as_json)


def _game_line(evaluation_id: int, summary: dict[str, Any]) -> None:
    facts = describe(get_evaluation(evaluation_id))
    err.print(
        f"{facts['model']}: game {facts['games_started']} {summary['status']}; "
        f"{facts['completed']}/{facts['games_target']} completed, "
        f"mu {facts['mu']:.2f} sigma {facts['sigma']:.2f}"
    )


def _watch(ids: list[int]) -> list[dict[str, Any]]:
    """Re-read the evaluations every second, printing each change, until all are over.
    Only the watching polls; the ladder moves on by the jobs' callbacks."""
    seen: dict[int, tuple[Any, ...]] = {}
    while True:
        facts = [describe(get_evaluation(i)) for i in ids]
        for f in facts:
            key = (f["status"], f["games_started"], f["completed"], f["void"], f["failed"])
            if seen.get(f["evaluation_id"]) != key:
                seen[f["evaluation_id"]] = key
                err.print(_line(f))
        if all(f["status"] not in ("queued", "running") for f in facts):
            return facts
        time.sleep(POLL_SECONDS)


def _line(f: dict[str, Any]) -> str:
    line = (
        f"evaluation {f['evaluation_id']} {f['model']}: {f['status']}, "
        f"{f['completed']}/{f['games_target']} completed ({f['games_started']} started, "
        f"{f['void']} void, {f['failed']} failed); mu {f['mu']:.2f} sigma {f['sigma']:.2f} "
        f"({f['test_status']})"
    )
    return line + (f"; {f['error']}" if f["error"] else "")


def _finish(facts: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({"evaluations": facts}))
    else:
        for f in facts:
            out.print(_line(f))
    if any(f["status"] == "failed" for f in facts):
        raise typer.Exit(1)


def _print(evaluations: Sequence[Evaluation], as_json: bool) -> None:
    facts = [describe(get_evaluation(ev.id)) for ev in evaluations]
    if as_json:
        out.print_json(json.dumps({"evaluations": facts}))
        return
    for f in facts:
        out.print(f"evaluation {f['evaluation_id']}: {f['model']}, {f['games_target']} games "
                  f"(batch {f['batch_id']})")  # fmt: skip


def _status(names: list[str], as_json: bool) -> None:
    open_store()
    facts = list_evaluations(names)
    if as_json:
        out.print_json(json.dumps({"evaluations": facts}))
        return
    for f in facts:
        out.print(_line(f))
    if not facts:
        out.print("no evaluations yet")


def _resume(names: list[str], as_json: bool) -> None:
    connection = connect_redis()
    open_store()
    # A --sync ladder's game has no job by design (its own process plays it): taken
    # over only when its model is named.
    live = live_evaluations(names, with_sync=bool(names))
    steps = [advance(ev.id, connection) for ev in live]
    report: list[dict[str, Any]] = [
        {"evaluation_id": s.evaluation_id, "status": s.status, "enqueued": list(s.enqueued)}
        for s in steps
    ]
    if as_json:
        out.print_json(json.dumps({"resumed": report}))
        return
    for r in report:
        out.print(f"evaluation {r['evaluation_id']}: {r['status']}, {len(r['enqueued'])} enqueued")


def _cancel(names: list[str], as_json: bool) -> None:
    if not names:
        raise EvaluationError("name the model(s) whose evaluation to cancel")
    open_store()
    try:  # with Redis, queued jobs are dropped and running games stopped
        connection: redis.Redis | None = connect_redis()
    except QueueError as exc:
        connection = None
        err.print(f"{exc}: games already running play on to their end")
    live = live_evaluations(names)
    cancelled = {ev.id: cancel_evaluation(ev.id, connection) for ev in live}
    if as_json:
        out.print_json(json.dumps({"cancelled": [{"evaluation_id": i, "games": n}
                                                 for i, n in cancelled.items()]}))  # fmt: skip
        return
    out.print(f"cancelled {len(cancelled)} evaluations")


def list_evaluations(models: Sequence[str] = (), limit: int = 50) -> list[dict[str, Any]]:
    """The latest evaluations (of ``models`` if given), newest first, as :func:`describe`."""
    query = Evaluation.select(Evaluation, Model).join(Model)
    if models:
        query = query.where(Model.name.in_(list(models)))
    return [describe(ev) for ev in query.order_by(Evaluation.id.desc()).limit(limit)]


def describe(ev: Evaluation) -> dict[str, Any]:
    """An evaluation as JSON-ready facts: progress from its batch's counters, and the
    model's current rating and test status."""
    model = Model.get_by_id(ev.model_id)
    batch = Batch.get_or_none(Batch.id == ev.batch_id)
    return {
        "evaluation_id": ev.id,
        "model": model.name,
        "status": ev.status,
        "games_target": ev.games_target,
        "games_started": ev.games_started,
        "completed": batch.completed if batch else 0,
        "void": batch.void if batch else 0,
        "failed": batch.failed if batch else 0,
        "test_status": model.test_status,
        "mu": round(model.trueskill_mu, 3),
        "sigma": round(model.trueskill_sigma, 3),
        "exposed": round(model.trueskill_exposed, 3),
        "batch_id": ev.batch_id,
        "error": ev.error,
        "created_at": ev.created_at.isoformat(),
        "updated_at": ev.updated_at.isoformat(),
    }
