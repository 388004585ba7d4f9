"""rq-dashboard, mounted at ``/rq`` of the project's app.

rq-dashboard 0.9 is a Flask blueprint configured through ``RQ_DASHBOARD_*`` app
settings and :func:`rq_dashboard.web.setup_rq_connection`, which the embedding app must
call itself (its own CLI does). Our jobs are RQ's default pickle carrying primitives,
so a standalone ``rq-dashboard`` reads them as it is; here the blueprint's reader (a
module-level object, what its own ``--json`` flag sets) is the restricted one, so that
the queue, registry and job-data views never unpickle a global planted in Redis. (Its
job page, its delete route and its workers list fetch jobs with RQ's default reader
whatever this says: SECURITY.md, "Redis is a trust boundary".)
"""

from __future__ import annotations

import rq_dashboard
from flask import Flask
from rq_dashboard.web import config as dashboard_settings
from rq_dashboard.web import setup_rq_connection

from snakebench.queueing import SERIALIZER
from snakebench.queueing.connection import dashboard_url
from snakebench.web.config import WebConfig

URL_PREFIX = "/rq"
POLL_INTERVAL_MS = 2500


def install_dashboard(app: Flask, config: WebConfig) -> None:
    app.config.from_object(rq_dashboard.default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = dashboard_url(config.redis_settings)
    if config.redis_sentinel is not None:  # the URL has no room for it
        app.config["RQ_DASHBOARD_REDIS_PASSWORD"] = config.redis_sentinel.password
    app.config["RQ_DASHBOARD_POLL_INTERVAL"] = POLL_INTERVAL_MS
    dashboard_settings.serializer = SERIALIZER
    setup_rq_connection(app)  # lazy: makes a client, does not connect yet
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
