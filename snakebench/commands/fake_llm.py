"""``snakebench fake-llm``: the offline stand-in for LLM providers."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from snakebench.players.bots import BOT_NAMES
from snakebench.providers.fake_faults import FakeOptions
from snakebench.providers.fake_server import serve_forever


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
    strategy: Annotated[str, typer.Option(help=f"Bot it plays: {', '.join(BOT_NAMES)}.")] = (
        "greedy"
    ),
    seed: Annotated[int, typer.Option(help="Seeds faults, jitter and tie-breaks.")] = 0,
) -> None:
    """Serve the OpenAI Chat Completions and Anthropic Messages APIs on loopback,
    answering each SnakeBench prompt with a bot's move, and faults on request.

    Point a model at it with --base-url http://127.0.0.1:PORT/v1 (openai) or
    http://127.0.0.1:PORT (anthropic) and any key. GET /stats counts what it sent.
    """
    if strategy not in BOT_NAMES:
        raise typer.BadParameter(f"must be one of {', '.join(BOT_NAMES)}", param_hint="--strategy")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise typer.BadParameter("the fake server listens on loopback only", param_hint="--host")
    options = FakeOptions(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        error_rate=error_rate,
        rate_limit_rate=rate_limit_rate,
        timeout_rate=timeout_rate,
        malformed_rate=malformed_rate,
        strategy=strategy,
        seed=seed,
        retry_after=retry_after,
        hang_seconds=hang_seconds,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the way to stop it
        serve_forever(options, host, port)
