"""A work horse dies with its worker, and so does the scheduler the worker started.

RQ's default worker forks a work horse per game and, with ``--with-scheduler``, a
scheduler process. When the worker's main process is killed outright (SIGKILL, the OOM
killer), nothing tells them: the horse would play its game to the end, billing every
move, while ``reconcile`` hands the same game to another worker, and the scheduler
would live on. On Linux a process can ask the kernel to kill it when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere these functions do nothing, and the game's
fencing token still keeps the newer run's result the only one recorded
(:func:`snakebench.store.mark_running`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

log = logging.getLogger(__name__)

_forking_pid = 0  # the pid of whoever forked last, as the child sees it (memory is copied)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent, ``parent``, dies; exit at
    once if it already has (the request would come too late to fire)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("cannot ask to die with the worker: %s", os.strerror(ctypes.get_errno()))
        return
    if os.getppid() != parent:
        os._exit(1)  # orphaned already: no run of ours may start


def children_die_with_this_process() -> None:
    """From now on, every process forked here (work horses, the scheduler) dies with it."""
    os.register_at_fork(before=_remember_forker, after_in_child=_die_with_forker)


def _remember_forker() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _die_with_forker() -> None:
    die_with_parent(_forking_pid)
