"""The spending folder's fake provider, serving a model priced so that a few calls fill
a small cap; its store and Redis are the root conftest's (a fresh SQLite file per test,
or a fresh SQLite and PostgreSQL store with ``llm_any``; the session's database of the
machine's Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.store import upsert_model

from ..conftest import StoreEnv

# USD per million tokens: a move's prompt (~1-2 kB) costs about a cent in.
PRICE_IN, PRICE_OUT = 5.0, 20.0
MAX_OUT = 100  # the output cap every request carries: the worst case's other half


@contextmanager
def priced_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """The fake provider and two priced models on it, ``fake-a`` and ``fake-b``, in the
    store already open."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    with FakeLLMServer(FakeOptions(strategy="survivor", seed=4)) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug="fake/survivor",
                         base_url=f"{server.url}/v1", price_input_per_m=PRICE_IN,
                         price_output_per_m=PRICE_OUT,
                         max_completion_tokens=MAX_OUT)  # fmt: skip
        yield server


@pytest.fixture
def llm(store: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """:func:`priced_provider` over the SQLite store."""
    with priced_provider(monkeypatch) as server:
        yield server


@pytest.fixture
def any_store(any_database_url: str, redis_db_url: str, store_env: StoreEnv) -> Settings:
    """A fresh store, once SQLite and once PostgreSQL."""
    return store_env(any_database_url, redis_db_url)


@pytest.fixture
def llm_any(any_store: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """:func:`priced_provider` over :func:`any_store`."""
    with priced_provider(monkeypatch) as server:
        yield server


def answered(server: FakeLLMServer) -> int:
    """Requests the fake provider answered with a reply (and so billed)."""
    total = server.stats()["total"]
    return int(total["ok"]) + int(total["malformed"])
