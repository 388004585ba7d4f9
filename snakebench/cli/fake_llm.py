"""``snakebench fake-llm``: the offline stand-in for LLM providers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from snakebench.cli.app import fail
from snakebench.fakellm.catalogue import load_catalogue
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import check_loopback, serve_forever
from snakebench.players.bots import BOT_NAMES


def fake_llm(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    latency_ms: Annotated[float, typer.Option(min=0, help="Delay per reply.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(min=0, help="Random extra delay, up to.")] = 0.0,
    error_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of 500s.")] = 0.0,
    rate_limit_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of 429s with Retry-After.")
    ] = 0.0,
    retry_after: Annotated[float, typer.Option(min=0, help="Retry-After seconds on 429s.")] = 1.0,
    timeout_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests that hang.")
    ] = 0.0,
    hang_seconds: Annotated[float, typer.Option(min=0, help="How long a hang lasts.")] = 60.0,
    malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of replies with no valid move.")
    ] = 0.0,
    strategy: Annotated[
        str,
        typer.Option(
            help=f"Bot it plays: {', '.join(BOT_NAMES)}; a model named .../BOT "
            "(e.g. fake/survivor) plays BOT instead."
        ),
    ] = "greedy",
    seed: Annotated[int, typer.Option(help="Seeds faults, jitter and tie-breaks.")] = 0,
    max_concurrency: Annotated[
        int, typer.Option(min=0, help="Requests in flight past which it answers 429 (0: no cap).")
    ] = 0,
    max_rpm: Annotated[
        int, typer.Option(min=0, help="Requests per minute past which it answers 429 (0: no cap).")
    ] = 0,
    catalogue: Annotated[
        Path | None,
        typer.Option(help="JSON file GET /api/v1/models serves (default: a built-in one)."),
    ] = None,
) -> None:
    """Serve the OpenAI Chat Completions, OpenAI Responses and Anthropic Messages APIs
    on loopback, answering each SnakeBench prompt with a bot's move (with reasoning
    tokens and text when asked, and OpenRouter's usage cost), and faults on request.

    Point a model at it with --base-url http://127.0.0.1:PORT/v1 (every OpenAI-compatible
    provider) or http://127.0.0.1:PORT (anthropic) and any key. GET /stats counts what
    it sent and the OpenRouter attribution headers it received; GET /api/v1/models lists
    models in OpenRouter's shape (for models sync). With --max-concurrency / --max-rpm it
    keeps a real provider's limits (429 past them) and /stats reports the peak concurrency
    it saw.
    """
    rates = error_rate + rate_limit_rate + timeout_rate + malformed_rate
    if rates > 1:
        raise typer.BadParameter(f"the four fault rates add up to {rates:g}; at most 1")
    try:
        check_loopback(host)
        options = FakeOptions(
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            timeout_rate=timeout_rate,
            malformed_rate=malformed_rate,
            strategy=strategy,
            seed=seed,
            catalogue=None if catalogue is None else load_catalogue(catalogue),
            retry_after=retry_after,
            hang_seconds=hang_seconds,
            max_concurrency=max_concurrency,
            max_rpm=max_rpm,
        )
    except ValueError as exc:  # an unknown strategy, a host off loopback, a bad catalogue
        raise typer.BadParameter(str(exc)) from None
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the way to stop it
            serve_forever(options, host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None
