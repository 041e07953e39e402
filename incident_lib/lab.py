"""``incident lab``: JupyterLab on one incident, on 127.0.0.1 with a token, nothing phoning home.

The incident folder itself is evidence (``incident verify`` hashes every file in it), so Lab
does not run there: it runs in a folder beside it, ``<reports>/_lab/<incident-id>/``, holding

- ``notebook.ipynb``: a copy of the incident's executed notebook (saving it changes nothing
  the manifest covers);
- ``explore.ipynb``: ``notebooks/explore.ipynb`` with its parameters filled in (papermill's
  ``parameterize_notebook``: the incident folder and the source), rewritten at each start;
- ``.lab/``: Lab's own config, runtime, settings and workspace folders, so nothing is read
  from or written to ``~/.jupyter``. The workspace opens both notebooks.

Off: the news feed (``--LabApp.news_url=None``, the ``announcements`` plugin disabled), the
update check (``NeverCheckForUpdate``, ``checkForUpdates: false``), the extension manager's
PyPI look-ups (``--LabApp.extension_manager=readonly``, its plugin disabled), terminals and the
language server. Pins from ``explore.ipynb`` go into the incident folder through
:mod:`incident_lib.evidence.pins`, which keeps its manifest true.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from incident_lib.errors import BadInputError, IncidentError

__all__ = [
    "LabFolder",
    "LabServer",
    "bind_notebooks",
    "lab_command",
    "lab_folder",
    "prepare_lab",
    "start_lab",
]

LAB_DIR = "_lab"
EXPLORE = "explore.ipynb"
EXECUTED = "notebook.ipynb"

#: Lab settings (overrides.json): no news, no update check, a kernel started without asking,
#: widget state saved with the notebook (so a report of it shows the widgets' last state).
SETTINGS_OVERRIDES: dict[str, Any] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
}
#: Front-end plugins turned off (page_config.json): the news and the extension manager.
DISABLED_PLUGINS = (
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/extensionmanager-extension",
)


@dataclass
class LabFolder:
    """Where Lab runs for one incident."""

    root: Path
    incident_dir: Path
    state: Path  # .lab/

    @property
    def notebooks(self) -> list[str]:
        return [EXECUTED, EXPLORE] if (self.root / EXECUTED).is_file() else [EXPLORE]


def prepare_lab(incident_dir: Path, *, source: str | None = None) -> LabFolder:
    """Write the Lab folder of ``incident_dir``: the two notebooks, settings, workspace."""
    inc = Path(incident_dir).resolve()
    if not (inc / "findings.json").is_file():
        raise BadInputError(f"{incident_dir} is not an incident folder (no findings.json)")
    folder = lab_folder(inc)
    bind_notebooks(folder, source=source)
    return folder


def lab_folder(incident_dir: Path) -> LabFolder:
    """The Lab folder's settings and state (a server can start on it before the incident's
    notebooks are bound: :func:`bind_notebooks`)."""
    inc = Path(incident_dir).resolve()
    root = inc.parent / LAB_DIR / inc.name
    state = root / ".lab"
    for sub in ("config/labconfig", "runtime", "settings", "workspaces", "data"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "settings" / "overrides.json").write_text(
        json.dumps(SETTINGS_OVERRIDES, indent=2) + "\n", encoding="utf-8"
    )
    (state / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(DISABLED_PLUGINS, True)}, indent=2),
        encoding="utf-8",
    )
    return LabFolder(root=root, incident_dir=inc, state=state)


def bind_notebooks(folder: LabFolder, *, source: str | None = None) -> None:
    """Copy the executed notebook, write explore.ipynb with the incident's parameters, and
    the workspace that opens both."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from incident_lib.paths import notebooks_dir

    inc = folder.incident_dir
    if (inc / EXECUTED).is_file():
        shutil.copyfile(inc / EXECUTED, folder.root / EXECUTED)
    # papermill's loader gives every cell the metadata parameterize_notebook expects.
    template = load_notebook_node(str(notebooks_dir() / EXPLORE))
    nb = parameterize_notebook(
        template,
        {"incident_dir": str(inc), "source": str(source or "")},
        report_mode=False,
    )
    nbformat.write(nb, folder.root / EXPLORE)
    _write_workspace(folder)


