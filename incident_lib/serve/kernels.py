"""Warm kernels: a report costs its investigation, not a kernel's start-up and imports.

A cold ``incident investigate`` starts a Python kernel and the notebook's first cell imports
pandas, plotly, boto3, DuckDB and ``incident_lib`` (seconds, on a busy machine more). The
worker keeps ``size`` kernels already started, those imports done (``IPKernelApp.exec_lines``
runs before the kernel answers its first ``kernel_info``), and hands one to papermill
(``km=``: nbclient then uses that kernel and leaves it running).

Each kernel runs **one** notebook and is then shut down, and a fresh one starts in the
background: no variable, module state or recording of one incident can reach the next.
What the run needs of the kernel's process (its working folder, the evidence recorder's
folder, the AWS deadline and progress file) is set by a first message, as papermill's
``cwd=`` and ``extra_arguments`` would have set it for a kernel of its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["PRELOAD", "KernelPool"]

#: What a warm kernel imports before it is handed out: the notebooks' imports and the heavy
#: libraries beneath them.
PRELOAD = (
    "import boto3, duckdb, numpy, pandas, pyarrow, plotly.graph_objects, plotly.io",
    "import incident_lib.notebook, incident_lib.steps, incident_lib.plotting",
)
_SHUTDOWN_TIMEOUT = 10.0


class KernelPool:
    """``size`` started kernels, each used for one notebook, refilled in the background.

    >>> pool = KernelPool(size=1)                                  # doctest: +SKIP
    >>> with pool.kernel(cwd=Path("notebooks"), env={}) as km:     # doctest: +SKIP
    ...     pm.execute_notebook(..., km=km)
    """

    def __init__(
        self,
        size: int = 1,
        *,
        kernel_name: str = "python3",
        preload: tuple[str, ...] = PRELOAD,
        startup_timeout: float = 120.0,
    ) -> None:
        if size < 1:
            raise ValueError("a kernel pool holds at least one kernel")
        self.size = size
        self.kernel_name = kernel_name
        self.preload = preload
        self.startup_timeout = startup_timeout
        self._ready: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._starting = 0
        self.started = 0
        self.start_seconds: list[float] = []
        for _ in range(size):
            self._start_in_background()

    # -- use -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def kernel(self, *, cwd: Path, env: Mapping[str, str]) -> Iterator[Any]:
        """A started kernel, its working folder ``cwd`` and ``env`` set in its environment;
        shut down (and replaced) when the block ends, however it ends."""
        km = self._take()
        try:
            _prepare(km, cwd=cwd, env=env, timeout=self.startup_timeout)
            yield km
        finally:
            threading.Thread(target=_shutdown, args=(km,), daemon=True).start()
            if not self._closed.is_set():
                self._start_in_background()

    def close(self) -> None:
        """Shut down every kernel the pool holds."""
        self._closed.set()
        while True:
            try:
                km = self._ready.get_nowait()
            except queue.Empty:
                break
            if km is not None:
                _shutdown(km)

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ------------------------------------------------------------------------------
    def _take(self) -> Any:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                km = self._ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(
                    f"no kernel started within {self.startup_timeout:.0f}s"
                ) from None
            if km is None:  # a start failed: try again, in this thread, to show its error
                km = self._start()
            if km.is_alive():
                return km
            log.warning("a warm kernel died while it waited: starting another")
            _shutdown(km)
            self._start_in_background()

    def _start_in_background(self) -> None:
        with self._lock:
            self._starting += 1
        threading.Thread(target=self._fill, daemon=True, name="warm-kernel").start()

    def _fill(self) -> None:
        try:
            km = self._start()
        except Exception as exc:
            log.warning("a warm kernel did not start: %s", exc)
            km = None
        finally:
            with self._lock:
                self._starting -= 1
        if self._closed.is_set() and km is not None:
            _shutdown(km)
            return
        self._ready.put(km)

    def _start(self) -> Any:
        from jupyter_client.manager import KernelManager

        t0 = time.perf_counter()
        # nbclient drives the kernel through an asynchronous client (and incident_lib.execution
        # awaits its shell channel); the pool's own messages use a blocking one.
        km = KernelManager(
            kernel_name=self.kernel_name,
            client_class="jupyter_client.asynchronous.AsyncKernelClient",
        )
        km.start_kernel(
            extra_arguments=[
                "--IPKernelApp.log_level=ERROR",
                *(f"--IPKernelApp.exec_lines={line}" for line in self.preload),
            ]
        )
        kc = _blocking_client(km)
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=self.startup_timeout)
        except Exception:
            kc.stop_channels()
            _shutdown(km)
            raise
        kc.stop_channels()
        seconds = time.perf_counter() - t0
        self.started += 1
        self.start_seconds.append(seconds)
        log.info("warm kernel ready in %.1fs", seconds)
        return km


def _prepare(km: Any, *, cwd: Path, env: Mapping[str, str], timeout: float) -> None:
    """Set the kernel's working folder and environment for one run, before its first cell."""
    code = (
        "import os as _os\n"
        f"_os.chdir({json.dumps(str(cwd))})\n"
        f"_os.environ.update({json.dumps(dict(env))})\n"
        "del _os\n"
    )
    kc = _blocking_client(km)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout)
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise RuntimeError(
                f"kernel set-up failed: {content.get('ename')}: {content.get('evalue')}"
            )
    finally:
        kc.stop_channels()


def _blocking_client(km: Any) -> Any:
    """A blocking client of ``km``'s kernel, as ``km.client()`` makes one of its own class."""
    from jupyter_client.blocking import BlockingKernelClient

    return BlockingKernelClient(
        **km.get_connection_info(session=True), connection_file=km.connection_file, parent=km
    )


def _shutdown(km: Any) -> None:
    with contextlib.suppress(Exception):
        km.shutdown_kernel(now=False, restart=False)
    with contextlib.suppress(Exception):
        if km.is_alive():
            km.shutdown_kernel(now=True)
