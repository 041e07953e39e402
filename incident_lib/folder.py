"""An incident's output folder, replaced so that readers never see it half-done.

``reports/<incident-id>/`` is written by one run at a time and swapped in whole:

- **a lock per incident**: ``fcntl.flock`` on ``reports/.<incident-id>.lock``, held for the
  whole run. A duplicate delivery of the same alarm event waits for the run in progress and, if
  that run finished while it waited, takes its report instead of running again (duplicate
  deliveries make one report); a later run replaces the folder. The kernel drops the lock when
  its holder dies, ``kill -9`` included.
- **a temporary folder**: every file is written into ``reports/.<incident-id>.tmp-<pid>-<hex>``.
- **an atomic swap**: on Linux, ``renameat2(RENAME_EXCHANGE)`` exchanges the finished folder
  with the current one in one system call, so ``reports/<incident-id>/report.html`` exists at
  every instant for a reader that polls it; the previous folder (now under the temporary name)
  is then deleted. Chosen over a symlink to versioned folders because the incident folder stays
  a plain folder (zip it, upload it, ``rm -r`` it, copy it into an evidence pack) and needs no
  clean-up of versions. Where ``renameat2`` is missing (not Linux, glibc < 2.28, a file system
  without ``RENAME_EXCHANGE``) the fallback is two renames under the lock: consistent, never
  half-written, but for a moment the folder is absent.
- **leftovers of killed runs**: temporary and old folders (``.<id>.tmp-*``, ``.<id>.old-*``)
  whose incident lock is free and whose owner process is gone are deleted by the next run in the
  same reports folder.

>>> with IncidentFolder(Path("reports"), "my-alarm-20260101T000000Z-1a2b3c4d") as folder:
...     (folder.work / "report.html").write_text("...")    # doctest: +SKIP
...     folder.commit()                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path
from types import TracebackType

from incident_lib.errors import BadInputError

__all__ = ["IncidentFolder", "exchange", "sweep_leftovers"]

log = logging.getLogger(__name__)

_LEFTOVER = re.compile(r"^\.(?P<id>.+)\.(?:tmp|old)-(?P<pid>\d+)(?:-[0-9a-f]+)?$")
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


class IncidentFolder:
    """Lock, temporary folder and atomic swap for ``root / incident_id`` (see module doc).

    Parameters
    ----------
    root
        The reports folder (created if missing; an existing file there is bad input).
    incident_id
        The folder name, already safe (:attr:`Alarm.incident_id`).
    say
        Progress lines for the terminal (waiting for another run).
    """

    def __init__(self, root: Path, incident_id: str, say=None) -> None:
        self.root = Path(root)
        self.incident_id = incident_id
        self.target = self.root / incident_id
        self.work = self.root / f".{incident_id}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        self.waited = False
        self.started = time.time()
        self._say = say or (lambda _m: None)
        self._lock_fd: int | None = None
        self._committed = False

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> IncidentFolder:
        _make_root(self.root)
        self._lock_fd = os.open(self.root / f".{self.incident_id}.lock", os.O_CREAT | os.O_RDWR)
        try:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.waited = True
                self._say(f"another run of incident {self.incident_id} is in progress: waiting")
                log.info("waiting for the lock of incident %s", self.incident_id)
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            sweep_leftovers(self.root, own=self.incident_id)
            self.work.mkdir()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                shutil.rmtree(self.work, ignore_errors=True)
        finally:
            self._unlock()

    # -- use -------------------------------------------------------------------------------
    def finished_while_waiting(self) -> bool:
        """Whether a duplicate run completed the folder while this one waited for the lock."""
        if not self.waited:
            return False
        try:
            return (self.target / "report.html").stat().st_mtime >= self.started - 1
        except OSError:
            return False

    def commit(self) -> Path:
        """Swap the finished temporary folder in as ``root / incident_id``."""
        if self.target.exists() and not self.target.is_dir():
            raise BadInputError(f"{self.target} exists and is not a folder")
        if self.target.is_dir() and exchange(self.work, self.target):
            shutil.rmtree(self.work, ignore_errors=True)  # the previous run's folder now
        elif self.target.is_dir():
            old = self.root / f".{self.incident_id}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(self.target, old)
            os.replace(self.work, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.work, self.target)
        self._committed = True
        return self.target

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def _make_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise BadInputError(f"--out {root}: exists and is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"--out {root}: cannot create the folder ({exc.strerror})") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise BadInputError(f"--out {root}: not writable")


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when this system or file system cannot (the caller falls back); raises
    ``OSError`` for any other failure.
    """
    fn = _renameat2()
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        log.debug("renameat2(RENAME_EXCHANGE) unsupported here (%s)", os.strerror(err))
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


_RENAMEAT2: list = []


def _renameat2():
    """glibc's ``renameat2`` (2.28+) through ctypes, or None. Hand-written: the standard
    library has no exchange, and no well-kept package on PyPI offers one."""
    if not _RENAMEAT2:
        fn = None
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
                fn.argtypes += [ctypes.c_uint]
                fn.restype = ctypes.c_int
        _RENAMEAT2.append(fn)
    return _RENAMEAT2[0]


def sweep_leftovers(root: Path, *, own: str | None = None) -> list[Path]:
    """Delete ``.<id>.tmp-<pid>*`` and ``.<id>.old-<pid>*`` folders of runs that are gone.

    A leftover of ``own`` (whose lock the caller holds) goes at once; another incident's goes
    when its owner process no longer exists and its lock is free. Returns what was deleted.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if not m or not entry.is_dir(follow_symlinks=False):
            continue
        incident, pid = m["id"], int(m["pid"])
        if incident != own and (_alive(pid) or not _lock_free(root, incident)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        log.info("removed %s, left by a run that did not finish", entry.name)
        removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_free(root: Path, incident: str) -> bool:
    path = root / f".{incident}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock
    return True
