"""Pools of helper processes, started once per process that uses them: the PDF renderers
(pdf_render.py) and the mail deliverers (services/mail_delivery.py).

Spawned, never forked: the caller may be a threaded web worker, a job worker's thread or the
scheduler's — a child forked while another thread holds a lock can hang for ever (seen in CI with
forked mail deliverers). Each helper exits as soon as the process that started it is gone (a web
or job worker killed or restarted would otherwise leave its helpers behind). A helper that dies
(killed, out of memory) breaks its pool — Python then stops the others with SIGTERM: the caller
discards it and the next use starts new ones.

No Flask here."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor


def _start(parent: int, initializer=None) -> None:
    """In a helper: run `initializer` (a module-level function), then follow the parent — when it
    is gone, the helper gets SIGTERM as if stopped (a helper that handles it finishes the item in
    hand first; by default SIGTERM ends the process)."""
    import signal

    if initializer is not None:
        initializer()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="follow-parent").start()


class SpawnedPool:
    """One pool of `processes` spawned helpers, kept for the life of this process; asking for
    another size replaces it."""

    def __init__(self, initializer=None) -> None:
        self._initializer = initializer  # run in each helper as it starts (module-level: it is pickled)
        self._pool: ProcessPoolExecutor | None = None
        self._size = 0
        self._lock = threading.Lock()

    def get(self, processes: int) -> Executor:
        with self._lock:
            if self._pool is None or self._size != processes:
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start, initargs=(os.getpid(), self._initializer))
                self._size = processes
            return self._pool

    def warm(self, processes: int, ready) -> None:
        """Start the helpers now, each running `ready` once (a module-level function: it imports
        what the first real call would), so that call does not wait for them."""
        pool = self.get(processes)
        for f in [pool.submit(ready) for _ in range(processes)]:
            f.result()

    def discard(self, pool: Executor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def processes(self) -> list:
        """The helpers' process objects (tests kill one)."""
        return list(self._pool._processes.values()) if self._pool is not None else []
