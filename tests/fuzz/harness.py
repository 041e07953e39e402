"""Run the ``incident`` command line on one fuzz case and say how it ended.

Every case must end with exit status 0, 2 or 3, print no Python traceback, and finish within a
time bound. :func:`run_cli` runs :func:`incident_lib.cli.main` in this process (fast: no
interpreter start per case) with its own stdin, stdout and stderr; :func:`run_subprocess` runs
the installed entry point, for a sample that proves the real thing behaves the same.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_lib.cli import main

#: Exit statuses a fuzz case may end with: done, bad input, partial report.
ALLOWED = (0, 2, 3)


class CaseTimeout(BaseException):
    """A case ran past its time bound (raised from a timer signal in the case)."""


@dataclass
class Outcome:
    """How one case ended. ``traceback`` is set when an exception escaped ``main``."""

    argv: list[str]
    code: int | None
    out: str
    err: str
    seconds: float
    traceback: str | None = None
    timed_out: bool = False

    @property
    def clean(self) -> bool:
        return (
            not self.timed_out
            and self.traceback is None
            and self.code in ALLOWED
            and "Traceback (most recent call last)" not in self.err
        )

    def explain(self) -> str:
        what = "timed out" if self.timed_out else f"exit {self.code}"
        tail = self.traceback or self.err[-2000:]
        return f"{what} after {self.seconds:.2f}s for incident {_short(self.argv)}\n{tail}"


def _short(argv: Sequence[str]) -> str:
    return " ".join(a if len(a) < 80 else a[:77] + "..." for a in argv)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (POSIX timers)."""
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def _expire(_sig: int, _frame: object) -> None:
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Stdin(io.TextIOWrapper):
    """A text stdin over bytes, with ``.buffer`` as ``sys.stdin`` has."""


_WARM: list[bool] = []


def warm_up() -> None:
    """Import what the commands import on first use, outside any case's time bound."""
    if _WARM:
        return
    from incident_lib import alarm, cli, run  # noqa: F401

    cli.build_parser()
    alarm._region_names()
    _WARM.append(True)


def run_cli(argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 10.0) -> Outcome:
    """Run ``incident argv`` in this process and return how it ended (never raises)."""
    warm_up()
    argv = [str(a) for a in argv]
    # Like the real streams: stdout refuses what UTF-8 cannot encode (a lone surrogate), stderr
    # escapes it, so a case that would crash a terminal crashes here too.
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    fake_in = _Stdin(io.BytesIO(stdin), encoding="utf-8", errors="strict")
    saved = sys.stdin, sys.stdout, sys.stderr
    code: int | None = None
    tb: str | None = None
    timed_out = False
    started = time.perf_counter()
    sys.stdin, sys.stdout, sys.stderr = fake_in, out, err
    try:
        with _time_limit(timeout):
            code = main(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except CaseTimeout:
        timed_out = True
    except BaseException:
        tb = traceback.format_exc()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Outcome(
        argv=argv,
        code=code,
        out=_text(out),
        err=_text(err),
        seconds=time.perf_counter() - started,
        traceback=tb,
        timed_out=timed_out,
    )


def prepare_only(real: Callable[..., Any]) -> Callable[..., Any]:
    """papermill's ``execute_notebook`` that parameterises and writes the notebook but starts
    no kernel (``prepare_only=True``): everything before and after the kernel runs for real,
    in a fraction of the time."""

    def execute_notebook(*args: Any, **kwargs: Any) -> Any:
        kwargs["prepare_only"] = True
        return real(*args, **kwargs)

    return execute_notebook


def _text(stream: io.TextIOWrapper) -> str:
    with contextlib.suppress(Exception):
        stream.flush()
    return stream.buffer.getvalue().decode("utf-8", "replace")  # type: ignore[attr-defined]


def entry_point() -> list[str]:
    """The installed ``incident`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("incident")
    if script.is_file():
        return [str(script)]
    found = shutil.which("incident")
    return [found] if found else [sys.executable, "-m", "incident_lib.cli"]


def run_subprocess(argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0) -> Outcome:
    """Run the real ``incident`` entry point in a child process."""
    argv = [str(a) for a in argv]
    started = time.perf_counter()
    env = dict(os.environ, PYTHONFAULTHANDLER="")
    try:
        proc = subprocess.run(
            [*entry_point(), *argv],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return Outcome(
            argv=argv,
            code=None,
            out=(exc.stdout or b"").decode("utf-8", "replace"),
            err=(exc.stderr or b"").decode("utf-8", "replace"),
            seconds=time.perf_counter() - started,
            timed_out=True,
        )
    return Outcome(
        argv=argv,
        code=proc.returncode,
        out=proc.stdout.decode("utf-8", "replace"),
        err=proc.stderr.decode("utf-8", "replace"),
        seconds=time.perf_counter() - started,
    )
