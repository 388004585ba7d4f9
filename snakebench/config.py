"""Every setting SnakeBench reads from the environment, in one place.

Code takes a :class:`Settings` (usually :func:`get_settings`) instead of reading
``os.environ`` itself, so that tests can build one explicitly and so a bad value is
reported once, with the variable's name, instead of deep inside a job. The few other
modules that read the environment read what is not a setting of the whole app:

- :func:`snakebench.providers.registry.api_key_for`: a model's API key, from the
  variable its row names (chosen per model; keys are never stored);
- :meth:`snakebench.web.config.WebConfig.from_env`: the web app's own login, API token
  and secret key (the shared settings it takes from :meth:`Settings.from_env`);
- :mod:`snakebench.web.gunicorn_conf`: ``PORT``, ``SNAKEBENCH_WEB_HOST``,
  ``WEB_CONCURRENCY`` and ``GUNICORN_THREADS``, gunicorn's own settings;
- :mod:`snakebench.cli.app`: ``SNAKEBENCH_DEBUG``, which lets a command's unexpected
  error end with its traceback;
- :class:`snakebench.localstack.stack.LocalStack` hands the environment on to the
  processes it starts, reading nothing from it;
- :mod:`snakebench.testing.support` (test plumbing, not production): ``CI`` and the
  ``SNAKEBENCH_TEST_PG_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

N = TypeVar("N", int, float)

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_DATABASE_URL = "sqlite:///snakebench.db"
DEFAULT_REPLAY_DIR = "replays"
# USD all games together may spend per UTC day when the web API can submit games
# (SNAKEBENCH_API_TOKEN set) and SNAKEBENCH_DAILY_CAP does not say otherwise.
DEFAULT_API_DAILY_CAP = 20.0
# What OpenRouter's attribution headers say by default: the app's name as X-Title, and
# no HTTP-Referer (it must be a URL of yours; set SNAKEBENCH_OPENROUTER_REFERER).
DEFAULT_OPENROUTER_TITLE = "SnakeBench"
MAX_HEADER_CHARS = 200
# The placement ladder's optional tactics (snakebench.services.evaluation_opponents).
PLACEMENT_TACTICS = ("price-band", "rematch", "climb")
DEFAULT_PLACEMENT_BUDGET = 10.0  # USD one placement sweep may commit, at its worst case
DEFAULT_STALE_AFTER = 7200  # seconds a game nobody plays may stay queued or running


class ConfigError(ValueError):
    """A setting has a value SnakeBench cannot use; the message names the variable."""


DEFAULT_SENTINEL_MASTER = "mymaster"  # RQ's default MASTER_NAME, and redis.conf's examples'


@dataclass(frozen=True)
class SentinelSettings:
    """Redis behind Sentinel (docs/HA.md): where the Sentinels listen, the name they
    know the primary by, and the primary's database and password. Set, it replaces
    ``REDIS_URL``: every client asks a Sentinel for the current primary, so a failover
    moves them all to the promoted replica."""

    sentinels: tuple[tuple[str, int], ...]
    master: str = DEFAULT_SENTINEL_MASTER
    db: int = 0
    password: str | None = None

    def describe(self) -> str:
        """Where it points, for errors and logs (never the password)."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinel://{hosts}/{self.master}/{self.db}"


