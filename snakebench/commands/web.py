"""``snakebench web``: the web app (dashboard at /rq, /healthz) on this machine.

This is Flask's development server, for one user; the Procfile runs gunicorn.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from werkzeug.serving import make_server

from snakebench.commands.app import fail
from snakebench.web import WebConfig, create_app
from snakebench.web.auth import check_bind

out = Console(highlight=False, soft_wrap=True)


def web(
    host: Annotated[
        str, typer.Option(help="Address to listen on; beyond loopback needs a password.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app: rq-dashboard at /rq and a health check at /healthz.

    Set SNAKEBENCH_WEB_PASSWORD to require a login (user admin, or
    SNAKEBENCH_WEB_USER); without one only 127.0.0.1 / localhost is allowed.
    Redis and the database come from REDIS_URL and DATABASE_URL.
    """
    config = WebConfig.from_env()
    check_bind(host, config)
    try:
        server = make_server(host, port, create_app(config), threaded=True)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    login = f" (login {config.username})" if config.auth_required else ""
    out.print(f"serving http://{host}:{port}/{login}: dashboard /rq, health /healthz")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl+C is how a server is meant to stop
    finally:
        server.server_close()
