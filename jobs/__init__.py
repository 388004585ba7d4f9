"""The functions RQ workers run (:mod:`jobs.run_game`, :mod:`jobs.maintenance`,
:mod:`jobs.evaluate`) and the schedule ``rq cron`` reads (:mod:`jobs.cron`).

Importing any of them sets up SnakeBench's log lines
(:func:`snakebench.logs.configure_logging`): a stock ``rq worker`` sets up only RQ's
own logger and imports a job's module in each work horse, so this package is the one
place every worker process, plain or hardened, passes through before it plays a game.
A process whose logging is already set up (a host application, a test run) is left
as it is.
"""

from snakebench.config import log_level_from_env
from snakebench.logs import configure_logging

configure_logging(log_level_from_env())  # a bad value stops the worker at its start