def _write_workspace(folder: LabFolder) -> None:
    """The default workspace: both notebooks open, explore.ipynb in front."""
    from jupyterlab_server.workspaces_handler import WorkspacesManager

    names = folder.notebooks
    data: dict[str, Any] = {
        "layout-restorer:data": {
            "main": {
                "dock": {
                    "type": "tab-area",
                    "currentIndex": len(names) - 1,
                    "widgets": [f"notebook:{n}" for n in names],
                },
                "current": f"notebook:{EXPLORE}",
            },
        },
    }
    for n in names:
        data[f"notebook:{n}"] = {"data": {"path": n, "factory": "Notebook"}}
    raw = json.dumps({"data": data, "metadata": {"id": "default"}})
    WorkspacesManager(str(folder.state / "workspaces")).save("default", raw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_command(folder: LabFolder, *, port: int, token: str) -> tuple[list[str], dict[str, str]]:
    """The ``jupyter lab`` command line and environment for ``folder``."""
    state = folder.state
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_DATA_DIR=str(state / "data"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder.root}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        f"--LabApp.user_settings_dir={state / 'user-settings'}",
        f"--LabServerApp.app_settings_dir={state / 'settings'}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.jpserver_extensions={'jupyter_lsp': False, 'jupyter_server_terminals': False}",
        "--ServerApp.terminals_enabled=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")  # containers and CI run as root
    return cmd, env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """The server gets SIGTERM when this process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class LabServer:
    """A running ``jupyter lab`` for one :class:`LabFolder`."""

    folder: LabFolder
    port: int
    token: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = EXPLORE, *, reset: bool = False) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}" + ("&reset" if reset else "")

    def api(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.base}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server answers ``/api/status`` (an error if it exits or does not)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise IncidentError(f"jupyter lab exited with {self.proc.returncode}:\n{tail}")
            try:
                self.api("/api/status")
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise IncidentError(
                        f"jupyter lab did not answer within {timeout:.0f}s"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # our own child only
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_lab(
    folder: LabFolder,
    *,
    port: int | None = None,
    startup_timeout: float = 60.0,
    wait: bool = True,
) -> LabServer:
    """Start Lab on ``folder`` and (``wait``) wait until it answers ``/api/status``.

    Call it from the thread that keeps the server: on Linux the server is stopped when the
    thread that started it ends (``PR_SET_PDEATHSIG``)."""
    port = port or _free_port()
    token = secrets.token_hex(16)
    cmd, env = lab_command(folder, port=port, token=token)
    log = folder.state / "lab.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder.root,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    server = LabServer(folder=folder, port=port, token=token, proc=proc, log=log)
    if wait:
        server.wait_ready(startup_timeout)
    return server


@contextlib.contextmanager
def running_lab(folder: LabFolder, **kw: Any) -> Iterator[LabServer]:
    server = start_lab(folder, **kw)
    try:
        yield server
    finally:
        server.stop()


def demo_incident(scenario: str = "lambda_errors", *, quiet: bool = False) -> Path:
    """The demo incident's folder, investigated first if it is not there yet."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event, demo_store
    from incident_lib.paths import reports_dir
    from incident_lib.run import investigate

    store = demo_store(scenario)
    alarm = parse_alarm(alarm_event(store))
    folder = reports_dir() / alarm.incident_id
    if (folder / "pack" / "manifest.json").is_file():
        return folder
    if not quiet:
        print(f"… investigating the {scenario} demo incident first", file=sys.stderr)
    return investigate(alarm, source=store.path).directory
