"""The index page: for now a signpost to the dashboard and the health check."""

from __future__ import annotations

from flask import Blueprint, Response

from snakebench import __version__

blueprint = Blueprint("pages", __name__)

INDEX = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>SnakeBench</title></head>
<body>
<h1>SnakeBench</h1>
<ul>
  <li><a href="/rq/">Queues and workers</a> (rq-dashboard)</li>
  <li><a href="/healthz">Health</a> (JSON: Redis, database, live workers)</li>
</ul>
<p><small>snakebench {version}</small></p>
</body>
</html>
"""


@blueprint.get("/")
def index() -> Response:
    return Response(INDEX.format(version=__version__), mimetype="text/html")
