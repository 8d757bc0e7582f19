"""Scheduling priority for the processes that must keep real time (the plant, QEMU).

Firmware in the loop on a shared machine loses to ordinary work: a test runner, a compiler
or a browser takes the CPU for tens of milliseconds, the plant's samples stop, and the
firmware under test trips its stale-sensor check for reasons that are the host's. A real HIL
rig runs its plant at real-time priority for that reason. Here every thread of the process
is moved to a higher scheduling priority where the operating system permits it (root, or
``CAP_SYS_NICE``), most wanted first:

* ``nice`` ``-10``: the fair scheduler gives the thread about nine times the CPU share of an
  ordinary one when both want it, and still leaves the rest of the machine (the judge, the
  host link) its turn. A real-time policy (``SCHED_RR``) is not used: QEMU spinning at
  real-time priority on a two-core machine would starve the very process that judges it.

Where it is not permitted the processes run as they are; :func:`raise_priority` says which,
and the run's timing figures carry it, so a ``HostTooSlow`` on an unprivileged machine can be
read for what it is.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: the nice value asked for: well ahead of ordinary work, short of real-time policies
NICE = -10


def _threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` (the main thread first), or just ``pid`` off Linux."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        tids = sorted(int(p.name) for p in tasks.iterdir())
    except OSError:
        return [pid]
    return [pid] + [t for t in tids if t != pid]


def raise_priority(pid: int, nice: int = NICE) -> str:
    """Give every thread of ``pid`` nice value ``nice``; what was granted, in words.

    The main thread goes first, so threads it starts later inherit the value. Returns
    ``"nice -10"`` when granted, or ``"normal priority (…)"`` with the reason it was not
    (the process keeps running either way).
    """
    granted = 0
    reason = ""
    for tid in _threads(pid):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            granted += 1
        except PermissionError:
            reason = "not permitted: run as root or grant CAP_SYS_NICE"
            break
        except ProcessLookupError:
            continue  # a thread that ended meanwhile
        except OSError as exc:
            reason = str(exc)
            break
    if granted and not reason:
        return f"nice {nice}"
    with contextlib.suppress(OSError):  # leave no thread half raised
        for tid in _threads(pid):
            os.setpriority(os.PRIO_PROCESS, tid, 0)
    return f"normal priority ({reason or 'process gone'})"


__all__ = ["NICE", "raise_priority"]
