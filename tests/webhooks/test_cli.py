"""``--webhook`` on every batch-submitting command, and ``snakebench webhooks``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import redis
from typer.testing import Result

from snakebench.config import Settings
from snakebench.services.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from snakebench.store import Batch, Evaluation
from snakebench.store.webhook_queries import record_webhook_event
from snakebench.testing.receiver import Receiver

Invoke = Callable[..., Result]
HOOK = "https://hooks.example.org/services/T0/B1/token"


@pytest.mark.parametrize(
    "args",
    [
        ["dispatch", "--model-a", "greedy", "--model-b", "random", "--count", "1"],
        ["tournament", "greedy", "random", "survivor"],
        ["evaluate", "greedy", "--games", "1"],
    ],
    ids=["dispatch", "tournament", "evaluate"],
)
def test_every_submitting_command_keeps_its_webhook_on_the_batch(
    args: list[str], cli: Invoke, store: Settings, real_redis: redis.Redis
) -> None:
    result = cli(*args, "--webhook", HOOK)
    assert result.exit_code == 0, result.output
    [batch] = Batch.select()
    assert batch.webhook_url == HOOK
    assert HOOK not in json.dumps(batch.params)  # params are shown; a hook URL may be a secret
    if args[0] == "evaluate":
        assert Evaluation.get().batch_id == batch.id


def test_webhooks_test_posts_a_signed_ping(
    cli: Invoke, store: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAKEBENCH_WEBHOOK_SECRET", "pingkey")
    result = cli("webhooks", "test", f"{receiver.url}/ping")
    assert result.exit_code == 0, result.output
    assert f"{receiver.url}/ping answered HTTP 200 (signed)" in result.stdout
    [ping] = receiver.wait_for(1)
    assert ping.payload["event"] == "ping"
    headers = {k.lower(): v for k, v in ping.headers.items()}
    stamp = headers[TIMESTAMP_HEADER.lower()]
    assert headers[SIGNATURE_HEADER.lower()] == signature("pingkey", stamp, ping.body)


def test_webhooks_test_reports_a_refusal_in_one_line(
    cli: Invoke, store: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [404]
    result = cli("webhooks", "test", f"{receiver.url}/nope")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {receiver.url}/nope: HTTP 404 Not Found"]


def test_webhooks_list(cli: Invoke, store: Settings) -> None:
    record_webhook_event("game.failed", "g-1", "http://h/", {"event": "game.failed"})
    rows = json.loads(cli("webhooks", "list", "--json").stdout)
    assert [(r["kind"], r["subject"], r["status"], r["attempts"]) for r in rows] == [
        ("game.failed", "g-1", "pending", 0)
    ]
    assert "http://h/" not in json.dumps(rows)  # the URL may hold a token
    assert "game.failed" in cli("webhooks", "list").stdout
