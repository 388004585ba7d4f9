"""Who may see the web app, and where it may listen.

The dashboard can cancel, requeue and delete jobs, so it is never served beyond this
machine without a password: with ``SNAKEBENCH_WEB_PASSWORD`` unset the app refuses to
bind anything but loopback (``snakebench web`` and gunicorn alike). With a password,
every path but ``/healthz`` (which platforms probe anonymously) needs HTTP basic auth,
or ``Authorization: Bearer <SNAKEBENCH_API_TOKEN>`` for scripts.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from flask import Flask, Response, request

from snakebench.config import ConfigError
from snakebench.web.config import WebConfig

OPEN_PATHS = frozenset({"/healthz"})
REALM = "SnakeBench"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 possibly in brackets) is this
    machine only: ``localhost``, 127.0.0.0/8 or ``::1``."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, config: WebConfig) -> None:
    """Refuse to listen beyond loopback without a password (a one-line ConfigError)."""
    if not config.auth_required and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without a password: set SNAKEBENCH_WEB_PASSWORD, "
            "or listen on 127.0.0.1"
        )


def check_binds(binds: Iterable[str], config: WebConfig) -> None:
    """:func:`check_bind` for gunicorn's ``bind`` list (``HOST:PORT``, ``[V6]:PORT``,
    ``unix:PATH``, ``fd://N``). A Unix socket or inherited descriptor counts as
    public: it usually sits behind a proxy that serves the world."""
    for bind in binds:
        check_bind(_bind_host(bind), config)


def _bind_host(bind: str) -> str:
    if bind.startswith(("unix:", "fd://")):
        return bind
    if bind.startswith("["):
        return bind[1:].partition("]")[0]
    return bind.rpartition(":")[0] if ":" in bind else bind


def install_auth(app: Flask, config: WebConfig) -> None:
    """Require credentials for every request but :data:`OPEN_PATHS` when a password is
    set. It is an app-wide hook, not one on rq-dashboard's blueprint: that blueprint is
    a module-level object shared by every app, so a hook there would leak across apps."""
    if not config.auth_required:
        return

    @app.before_request
    def require_credentials() -> Response | None:
        if request.path in OPEN_PATHS or _authorized(config):
            return None
        return Response(
            "Authentication required\n",
            401,
            {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )


def _authorized(config: WebConfig) -> bool:
    auth = request.authorization
    if auth is None:
        return False
    if auth.type == "bearer":
        return bool(config.api_token) and _same(auth.token or "", config.api_token or "")
    if auth.type == "basic":
        user_ok = _same(auth.username or "", config.username)
        password_ok = _same(auth.password or "", config.password or "")
        return user_ok and password_ok
    return False


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison, so timing does not leak how much of a guess was right."""
    return hmac.compare_digest(given.encode(), expected.encode())
