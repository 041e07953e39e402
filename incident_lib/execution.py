"""Running a notebook with papermill so that it cannot hang an alarm run.

Two limits, and the fix for a known stall:

- **per cell** (papermill's ``execution_timeout``): a cell that runs longer is stopped (nbclient
  raises ``CellTimeoutError``);
- **overall**: a watchdog thread kills the run's kernel (its own process, by pid) when the
  whole notebook runs longer; nbclient then raises ``DeadKernelError``;
- **the stall**: nbclient sometimes picks up a cell's ``execute_reply`` only when the cell's
  timeout runs out, and with no timeout never (nbclient issue 312, nbconvert issues 2003 and
  2029; seen here with widget notebooks: one run in four stalled, one hung > 290 s). Polling
  the shell channel in 0.25 s slices picks the reply up at once (0 stalls in 39 runs, measured
  on a 2-core machine like CI's); :func:`patch_nbclient` applies it to
  every client papermill makes.

Either way the executed notebook is still written (papermill saves it when execution ends,
whatever the reason) and :func:`execute` says which cell, and which runbook section, hung: the
run reports that section as failed and writes the report with the rest.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Hang", "execute", "hung_cell", "patch_nbclient"]

SLICE_S = 0.25
_SECTION = re.compile(r"""case\.section\(\s*(?:f?)(["'])(.+?)\1""")


def _sliced(get_msg: Any) -> Any:
    async def get_msg_sliced(timeout: float | None = None, **kw: Any) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = SLICE_S
            if deadline is not None:
                step = max(0.0, min(SLICE_S, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=step, **kw)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_sliced


def patch_nbclient() -> None:
    """Make every nbclient ``NotebookClient`` (papermill's too) poll the shell channel in
    short slices. Idempotent."""
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    if getattr(NotebookClient, "_incident_sliced_poll", False):
        return
    original = NotebookClient.async_start_new_kernel_client

    async def start(self: Any) -> Any:
        kc = await original(self)
        kc.shell_channel.get_msg = _sliced(kc.shell_channel.get_msg)
        return kc

    NotebookClient.async_start_new_kernel_client = start  # type: ignore[method-assign]
    # papermill's setup_kernel() calls the sync twin, bound at class creation: rebind it.
    NotebookClient.start_new_kernel_client = run_sync(start)  # type: ignore[method-assign]
    NotebookClient._incident_sliced_poll = True  # type: ignore[attr-defined]


@dataclass
class Hang:
    """Why a run stopped early: ``cell`` (index), the runbook ``section`` it was in, why."""

    cell: int | None
    section: str
    reason: str


class _Watch:
    """The run's kernels, and a timer that kills them past the overall limit."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.managers: list[Any] = []
        self.fired = False
        self._stop = threading.Event()

    def kernel_manager_class(self) -> type:
        from jupyter_client.manager import AsyncKernelManager

        watch = self

        class WatchedKernelManager(AsyncKernelManager):  # type: ignore[misc]
            def __init__(self, *a: Any, **kw: Any) -> None:
                super().__init__(*a, **kw)
                watch.managers.append(self)

        return WatchedKernelManager

    def _kill(self) -> None:
        self.fired = True
        for km in self.managers:
            pid = getattr(getattr(km, "provisioner", None), "pid", None)
            if pid:
                log.warning(
                    "notebook ran past %.0fs: stopping its kernel (pid %s)", self.seconds, pid
                )
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        if not self.seconds:
            yield
            return

        def wait() -> None:
            if not self._stop.wait(self.seconds):
                self._kill()

        timer = threading.Thread(target=wait, name="notebook-watchdog", daemon=True)
        timer.start()
        try:
            yield
        finally:
            self._stop.set()
            timer.join(5)


_LAST = threading.local()


def _keep_partial_notebooks() -> None:
    """Keep (per thread) the notebook papermill was executing when execution ends, however it
    ends: without ``request_save_on_cell_execute`` papermill writes it only after a clean end,
    and a stopped run must still leave its notebook for the report."""
    from papermill.engines import NotebookExecutionManager

    if getattr(NotebookExecutionManager, "_incident_keeps_nb", False):
        return
    original = NotebookExecutionManager.notebook_complete

    def notebook_complete(self: Any, **kw: Any) -> Any:
        _LAST.nb = self.nb
        return original(self, **kw)

    NotebookExecutionManager.notebook_complete = notebook_complete  # type: ignore[method-assign]
    NotebookExecutionManager._incident_keeps_nb = True  # type: ignore[attr-defined]


def hung_cell(output: Path | Any) -> tuple[int | None, str]:
    """In an executed notebook (or its path): the last cell that started, and the runbook
    section (``case.section("...")``) it is in: the nearest one opened at or above it."""
    import nbformat

    if isinstance(output, str | os.PathLike):
        try:
            nb = nbformat.read(output, as_version=4)
        except (OSError, ValueError):
            return None, ""
    else:
        nb = output
    started = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.metadata.get("papermill") or {}).get("start_time")
    ]
    if not started:
        return None, ""
    index = started[-1]
    for cell in reversed(nb.cells[: index + 1]):
        found = _SECTION.findall(cell.source) if cell.cell_type == "code" else []
        if found:
            return index, found[-1][1]
    return index, ""


def execute(
    notebook: Path,
    output: Path,
    *,
    cell_timeout: float | None,
    run_timeout: float | None,
    km: Any = None,
    **papermill_kwargs: Any,
) -> Hang | None:
    """``papermill.execute_notebook`` under the two limits. Returns None when the notebook
    ran to its end (or stopped at an error in a cell: papermill raises
    ``PapermillExecutionError`` as usual), or the :class:`Hang` that stopped it. ``km``: a
    kernel already started (a warm kernel of ``incident serve``), watched the same way."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    patch_nbclient()
    _keep_partial_notebooks()
    _LAST.nb = None
    watch = _Watch(run_timeout)
    if km is not None:
        watch.managers.append(km)
        papermill_kwargs["km"] = km
    else:
        papermill_kwargs["kernel_manager_class"] = watch.kernel_manager_class()
    try:
        with watch.running():
            pm.execute_notebook(
                str(notebook), str(output), execution_timeout=cell_timeout, **papermill_kwargs
            )
    except pm.PapermillExecutionError:
        raise  # an error in a cell: the run reports it as before
    except Exception as exc:
        if not (watch.fired or isinstance(exc, CellTimeoutError | DeadKernelError)):
            raise
        import nbformat

        partial = getattr(_LAST, "nb", None)
        if partial is not None:  # what ran, with its outputs, for the report
            nbformat.write(partial, output)
        index, section = hung_cell(partial if partial is not None else output)
        if watch.fired:
            reason = f"the notebook ran past its overall limit of {run_timeout:.0f}s: stopped"
        elif isinstance(exc, CellTimeoutError):
            reason = f"a cell ran past its limit of {cell_timeout:.0f}s: stopped"
        else:
            reason = f"the kernel stopped: {type(exc).__name__}: {exc}"
        where = f" (cell {index})" if index is not None else ""
        log.warning("%s%s", reason, where)
        return Hang(cell=index, section=section, reason=reason + where)
    return None
