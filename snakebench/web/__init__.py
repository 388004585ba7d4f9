"""The Flask app: index, ``/healthz``, rq-dashboard at ``/rq``; basic auth when a
password is set. Build it with :func:`create_app`; configure it with :class:`WebConfig`.
"""

from snakebench.web.app import create_app
from snakebench.web.config import WebConfig

__all__ = ["WebConfig", "create_app"]