@dataclass(frozen=True)
class Settings:
    redis_url: str = DEFAULT_REDIS_URL
    # REDIS_SENTINELS: Redis behind Sentinel instead of at redis_url (None: at redis_url).
    redis_sentinel: SentinelSettings | None = None
    database_url: str = DEFAULT_DATABASE_URL
    replay_dir: Path = Path(DEFAULT_REPLAY_DIR)
    # Seconds one provider call may take before it counts as a timeout.
    move_timeout: float = 60.0
    # Attempts per move for transient provider failures (429, 5xx, timeouts).
    provider_retries: int = 4
    # First backoff delay in seconds; doubles per attempt, with jitter.
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    # Seconds one request may wait for a provider slot (request limits) before the game
    # gives up as void: a fleet that stays saturated this long needs fewer games at once.
    limit_wait: float = 900.0
    # Games one ThreadWorker process plays at once (snakebench.queueing.thread_worker).
    worker_threads: int = 16
    # Seconds between two reconcile runs of the Procfile's `cron` process (jobs.cron).
    reconcile_every: int = 300
    # USD every game on this server together may spend per UTC day; None: no cap.
    daily_cap: float | None = None
    # DEBUG, INFO, WARNING, ERROR or CRITICAL; None: the entry point's own default
    # (INFO for workers and the web server, WARNING for commands: snakebench.logs).
    log_level: str | None = None
    # OpenRouter's attribution headers (HTTP-Referer, X-Title); "" sends none.
    openrouter_referer: str = ""
    openrouter_title: str = DEFAULT_OPENROUTER_TITLE
    # Origins (scheme://host[:port]) whose pages may read /original/api (CORS); () none.
    original_cors_origins: tuple[str, ...] = ()
    # Scheduled placement (jobs.cron): seconds between two sweeps that start the
    # evaluation of untested models (0: off), the most their worst case may cost per
    # sweep (USD), how many models one sweep starts, the games each plays and the
    # ladder's tactics (PLACEMENT_TACTICS).
    placement_every: int = 0
    placement_budget: float = DEFAULT_PLACEMENT_BUDGET
    placement_max_models: int = 1
    placement_games: int = 10
    placement_tactics: tuple[str, ...] = ()
    # Stale-games sweep (jobs.cron): seconds between two (0: off), and the age after
    # which a queued or running game nobody plays is failed.
    stale_every: int = 0
    stale_after: int = DEFAULT_STALE_AFTER
    # Alerts (docs/WEBHOOKS.md): where every event is POSTed ("": only batches' own URLs),
    # the HMAC-SHA256 key of the signature header ("": unsigned), minutes without a live
    # worker before an alert (None: off), and the web UI's base URL for payload links.
    webhook_url: str = ""
    webhook_secret: str = ""
    alert_no_worker_minutes: float | None = None
    public_url: str = ""
    # SNAKEBENCH_VIDEOS=1: each completed game's MP4 is rendered by a job on games-low,
    # and the web renders a missing one on demand (snakebench.games.videos).
    videos: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        sentinel = _sentinel(env)
        return cls(
            redis_url=DEFAULT_REDIS_URL if sentinel else _redis_url(env),
            redis_sentinel=sentinel,
            database_url=_database_url(env.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
            replay_dir=Path(env.get("SNAKEBENCH_REPLAY_DIR", DEFAULT_REPLAY_DIR)),
            move_timeout=_positive_float(env, "SNAKEBENCH_MOVE_TIMEOUT", 60.0),
            provider_retries=int(_positive_float(env, "SNAKEBENCH_PROVIDER_RETRIES", 4)),
            retry_base_delay=_positive_float(env, "SNAKEBENCH_RETRY_BASE_DELAY", 1.0),
            retry_max_delay=_positive_float(env, "SNAKEBENCH_RETRY_MAX_DELAY", 30.0),
            limit_wait=_positive_float(env, "SNAKEBENCH_LIMIT_WAIT", 900.0),
            worker_threads=_positive_int(env, "SNAKEBENCH_WORKER_THREADS", 16),
            reconcile_every=_positive_int(env, "SNAKEBENCH_RECONCILE_EVERY", 300),
            daily_cap=_daily_cap(env),
            log_level=log_level_from_env(env),
            openrouter_referer=_referer(env),
            openrouter_title=_header_value(
                env, "SNAKEBENCH_OPENROUTER_TITLE", DEFAULT_OPENROUTER_TITLE
            ),
            original_cors_origins=_origins(env, "SNAKEBENCH_ORIGINAL_CORS_ORIGINS"),
            placement_every=_seconds_or_off(env, "SNAKEBENCH_PLACEMENT_EVERY"),
            placement_budget=_positive_float(
                env, "SNAKEBENCH_PLACEMENT_BUDGET", DEFAULT_PLACEMENT_BUDGET
            ),
            placement_max_models=_positive_int(env, "SNAKEBENCH_PLACEMENT_MAX_MODELS", 1),
            placement_games=_positive_int(env, "SNAKEBENCH_PLACEMENT_GAMES", 10),
            placement_tactics=_tactics(env),
            stale_every=_seconds_or_off(env, "SNAKEBENCH_STALE_EVERY"),
            stale_after=_positive_int(env, "SNAKEBENCH_STALE_AFTER", DEFAULT_STALE_AFTER),
            videos=_switch(env, "SNAKEBENCH_VIDEOS"),
            **_alert_settings(env),
        )


def _header_value(env: Mapping[str, str], name: str, default: str) -> str:
    """A value sent as an HTTP header: one line of printable ASCII (a newline would
    start another header), at most :data:`MAX_HEADER_CHARS` long."""
    raw = env.get(name)
    value = default if raw is None else raw.strip()
    if not (value.isascii() and value.isprintable()) or len(value) > MAX_HEADER_CHARS:
        raise ConfigError(
            f"{name} must be one line of printable ASCII, at most {MAX_HEADER_CHARS} characters"
        )
    return value


def _referer(env: Mapping[str, str]) -> str:
    """SNAKEBENCH_OPENROUTER_REFERER: the site OpenRouter credits, an http(s) URL."""
    name = "SNAKEBENCH_OPENROUTER_REFERER"
    value = _header_value(env, name, "")
    if value and not (value.startswith(("http://", "https://")) and _host_of(name, value)):
        raise ConfigError(f"{name}={value!r} is not an http:// or https:// URL")
    return value


def check_http_url(name: str, value: str) -> str:
    """``value`` if it is an http:// or https:// URL with a host, else a one-line
    :class:`ConfigError` naming ``name`` (a setting, an option or a field)."""
    value = value.strip()
    if not (
        value.startswith(("http://", "https://"))
        and value.isascii()
        and value.isprintable()
        and " " not in value
        and _host_of(name, value)
    ):
        raise ConfigError(f"{name}={mask_url(value)!r} is not an http:// or https:// URL")
    return value


def _alert_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The webhook settings (docs/WEBHOOKS.md); a bad value is one line naming it."""
    urls = {}
    for field, name in (("webhook_url", "SNAKEBENCH_WEBHOOK_URL"),
                        ("public_url", "SNAKEBENCH_PUBLIC_URL")):  # fmt: skip
        raw = env.get(name, "").strip()
        urls[field] = check_http_url(name, raw).rstrip("/") if raw else ""
    secret = env.get("SNAKEBENCH_WEBHOOK_SECRET", "")
    if secret and (secret != secret.strip() or not (secret.isascii() and secret.isprintable())):
        raise ConfigError("SNAKEBENCH_WEBHOOK_SECRET must be printable ASCII, no edge spaces")
    name = "SNAKEBENCH_ALERT_NO_WORKER_MINUTES"
    raw = env.get(name, "").strip()
    minutes = None
    if raw.lower() not in ("", "0", "off"):
        minutes = _positive_float({name: raw}, name, 0.0)
    return {
        **urls,
        "webhook_secret": secret,
        "alert_no_worker_minutes": minutes,
    }


def _daily_cap(env: Mapping[str, str]) -> float | None:
    """SNAKEBENCH_DAILY_CAP in USD, or ``off``; unset, it is on (at
    :data:`DEFAULT_API_DAILY_CAP`) exactly when the web API can submit games."""
    raw = (env.get("SNAKEBENCH_DAILY_CAP") or "").strip()
    if raw.lower() == "off":
        return None
    if not raw:
        return DEFAULT_API_DAILY_CAP if env.get("SNAKEBENCH_API_TOKEN") else None
    return _positive_float({"SNAKEBENCH_DAILY_CAP": raw}, "SNAKEBENCH_DAILY_CAP", 0.0)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """SNAKEBENCH_LOG_LEVEL upper-cased, or None when unset or empty.

    Read on its own too (not only through :meth:`Settings.from_env`): a command sets
    up its logging before it knows which other settings it needs, and a bad REDIS_URL
    must not stop one that never opens Redis."""
    env = os.environ if env is None else env
    raw = env.get("SNAKEBENCH_LOG_LEVEL", "").strip()
    if not raw:
        return None
    if raw.upper() not in LOG_LEVELS:
        choices = ", ".join(level.lower() for level in LOG_LEVELS)
        raise ConfigError(f"SNAKEBENCH_LOG_LEVEL={raw!r} is not one of {choices}")
    return raw.upper()


_DATABASE_SCHEMES = ("sqlite://", "postgres://", "postgresql://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _redis_url(env: Mapping[str, str]) -> str:
    """A Redis URL with a host (``redis://`` alone would quietly mean localhost)."""
    value = env.get("REDIS_URL", DEFAULT_REDIS_URL).strip()
    if value.startswith(("redis://", "rediss://")) and not _host_of("REDIS_URL", value):
        raise ConfigError(f"REDIS_URL={mask_url(value)!r} names no host: use redis://HOST:6379/0")
    if not value.startswith(_REDIS_SCHEMES):
        raise ConfigError(
            f"REDIS_URL={mask_url(value)!r} is not supported: use redis://, rediss:// or unix://"
        )
    return value


def _sentinel(env: Mapping[str, str]) -> SentinelSettings | None:
    """REDIS_SENTINELS (``host:port,host:port``), REDIS_SENTINEL_MASTER, _DB and
    _PASSWORD; None when REDIS_SENTINELS is unset or empty. Set together with a
    REDIS_URL, one of them would be quietly ignored: that is an error instead."""
    raw = env.get("REDIS_SENTINELS", "").strip()
    if not raw:
        for name in ("REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_DB", "REDIS_SENTINEL_PASSWORD"):
            if env.get(name, "").strip():
                raise ConfigError(f"{name} is set but REDIS_SENTINELS is not: set both")
        return None
    if env.get("REDIS_URL", "").strip():
        raise ConfigError("REDIS_URL and REDIS_SENTINELS are both set: unset one of them")
    master = env.get("REDIS_SENTINEL_MASTER", "").strip() or DEFAULT_SENTINEL_MASTER
    if not (master.isascii() and master.isprintable()) or " " in master:
        raise ConfigError(f"REDIS_SENTINEL_MASTER={master!r} is not a Sentinel master name")
    db_raw = env.get("REDIS_SENTINEL_DB", "").strip() or "0"
    if not db_raw.isdigit():
        raise ConfigError(f"REDIS_SENTINEL_DB={db_raw!r} is not a database number (0, 1, ...)")
    password = env.get("REDIS_SENTINEL_PASSWORD") or None
    sentinels = tuple(_host_port(raw, part) for part in raw.split(","))
    return SentinelSettings(sentinels, master, int(db_raw), password)


def _host_port(raw: str, part: str) -> tuple[str, int]:
    """One ``host:port`` of REDIS_SENTINELS (``[v6]:port`` too)."""
    host, sep, port = part.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536) or " " in host:
        raise ConfigError(
            f"REDIS_SENTINELS={raw!r}: {part.strip()!r} is not host:port "
            "(use host:26379,host:26379,...)"
        )
    return host, int(port)


def _host_of(name: str, value: str) -> str:
    """The URL's host, its port checked; a URL urllib cannot split is a ConfigError."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
        return parts.hostname or ""
    except ValueError as exc:
        raise ConfigError(f"{name}={mask_url(value)!r} is not a valid URL: {exc}") from None


def _database_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(_DATABASE_SCHEMES):
        raise ConfigError(
            f"DATABASE_URL={mask_url(value)!r} is not supported: "
            "use sqlite:///PATH or postgres://..."
        )
    if value.startswith(("postgres://", "postgresql://")):
        _host_of("DATABASE_URL", value)  # an empty host means the local socket: allowed
    if value.rstrip("/") in ("sqlite:", "sqlite:/"):
        # peewee would open a private in-memory database: games "stored" then lost.
        raise ConfigError("DATABASE_URL='sqlite:///' has no file path: use sqlite:///PATH")
    return value


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, fit for errors and logs.

    The host starts after the *last* ``@`` of the authority (as URL parsers and
    libpq read it), so a password containing ``@`` is masked whole.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{rest[end:]}"


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, float, "a number")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _positive(env, name, default, int, "a whole number")


def _positive(
    env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], what: str
) -> N:
    """``env[name]`` read by ``parse`` and above zero; ``default`` when unset or empty."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not {what}") from None
    if value != value:  # NaN compares false with everything, so "<= 0" would let it in
        raise ConfigError(f"{name}={raw!r} is not {what}")
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be above zero")
    return value


