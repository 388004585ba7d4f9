"""Settings from the environment: defaults, bad values, and passwords kept out of errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snakebench.config import DEFAULT_API_DAILY_CAP, ConfigError, Settings, mask_url


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///snakebench.db"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.replay_dir == Path("replays")


def test_the_daily_cap_is_on_by_default_exactly_where_the_api_can_submit() -> None:
    assert Settings.from_env({}).daily_cap is None
    assert Settings.from_env({"SNAKEBENCH_API_TOKEN": "t"}).daily_cap == DEFAULT_API_DAILY_CAP
    assert (
        Settings.from_env({"SNAKEBENCH_API_TOKEN": "t", "SNAKEBENCH_DAILY_CAP": "off"}).daily_cap
        is None
    )
    assert Settings.from_env({"SNAKEBENCH_DAILY_CAP": "2.5"}).daily_cap == 2.5


def test_openrouter_attribution_settings() -> None:
    default = Settings.from_env({})
    assert (default.openrouter_referer, default.openrouter_title) == ("", "SnakeBench")
    chosen = Settings.from_env(
        {"SNAKEBENCH_OPENROUTER_REFERER": " https://bench.example/x ",
         "SNAKEBENCH_OPENROUTER_TITLE": "My Bench"}
    )  # fmt: skip
    assert (chosen.openrouter_referer, chosen.openrouter_title) == (
        "https://bench.example/x",
        "My Bench",
    )
    assert Settings.from_env({"SNAKEBENCH_OPENROUTER_TITLE": ""}).openrouter_title == ""


def test_videos_are_off_unless_switched_on() -> None:
    assert Settings.from_env({}).videos is False
    for raw, expected in (("1", True), ("On", True), ("yes", True), ("0", False), ("", False)):
        assert Settings.from_env({"SNAKEBENCH_VIDEOS": raw}).videos is expected
    with pytest.raises(ConfigError, match="SNAKEBENCH_VIDEOS='maybe' must be 1 or 0"):
        Settings.from_env({"SNAKEBENCH_VIDEOS": "maybe"})


def test_heroku_style_postgres_urls_are_accepted() -> None:
    for url in ("postgres://u:p@db.example:5432/app", "postgresql://u@localhost/app"):
        assert Settings.from_env({"DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://root:hunter2@db/x"}, "DATABASE_URL='mysql://root:***@db/x'"),
        ({"DATABASE_URL": "sqlite:///"}, "has no file path"),
        ({"SNAKEBENCH_MOVE_TIMEOUT": "soon"}, "SNAKEBENCH_MOVE_TIMEOUT='soon' is not a number"),
        ({"SNAKEBENCH_PROVIDER_RETRIES": "0"}, "must be above zero"),
        ({"SNAKEBENCH_MOVE_TIMEOUT": "nan"}, "SNAKEBENCH_MOVE_TIMEOUT='nan' is not a number"),
        ({"SNAKEBENCH_DAILY_CAP": "lots"}, "SNAKEBENCH_DAILY_CAP='lots' is not a number"),
        ({"SNAKEBENCH_DAILY_CAP": "-5"}, "SNAKEBENCH_DAILY_CAP='-5' must be above zero"),
        ({"SNAKEBENCH_OPENROUTER_REFERER": "bench.example"}, "is not an http:// or https:// URL"),
        ({"SNAKEBENCH_OPENROUTER_REFERER": "https://"}, "is not an http:// or https:// URL"),
        ({"SNAKEBENCH_OPENROUTER_TITLE": "Bench\r\nX-Evil: 1"}, "one line of printable ASCII"),
        ({"SNAKEBENCH_OPENROUTER_TITLE": "Bänch"}, "SNAKEBENCH_OPENROUTER_TITLE must be one line"),
        ({"SNAKEBENCH_OPENROUTER_TITLE": "x" * 201}, "at most 200 characters"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db"),
        ("postgres://u:hun@ter2@h/db", "postgres://u:***@h/db"),
        ("postgres://u:p@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("sqlite:///snakebench.db", "sqlite:///snakebench.db"),
        ("rediss://:token@redis.example:6380/0", "rediss://:***@redis.example:6380/0"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://", "names no host"),
        ("redis://:secret@/0", "names no host"),
        ("http://localhost:6379", "is not supported"),
        ("redis://host:port/0", "is not a valid URL"),
    ],
)
def test_redis_urls_without_a_usable_host_are_refused(url: str, message: str) -> None:
    """``redis://`` alone would quietly mean localhost: a typo must not send a batch to
    whatever Redis happens to run here."""
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env({"REDIS_URL": url})
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379/0", "rediss://:pw@h:6380/0?ssl_cert_reqs=none", "unix:///s"]
)
def test_usable_redis_urls_pass(url: str) -> None:
    assert Settings.from_env({"REDIS_URL": url}).redis_url == url


def test_the_deploy_buttons_defaults_are_settings_that_parse() -> None:
    """app.json's config vars (the Heroku button) as a new deployment gets them: each
    SnakeBench one is read by Settings (or the web app's), and their defaults together
    start the app."""
    app = json.loads((Path(__file__).resolve().parents[1] / "app.json").read_text())
    ours = {k: v for k, v in app["env"].items() if k.startswith("SNAKEBENCH_")}
    package = Path(__file__).resolve().parents[1] / "snakebench"
    source = (package / "config.py").read_text() + (package / "web" / "config.py").read_text()
    assert [name for name in ours if f'"{name}"' not in source] == []
    defaults = {k: v["value"] for k, v in ours.items() if "value" in v}
    assert "SNAKEBENCH_PLACEMENT_EVERY" in defaults  # the scheduled sweeps ship off
    settings = Settings.from_env(defaults)
    assert (settings.placement_every, settings.stale_every, settings.videos) == (0, 0, False)
