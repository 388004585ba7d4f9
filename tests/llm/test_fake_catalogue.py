"""The fake provider's model catalogue (``GET /api/v1/models``): OpenRouter's shape,
entries that exercise every ``models sync`` filter, and ``--catalogue FILE``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import openai

from snakebench.fakellm.catalogue import BUILTIN_CATALOGUE
from snakebench.fakellm.server import FakeLLMServer, FakeOptions


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
        return json.load(reply)


def test_the_catalogue_has_openrouters_shape() -> None:
    """The fields a client of OpenRouter's /models reads, with their JSON types:
    prices per token as decimal strings, a nullable completion limit."""
    with FakeLLMServer() as server:
        served = get_json(f"{server.url}/api/v1/models")
        assert get_json(f"{server.url}/v1/models") == served
    assert served == BUILTIN_CATALOGUE and len(served["data"]) == 10
    for entry in served["data"]:
        assert isinstance(entry["id"], str) and isinstance(entry["name"], str)
        assert isinstance(entry["created"], int) and isinstance(entry["context_length"], int)
        assert {"prompt", "completion", "request", "image"} <= set(entry["pricing"])
        assert all(isinstance(price, str) for price in entry["pricing"].values())
        top = entry["top_provider"]
        assert set(top) == {"context_length", "max_completion_tokens", "is_moderated"}
        assert top["max_completion_tokens"] is None or isinstance(top["max_completion_tokens"], int)
        assert all(isinstance(p, str) for p in entry["supported_parameters"])
        assert {"input_modalities", "output_modalities", "tokenizer"} <= set(entry["architecture"])


def test_the_catalogue_covers_every_filter() -> None:
    def per_million(entry: dict[str, Any], which: str) -> float:
        return float(entry["pricing"][which]) * 1e6

    data = BUILTIN_CATALOGUE["data"]
    priced = [e for e in data if per_million(e, "prompt") > 0]
    assert any(per_million(e, "prompt") <= 0.2 for e in priced)  # cheap
    assert any(per_million(e, "prompt") > 11 for e in priced)  # over the original's ceiling
    assert any(e["pricing"]["prompt"] == e["pricing"]["completion"] == "0" for e in data)  # free
    assert any(e["pricing"]["prompt"] == "-1" for e in data)  # the auto router: price varies
    limits = [e["top_provider"]["max_completion_tokens"] for e in priced]
    assert any(limit is not None and limit < 5000 for limit in limits)  # small output limit
    assert None in limits  # no stated limit
    assert any("reasoning" in e["supported_parameters"] for e in priced)
    assert any("reasoning" not in e["supported_parameters"] for e in priced)
    assert any("tools" not in e["supported_parameters"] for e in priced)


def test_the_openai_sdk_lists_the_catalogue() -> None:
    with FakeLLMServer() as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        ids = [model.id for model in client.models.list()]
    assert ids == [entry["id"] for entry in BUILTIN_CATALOGUE["data"]]


def test_another_catalogue_is_served_as_it_is() -> None:
    odd = {"models": ["not", "openrouter's", "shape"]}
    with FakeLLMServer(FakeOptions(catalogue=odd)) as server:
        assert get_json(f"{server.url}/api/v1/models") == odd


def test_fake_llm_serves_a_catalogue_file(tmp_path: Path) -> None:
    catalogue = {"data": [BUILTIN_CATALOGUE["data"][0]]}
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(catalogue))
    script = Path(sys.executable).with_name("snakebench")
    proc = subprocess.Popen(
        [str(script), "fake-llm", "--port", "0", "--catalogue", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        assert get_json(f"{url}/api/v1/models") == catalogue
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
