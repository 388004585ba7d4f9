"""``snakebench web``: the web app (dashboard at /rq, /healthz) on this machine.

This is Flask's development server, for one user; the Procfile runs gunicorn. The
local stack starts its dashboard as ``python -m snakebench.cli.web`` (:func:`main`).
"""

from __future__ import annotations

import signal
import socket
from typing import Annotated

import typer
from werkzeug.serving import get_sockaddr, make_server, select_address_family

from snakebench.cli.app import App, fail
from snakebench.cli.terminal import SafeConsole
from snakebench.web import WebConfig, create_app
from snakebench.web.auth import check_bind

out = SafeConsole(soft_wrap=True)


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
    app = create_app(config)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with &
    with _listen(host, port) as sock:
        server = make_server(host, port, app, threaded=True, fd=sock.fileno())
        login = f" (login {config.username})" if config.auth_required else ""
        out.print(f"serving http://{host}:{port}/{login}: dashboard /rq, health /healthz")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass  # Ctrl+C is how a server is meant to stop
        finally:
            server.server_close()


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here because werkzeug, on failure, prints two
    lines and exits instead of raising."""
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def main() -> None:
    """This command on its own, as ``python -m snakebench.cli.web``."""
    app = App(no_args_is_help=False)
    app.command()(web)
    app(prog_name="python -m snakebench.cli.web")


if __name__ == "__main__":
    main()
