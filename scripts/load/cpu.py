"""CPU seconds used so far by the processes of the load test, by group (run by scripts/load/run.sh).
Counts each process's own time plus that of its reaped children (/proc/PID/stat fields 14–17), so a
PostgreSQL backend that has exited is still counted in the postmaster.
Usage: python cpu.py GROUP=PID [GROUP=PID …]  → prints JSON {group: seconds}"""
from __future__ import annotations

import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from 3 (state) on


def _children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields and int(fields[1]) == pid:  # field 4: ppid
                out.append(int(name))
    return out


def tree_seconds(pid: int) -> float:
    fields = _stat(pid)
    if fields is None:
        return 0.0
    own = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return own / TICK + sum(tree_seconds(child) for child in _children(pid))


if __name__ == "__main__":
    groups = dict(arg.split("=", 1) for arg in sys.argv[1:])
    print(json.dumps({name: round(tree_seconds(int(pid)), 1) for name, pid in groups.items()}))
