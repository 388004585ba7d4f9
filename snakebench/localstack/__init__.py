"""The parts of the embedded local stack (:class:`snakebench.localstack.stack.LocalStack`).

``processes`` starts, identifies and stops child processes; ``redis_server`` finds
and runs a private Redis; ``state`` is the ``stack.json`` file through which another
shell (``snakebench local status`` / ``down``) finds a running stack.
"""

from snakebench.localstack.errors import LocalStackError

__all__ = ["LocalStackError"]
