"""Twenty duplicate deliveries of one alarm event at once, through the real entry point: all
exit 0, one complete folder, and a process polling ``report.html`` never finds it missing
while the folder is replaced."""

from __future__ import annotations

import json
import multiprocessing as mp
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fuzz.harness import entry_point

pytestmark = [pytest.mark.notebooks]

EVENT = (
    Path(__file__).resolve().parents[1] / "fixtures" / "alarms" / "eventbridge_lambda_errors.json"
)
DUPLICATES = 20

_READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    report, stop = Path(sys.argv[1]), Path(sys.argv[2])
    polls = misses = 0
    while not stop.exists():
        polls += 1
        try:
            with report.open("rb") as fh:
                fh.read(64)
        except FileNotFoundError:
            misses += 1
        time.sleep(0.002)
    print(polls, misses)
    """
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from incident_lib.alarm import parse_alarm
    from incident_lib.scenarios.from_alarm import build_store_for_alarm

    path = tmp_path_factory.mktemp("dup-store") / "store"
    build_store_for_alarm(parse_alarm(EVENT), path)
    return path


def _deliver(argv: list[str], log: str) -> None:
    """One delivery in a child process: ``incident`` with its output in a file."""
    import os

    from incident_lib.cli import main

    with open(log, "w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        sys.stdout = sys.stderr = fh
        code = main(argv)
        fh.flush()
    os._exit(code)


def _argv(store: Path, out: Path) -> list[str]:
    return ["investigate", str(EVENT), "--source", str(store), "--out", str(out)]


def test_twenty_duplicate_deliveries(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    first = subprocess.run(
        [*entry_point(), *_argv(store, out), "--quiet"], capture_output=True, timeout=600
    )
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    folder = Path(first.stdout.decode().strip()).parent
    before = (folder / "report.html").stat().st_mtime

    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(folder / "report.html"), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    # Twenty processes forked from one that imported the product once: real processes (the
    # lock is flock), without twenty interpreter starts on a 2-core machine.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["incident_lib.cli", "incident_lib.run", "papermill"])
    logs = [tmp_path / f"delivery-{i}.log" for i in range(DUPLICATES)]
    runs = [ctx.Process(target=_deliver, args=(_argv(store, out), str(log))) for log in logs]
    for p in runs:
        p.start()
    for p in runs:
        p.join(900)
    stop.touch()
    polls, misses = map(int, reader.communicate(timeout=60)[0].split())

    texts = [log.read_text() for log in logs]
    codes = [p.exitcode for p in runs]
    assert codes == [0] * DUPLICATES, [t[-500:] for c, t in zip(codes, texts, strict=True) if c]
    assert all(t.strip().endswith(str(folder / "report.html")) for t in texts)
    assert (folder / "report.html").stat().st_mtime > before  # replaced once, during polling
    waited = sum("in progress: waiting" in t for t in texts)
    assert waited >= 1
    assert polls > 100 and misses == 0, f"{misses} misses in {polls} polls"
    assert sorted(p.name for p in out.iterdir()) == sorted([folder.name, f".{folder.name}.lock"])
    findings = json.loads((folder / "findings.json").read_text())
    assert findings["sections"] and not findings.get("partial")
    print(f"{DUPLICATES} deliveries: {waited} waited; reader {polls} polls, {misses} misses")
