"""The API against its own OpenAPI document (schemathesis): no 5xx, and every answer
has a documented status, content type and shape. Seeded and bounded: seconds, not
minutes. GET routes run unauthenticated; POST runs with the token over a store whose
models exist (generated names mostly do not: those answers must be documented 422s)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from snakebench.web.openapi import openapi_document

from .conftest import BEARER, ApiClient, Filled

ORIGINAL_PATHS = (
    "/models",
    "/models/{name}",
    "/games",
    "/matches/top-apples",
    "/matches/{match_id}",
    "/stats",
    "/games/live",
    "/games/{game_id}/live",
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(client_app: Any, method: str, headers: dict[str, str] | None = None) -> int:
    """Run every ``method`` operation of the served document through hypothesis;
    returns how many operations ran. (Driven by hand rather than by schemathesis'
    pytest plugin, whose lazy fixture schemas do not work with this pytest.)"""
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", client_app)
    operations = [result.ok() for result in loaded.get_all_operations()]
    chosen = [op for op in operations if op.method.upper() == method]
    for operation in chosen:

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
    return len(chosen)


def test_reads_conform(filled: Filled, api_client: ApiClient) -> None:
    # every GET but the document itself, which schemathesis leaves out when loading it;
    # 9 of the API's own and 8 of the original's (/original/api)
    assert fuzz(api_client().application, "GET") == 17


def test_writes_conform(filled: Filled, api_client: ApiClient) -> None:
    assert fuzz(api_client().application, "POST", headers=BEARER) == 1


def test_the_document_is_served(filled: Filled, api_client: ApiClient) -> None:
    served = api_client().get("/api/openapi.json").json
    assert served == openapi_document()
    assert set(served["paths"]) == {
        "/api/openapi.json",
        "/api/batches",
        "/api/batches/{batch_id}",
        "/api/games",
        "/api/games/{game_id}",
        "/api/games/{game_id}/replay",
        "/api/leaderboard",
        "/api/models/{name}",
        "/api/live",
        "/api/live/{game_id}",
        *(f"/original/api{path}" for path in ORIGINAL_PATHS),
    }
