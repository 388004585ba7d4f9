"""The spending folder's fake provider, serving a model priced so that a few calls fill
a small cap; its store and Redis are the root conftest's (a fresh SQLite file per test,
the session's database of the machine's Redis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.store import upsert_model

# USD per million tokens: a move's prompt (~1-2 kB) costs about a cent in.
PRICE_IN, PRICE_OUT = 5.0, 20.0
MAX_OUT = 100  # the output cap every request carries: the worst case's other half


@pytest.fixture
def llm(store: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """The fake provider and two priced models on it: ``fake-a`` and ``fake-b``."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    with FakeLLMServer(FakeOptions(strategy="survivor", seed=4)) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug="fake/survivor",
                         base_url=f"{server.url}/v1", price_input_per_m=PRICE_IN,
                         price_output_per_m=PRICE_OUT,
                         max_completion_tokens=MAX_OUT)  # fmt: skip
        yield server


def answered(server: FakeLLMServer) -> int:
    """Requests the fake provider answered with a reply (and so billed)."""
    total = server.stats()["total"]
    return int(total["ok"]) + int(total["malformed"])