def _seconds_or_off(env: Mapping[str, str], name: str) -> int:
    """A schedule's interval in whole seconds; 0 (the default) turns it off."""
    raw = (env.get(name) or "").strip()
    try:
        value = int(raw or "0")
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number of seconds") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must be 0 (off) or a number of seconds above it")
    return value


def _tactics(env: Mapping[str, str]) -> tuple[str, ...]:
    """SNAKEBENCH_PLACEMENT_TACTICS: a comma list of :data:`PLACEMENT_TACTICS`."""
    raw = env.get("SNAKEBENCH_PLACEMENT_TACTICS") or ""
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [name for name in names if name not in PLACEMENT_TACTICS]
    if unknown:
        raise ConfigError(
            f"SNAKEBENCH_PLACEMENT_TACTICS={raw!r}: {unknown[0]!r} is not one of "
            + ", ".join(PLACEMENT_TACTICS)
        )
    return names


_SWITCH_VALUES = {"1": True, "true": True, "yes": True, "on": True,
                  "0": False, "false": False, "no": False, "off": False, "": False}  # fmt: skip


def _switch(env: Mapping[str, str], name: str) -> bool:
    """An on/off setting: 1, true, yes, on or 0, false, no, off (any case); off when unset."""
    raw = env.get(name, "")
    try:
        return _SWITCH_VALUES[raw.strip().lower()]
    except KeyError:
        raise ConfigError(f"{name}={raw!r} must be 1 or 0 (on or off)") from None


def get_settings() -> Settings:
    """The settings of this process, read from the environment each call (cheap)."""
    return Settings.from_env()


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of web origins, each ``http(s)://host[:port]`` exactly as
    a browser sends it in ``Origin`` (no path, no trailing slash); empty: none."""
    raw = env.get(name, "")
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        bad = scheme not in ("http", "https") or not rest or any(c in rest for c in "/?#@ ")
        if bad or not _host_of(name, origin):
            raise ConfigError(
                f"{name}={raw!r}: {origin!r} is not an origin like https://example.com "
                "or http://localhost:3000"
            )
    return origins
