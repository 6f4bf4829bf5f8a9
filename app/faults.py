"""Fault points for the crash tests (tests/integration/test_faults.py).

`point("name")` does nothing unless the process was started with BAOCAO_FAULTPOINT=name: then, on
its BAOCAO_FAULTPOINT_HIT-th pass (default 1), it writes the name and its pid to BAOCAO_FAULTPOINT_FILE and
stops there, so the test can kill the process at exactly that moment (SIGKILL, as a power cut or
the OOM killer would). Production never sets these variables.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

_hits: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get("BAOCAO_FAULTPOINT") != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != int(os.environ.get("BAOCAO_FAULTPOINT_HIT", "1")):
        return
    marker = os.environ.get("BAOCAO_FAULTPOINT_FILE")
    if marker:
        Path(marker).write_text(f"{name} {os.getpid()}")  # which process stopped here (one of several helpers)
    while True:  # wait here to be killed
        time.sleep(60)
