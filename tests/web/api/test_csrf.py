"""Changes only from this site's pages or from programs (snakebench.web.csrf): a page on
another origin cannot empty a queue through /rq or submit games through the API, even
with the browser's login, and nothing under /rq changes state on GET."""

from __future__ import annotations

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue
from rq.job_lifecycle import record_job_failure

from snakebench.queueing import SERIALIZER, enqueue_games

from .conftest import BEARER, ApiClient

EMPTY = "/rq/queue/games/queued/empty"
FORGED = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},  # a sandboxed frame, a file:// page
    {"Referer": "https://evil.example/page.html"},  # no Origin (older browsers)
    {"Origin": "http://localhost.evil.example"},
]


@pytest.fixture
def games(redis_url: str) -> Queue:
    connection = redis.Redis.from_url(redis_url)
    enqueue_games(["a", "b", "c"], max_rounds=10, connection=connection)
    return Queue("games", connection=connection, serializer=SERIALIZER)


@pytest.mark.parametrize("headers", FORGED, ids=lambda h: next(iter(h.values())))
def test_a_forged_change_is_refused_whoever_is_logged_in(
    api_client: ApiClient, games: Queue, headers: dict[str, str]
) -> None:
    client = api_client(password="pw")
    login = {"Authorization": "Basic YWRtaW46cHc="}  # admin:pw, as a browser remembers it
    refused = client.post(EMPTY, headers={**login, **headers})
    assert refused.status_code == 403 and "another site" in refused.json["error"]["message"]
    assert games.count == 3
    api = client.post("/api/batches", json={"model_a": "greedy", "model_b": "random"},
                      headers={**BEARER, **headers})  # fmt: skip
    assert api.status_code == 403
    assert client.get("/api/batches", headers=login).json == []  # nothing was submitted


def test_the_dashboards_own_page_and_programs_still_change_things(
    api_client: ApiClient, games: Queue
) -> None:
    client: FlaskClient = api_client()  # loopback, token set: /rq needs it
    same_site = {**BEARER, "Origin": "http://localhost", "Referer": "http://localhost/rq/"}
    assert client.post(EMPTY, headers=same_site).status_code == 200
    assert games.count == 0
    enqueue_games(["d"], max_rounds=10, connection=games.connection)
    assert client.post(EMPTY, headers=BEARER).status_code == 200  # curl: no Origin
    assert games.count == 0


def test_nothing_under_rq_changes_state_on_get(api_client: ApiClient, games: Queue) -> None:
    client = api_client()
    failed = games.failed_job_registry
    job = games.fetch_job("a")
    assert job is not None
    games.remove(job)
    with games.connection.pipeline() as pipe:
        record_job_failure(job, "boom", pipe)
        pipe.execute()
    answer = client.get("/rq/requeue/games", headers=BEARER)  # what an <img> would send
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    assert failed.get_job_ids(cleanup=False) == ["a"] and games.count == 2
    assert client.post("/rq/requeue/games", headers=BEARER).status_code == 200
    assert failed.get_job_ids(cleanup=False) == [] and games.count == 3
