"""POST /api/batches: validation, auth, Redis down, and the jobs it enqueues."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue

from snakebench.queueing import SERIALIZER
from snakebench.store import Batch, batch_game_ids

from .conftest import BEARER, ApiClient, Filled

GOOD = {"model_a": "greedy", "model_b": "random", "count": 4, "max_rounds": 20, "seed": 9}


def post(client: FlaskClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/batches", json=body, headers=BEARER if headers is None else headers)


def test_submit_writes_and_enqueues(
    client: FlaskClient, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAKEBENCH_DAILY_CAP", "7")
    response = post(client, {**GOOD, "mirror": True, "priority": "high", "name": "api"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["total"] == 4 and body["estimated_cost"] == 0.0
    games = batch_game_ids(body["batch_id"])
    queue = Queue("games-high", connection=redis.Redis.from_url(redis_url), serializer=SERIALIZER)
    assert sorted(queue.job_ids) == sorted(games)
    batch = Batch.get_by_id(body["batch_id"])
    assert batch.name == "api" and batch.params["mirror"] is True
    assert batch.params["daily_cap"] == 7.0  # the web server's cap travels to the workers
    assert client.get(f"/api/batches/{body['batch_id']}").json["queued"] == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_a": None}, "model_a"),
        ({"model_a": 3}, "model_a"),
        ({"model_a": "nobody"}, "model_a"),
        ({"model_b": "nobody"}, "model_b"),
        ({"model_b": ""}, "model_b"),
        ({"count": 0}, "count"),
        ({"count": "4"}, "count"),
        ({"count": 4.0}, "count"),
        ({"count": True}, "count"),
        ({"count": 10_001}, "count"),
        ({"count": 3, "mirror": True}, "count"),
        ({"width": 1}, "width"),
        ({"height": 101}, "height"),
        ({"max_rounds": 0}, "max_rounds"),
        ({"num_apples": -1}, "num_apples"),
        ({"width": 2, "height": 2, "num_apples": 3}, "num_apples"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**63 - 1}, "seed"),
        ({"mirror": "yes"}, "mirror"),
        ({"priority": "urgent"}, "priority"),
        ({"max_cost": 0}, "max_cost"),
        ({"max_cost": "1"}, "max_cost"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"colour": "red"}, "colour"),  # no such field
        ({"apple_target": 0}, "apple_target"),
        ({"double_death": "maybe"}, "double_death"),
        ({"invalid_move_policy": "skip"}, "invalid_move_policy"),
        ({"webhook": "ftp://example.org/hook"}, "webhook"),
        ({"webhook": "example.org"}, "webhook"),
        ({"webhook": ""}, "webhook"),
        ({"webhook": 5}, "webhook"),
        ({"webhook": "http://" + "x" * 2000}, "webhook"),
    ],
)
def test_bad_fields_are_422(client: FlaskClient, change: dict[str, Any], field: str) -> None:
    body = {**GOOD, **change}
    if change.get("model_a", "") is None:
        del body["model_a"]
    response = post(client, body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert Batch.select().count() == 1  # only the fixture's: nothing written


def test_a_webhook_is_kept_on_the_batch_row_only(client: FlaskClient) -> None:
    url = "https://hooks.example.org/T0/B1/secret-token"
    response = post(client, {**GOOD, "webhook": url})
    assert response.status_code == 201, response.json
    batch = Batch.get_by_id(response.json["batch_id"])
    assert batch.webhook_url == url and "webhook" not in batch.params
    assert url not in client.get(f"/api/batches/{batch.id}").get_data(as_text=True)


def test_over_budget_is_422(client: FlaskClient, filled: Filled) -> None:
    from snakebench.store import upsert_model

    upsert_model("pricey", provider="openai", model_slug="gpt-x", price_input_per_m=100.0,
                 api_key_env="PRICEY_KEY")  # fmt: skip
    response = post(client, {**GOOD, "model_a": "pricey"})
    assert response.status_code == 422 and response.json["error"]["field"] == "model_a"  # no key
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRICEY_KEY", "x")
        over = post(client, {**GOOD, "model_a": "pricey", "max_cost": 0.01})
    assert over.status_code == 422 and over.json["error"]["field"] == "max_cost"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("a=b", "text/plain"),
        ("[" * 200_000 + "]" * 200_000, "application/json"),  # deeper than json can recurse
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "application/json"),
    ],
    ids=["not-json", "a-list", "not-json-type", "deep-list", "deep-object"],
)
def test_malformed_body_is_400(client: FlaskClient, data: str, content_type: str) -> None:
    response = client.post("/api/batches", data=data, content_type=content_type, headers=BEARER)
    assert response.status_code == 400 and response.json["error"]["message"]


def test_writes_need_the_token(client: FlaskClient) -> None:
    missing = post(client, GOOD, headers={})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(client, GOOD, headers={"Authorization": "Bearer wrong"}).status_code == 401
    basic = {"Authorization": "Basic YWRtaW46dG9rLWFwaS0xMjM="}  # admin:tok-api-123
    assert post(client, GOOD, headers=basic).status_code == 401


def test_writes_disabled_without_a_token(filled: Filled, api_client: ApiClient) -> None:
    response = post(api_client(api_token=None), GOOD)
    assert response.status_code == 403
    assert response.json["error"]["message"] == "writes are disabled: set SNAKEBENCH_API_TOKEN"


def test_writes_need_the_token_even_with_a_password(filled: Filled, api_client: ApiClient) -> None:
    client = api_client(password="pw")
    basic = {"Authorization": "Basic YWRtaW46cHc="}  # admin:pw
    assert post(client, GOOD, headers=basic).status_code == 401
    assert post(client, GOOD).status_code == 201
    assert client.get("/api/games", headers=basic).status_code == 200
    refused = client.get("/api/games")
    assert refused.status_code == 401 and refused.is_json


def test_redis_down_is_503_and_writes_nothing(filled: Filled, api_client: ApiClient) -> None:
    client = api_client(redis_url="redis://127.0.0.1:1/0")
    response = post(client, GOOD)
    assert response.status_code == 503 and response.json["error"]["message"]
    assert Batch.select().count() == 1
    # A request that could never succeed is still told so, not told to try again later.
    refused = post(client, {**GOOD, "model_b": "nobody"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "model_b"
    assert Batch.select().count() == 1


def test_redis_failing_after_the_write_is_503_naming_the_batch(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write happened, so the batch is kept (queued, the database being the truth)
    and the answer names it: reconciling enqueues it."""
    from snakebench.services import batches

    def lost(*args: Any, **kwargs: Any) -> int:
        raise redis.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(batches, "enqueue_batch", lost)
    response = post(client, GOOD)
    assert response.status_code == 503
    message = response.json["error"]["message"]
    written = Batch.select().order_by(Batch.created_at.desc()).first()
    assert message == f"batch {written.id} was written but Redis failed; reconcile enqueues it"
    assert len(batch_game_ids(written.id, ("queued",))) == written.total_games
