"""The web app's configuration: one object, read from the environment in one place.

Redis and database URLs come through :class:`snakebench.config.Settings`, so they are
validated (and their passwords masked in errors) the same way as everywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from snakebench.config import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, SentinelSettings, Settings

DEFAULT_USERNAME = "admin"


@dataclass(frozen=True)
class WebConfig:
    """Everything :func:`snakebench.web.create_app` needs.

    ``password`` turns on basic auth for every page but ``/healthz``. ``api_token``
    lets scripts authenticate with ``Authorization: Bearer TOKEN`` instead, and is
    what every write to the JSON API needs (without it writes are disabled). With
    neither the app may only listen on loopback; with only a token, pages and API
    reads are public while the dashboard at ``/rq`` needs the token (see
    :mod:`snakebench.web.auth`).
    ``secret_key`` signs Flask sessions; unset, each process draws a random one, which
    is fine until several processes must share sessions.
    """

    redis_url: str = DEFAULT_REDIS_URL
    # Redis behind Sentinel instead of at redis_url (REDIS_SENTINELS, docs/HA.md).
    redis_sentinel: SentinelSettings | None = None
    database_url: str = DEFAULT_DATABASE_URL
    username: str = DEFAULT_USERNAME
    password: str | None = None
    api_token: str | None = None
    secret_key: str | None = None

    @property
    def redis_settings(self) -> Settings:
        """Where Redis is, as the shared connection factory takes it
        (:func:`snakebench.queueing.connection.redis_client`)."""
        return Settings(redis_url=self.redis_url, redis_sentinel=self.redis_sentinel)

    @property
    def auth_required(self) -> bool:
        """Every page but ``/healthz`` needs a login (a password is set)."""
        return bool(self.password)

    @property
    def dashboard_auth_required(self) -> bool:
        """``/rq`` (which can cancel and delete jobs) needs credentials."""
        return bool(self.password or self.api_token)

    @property
    def may_serve_publicly(self) -> bool:
        """Something guards the dashboard and the writes, so the app may listen
        beyond loopback."""
        return self.dashboard_auth_required

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebConfig:
        env = os.environ if env is None else env
        settings = Settings.from_env(env)
        return cls(
            redis_url=settings.redis_url,
            redis_sentinel=settings.redis_sentinel,
            database_url=settings.database_url,
            username=env.get("SNAKEBENCH_WEB_USER") or DEFAULT_USERNAME,
            password=env.get("SNAKEBENCH_WEB_PASSWORD") or None,
            api_token=env.get("SNAKEBENCH_API_TOKEN") or None,
            secret_key=env.get("SNAKEBENCH_SECRET_KEY") or None,
        )
