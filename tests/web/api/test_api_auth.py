"""Token-only deployments: public reads, /rq and writes behind the token; binds."""

from __future__ import annotations

import base64

import pytest

from snakebench.config import ConfigError
from snakebench.web import WebConfig
from snakebench.web.auth import check_binds

from .conftest import BEARER, TOKEN, ApiClient, Filled


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_token_only_reads_are_public_but_the_dashboard_is_not(
    filled: Filled, api_client: ApiClient
) -> None:
    client = api_client()  # token, no password
    assert client.get("/api/games").status_code == 200
    assert client.get("/healthz").status_code == 200
    refused = client.get("/rq/")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/rq/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/rq/", headers=BEARER).status_code == 200
    assert client.get("/rq/", headers=basic("admin", TOKEN)).status_code == 200  # browsers
    assert client.get("/rq/", headers=basic("admin", "guess")).status_code == 401


def test_without_a_token_or_password_everything_reads(
    filled: Filled, api_client: ApiClient
) -> None:
    client = api_client(api_token=None)
    assert client.get("/rq/").status_code == 200
    assert client.get("/api/live").status_code == 200


def test_a_token_alone_allows_a_public_bind() -> None:
    check_binds(["0.0.0.0:8000"], WebConfig(api_token="t"))
    check_binds(["0.0.0.0:8000"], WebConfig(password="p"))
    with pytest.raises(ConfigError, match="SNAKEBENCH_API_TOKEN"):
        check_binds(["0.0.0.0:8000"], WebConfig())
