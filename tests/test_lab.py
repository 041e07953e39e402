"""``incident lab`` without starting a server: the Lab folder beside the incident (the incident
folder untouched), explore.ipynb bound to it, both notebooks in the workspace, and a command
line that listens on 127.0.0.1 with a token and has every phone-home feature off."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from incident_lib.cli import main
from incident_lib.evidence.manifest import write_manifest
from incident_lib.findings import FindingsDoc
from incident_lib.lab import lab_command, prepare_lab


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    root = tmp_path / "reports" / "some-alarm-20260101T000000Z-abcd"
    (root / "pack").mkdir(parents=True)
    (root / "findings.json").write_text("{}", encoding="utf-8")
    nbformat.write(nbformat.v4.new_notebook(), root / "notebook.ipynb")
    write_manifest(root, doc=FindingsDoc(), incident_id="x", alarm_name="a", source="store")
    return root


def test_the_lab_folder_is_beside_the_incident_and_binds_explore(incident: Path) -> None:
    from incident_lib.evidence.manifest import verify

    folder = prepare_lab(incident, source="aws")
    assert folder.root == incident.parent / "_lab" / incident.name
    assert verify(incident).ok  # nothing written into the evidence
    nb = nbformat.read(folder.root / "explore.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert f"incident_dir = {str(incident.resolve())!r}" in injected[0].source.replace('"', "'")
    assert "source = 'aws'" in injected[0].source.replace('"', "'")
    assert (folder.root / "notebook.ipynb").is_file()
    (workspace,) = (folder.state / "workspaces").glob("*.jupyterlab-workspace")
    dock = json.loads(workspace.read_text())["data"]["layout-restorer:data"]["main"]["dock"]
    assert dock["widgets"] == ["notebook:notebook.ipynb", "notebook:explore.ipynb"]
    overrides = json.loads((folder.state / "settings" / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    page = json.loads((folder.state / "config" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyterlab/apputils-extension:announcements"] is True


def test_the_server_listens_locally_with_a_token_and_phones_nobody(incident: Path) -> None:
    folder = prepare_lab(incident)
    cmd, env = lab_command(folder, port=8899, token="t0k3n")
    assert "--ip=127.0.0.1" in cmd and "--IdentityProvider.token=t0k3n" in cmd
    assert "--LabApp.news_url=None" in cmd
    assert "--LabApp.extension_manager=readonly" in cmd
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in cmd
    assert "--no-browser" in cmd and f"--ServerApp.root_dir={folder.root}" in cmd
    assert env["JUPYTER_CONFIG_DIR"].startswith(str(folder.state))
    assert env["JUPYTER_DATA_DIR"].startswith(str(folder.state))


def test_lab_on_something_that_is_not_an_incident_is_bad_input(tmp_path: Path, capsys) -> None:
    assert main(["lab", str(tmp_path)]) == 2
    assert "not an incident folder" in capsys.readouterr().err
    assert main(["lab", str(tmp_path), "--port", "70000"]) == 2
