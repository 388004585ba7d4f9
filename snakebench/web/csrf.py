"""Changes come from this site's own pages, or from programs; never from another site.

A page on another origin can make a logged-in browser send a form or a ``fetch`` here
(cross-site request forgery): to rq-dashboard's routes at ``/rq``, which empty queues and
delete or requeue jobs, or to the JSON API. Browsers tell where such a request comes from
in its ``Origin`` header (and ``Referer``); a request that changes state (any method but
GET, HEAD and OPTIONS) from another origin is refused with 403, before credentials are
even looked at. A request with neither header is a program's (curl, a script): it has no
ambient login to abuse and goes on to the usual checks (:mod:`snakebench.web.auth`).

rq-dashboard also requeues a queue's failed jobs on a plain GET
(``/rq/requeue/<queue>``), which any ``<img>`` on any page could trigger: here that route
takes POST only, as its own dashboard page sends it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from snakebench.web.auth import DASHBOARD_PREFIX, SAFE_METHODS, json_error

GET_WRITES = (f"{DASHBOARD_PREFIX}/requeue/",)  # rq-dashboard routes that change on GET


def install_origin_check(app: Flask) -> None:
    """Refuse cross-origin changes and changes on GET, as the module says."""

    @app.before_request
    def refuse_cross_site() -> Response | None:
        if request.method in SAFE_METHODS:
            if request.path.startswith(GET_WRITES):
                return _refuse(405, "this changes state: send it as a POST from the dashboard")
            return None
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if source is None:
            return None
        if source == "null" or urlsplit(source).netloc.lower() not in _own_hosts():
            return _refuse(403, "refused: a change sent from another site's page")
        return None


def _own_hosts() -> set[str]:
    """This site as the browser addressed it: the Host header, or the one a proxy in
    front forwarded (a page cannot set ``X-Forwarded-Host`` on a request it forges
    without a CORS preflight, which this app never grants)."""
    hosts = {request.host.lower()}
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded:
        hosts |= {host.strip().lower() for host in forwarded.split(",")}
    return hosts


def _refuse(status: int, message: str) -> Response:
    response = json_error(status, message)
    if status == 405:
        response.headers["Allow"] = "POST"
    return response
