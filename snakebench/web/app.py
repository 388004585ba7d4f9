"""The app factory: ``gunicorn 'snakebench.web:create_app()'`` or ``snakebench web``."""

from __future__ import annotations

import secrets

from flask import Flask

from snakebench.config import log_level_from_env
from snakebench.logs import configure_logging
from snakebench.web import api, health, original_api, pages
from snakebench.web.auth import install_auth
from snakebench.web.config import WebConfig
from snakebench.web.csrf import install_origin_check
from snakebench.web.dashboard import install_dashboard
from snakebench.web.services import install_services


def create_app(config: WebConfig | None = None) -> Flask:
    """A configured app; ``config`` defaults to :meth:`WebConfig.from_env`.

    Nothing is connected here: Redis and the database are opened on first use, so the
    app boots (and ``/healthz`` reports 503) while either is down.
    """
    config = config or WebConfig.from_env()
    # Before Flask makes its logger (snakebench.web): finding ours, it adds none of its own.
    configure_logging(log_level_from_env())
    app = Flask("snakebench.web")
    app.config["SECRET_KEY"] = config.secret_key or secrets.token_hex(32)
    install_services(app, config)
    install_origin_check(app)  # before auth: a forged request is refused whoever is logged in
    install_auth(app, config)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    api.install(app)
    original_api.install(app)
    install_dashboard(app, config)
    return app
