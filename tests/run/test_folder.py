"""incident_lib.folder: the incident folder is swapped in whole, under a lock per incident.

Processes, not threads: the lock is ``flock`` (per open file description) and the readers of a
report folder are other programs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incident_lib.errors import BadInputError
from incident_lib.folder import IncidentFolder, exchange, sweep_leftovers

INCIDENT = "checkout-errors-20260101T000000Z-1a2b3c4d"
FILES = ("report.html", "notebook.ipynb", "findings.json", "alarm.json")


def _write_run(root: str, tag: str) -> None:
    with IncidentFolder(Path(root), INCIDENT) as folder:
        for name in FILES:
            (folder.work / name).write_text(tag)
        folder.commit()


def _writer(root: str, runs: int, who: int) -> None:
    for i in range(runs):
        _write_run(root, f"{who}-{i}")


def _reader(root: str, stop, result) -> None:
    """Poll report.html as a browser or an uploader would; count misses and partial files."""
    polls = misses = partial = 0
    report = Path(root) / INCIDENT / "report.html"
    while not stop.is_set():
        polls += 1
        try:
            text = report.read_text()
        except FileNotFoundError:
            misses += 1
            continue
        partial += not (text == "seed" or text.count("-") == 1)
    result.put((polls, misses, partial))


def test_commit_replaces_the_folder_whole(tmp_path: Path) -> None:
    _write_run(str(tmp_path), "first")
    _write_run(str(tmp_path), "second")
    assert {(tmp_path / INCIDENT / n).read_text() for n in FILES} == {"second"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([INCIDENT, f".{INCIDENT}.lock"])


def test_failed_run_leaves_the_previous_folder(tmp_path: Path) -> None:
    _write_run(str(tmp_path), "good")
    with pytest.raises(RuntimeError), IncidentFolder(tmp_path, INCIDENT) as folder:
        (folder.work / "report.html").write_text("half")
        raise RuntimeError("kernel died")
    assert (tmp_path / INCIDENT / "report.html").read_text() == "good"
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("b")
    if not exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) not available here (the fallback is used)")
    assert (tmp_path / "a" / "x").read_text() == "b"
    assert (tmp_path / "b" / "x").read_text() == "a"


def test_out_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.write_text("not a folder")
    with pytest.raises(BadInputError, match="not a folder"), IncidentFolder(out, INCIDENT):
        pass


def test_concurrent_writers_and_a_polling_reader(tmp_path: Path) -> None:
    """Eight processes replace the same incident folder 15 times each while another process
    reads it in a loop: the reader never misses report.html nor reads a partial one."""
    ctx = mp.get_context("spawn")
    root = str(tmp_path)
    _write_run(root, "seed")
    stop, result = ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(root, stop, result))
    reader.start()
    writers = [ctx.Process(target=_writer, args=(root, 15, w)) for w in range(8)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    stop.set()
    polls, misses, partial = result.get(timeout=60)
    reader.join(30)
    assert [w.exitcode for w in writers] == [0] * 8
    if not exchange_supported(tmp_path):
        pytest.skip(f"no RENAME_EXCHANGE: fallback swap ({misses} misses in {polls} polls)")
    assert polls > 100
    assert (misses, partial) == (0, 0), f"{misses} misses, {partial} partial in {polls} polls"
    assert not list(tmp_path.glob(".*.tmp-*")) and not list(tmp_path.glob(".*.old-*"))


def exchange_supported(tmp_path: Path) -> bool:
    a, b = tmp_path / ".probe-a", tmp_path / ".probe-b"
    a.mkdir()
    b.mkdir()
    try:
        return exchange(a, b)
    finally:
        a.rmdir()
        b.rmdir()


_HOLDER = """
import sys, time
from pathlib import Path
from incident_lib.folder import IncidentFolder
with IncidentFolder(Path(sys.argv[1]), sys.argv[2]) as folder:
    (folder.work / "report.html").write_text("never committed")
    print(folder.work, flush=True)
    time.sleep(600)
"""


def _start_holder(root: Path, incident: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root), incident],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    work = Path(proc.stdout.readline().strip())
    assert work.is_dir()
    return proc, work


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path: Path) -> None:
    proc, work = _start_holder(tmp_path, INCIDENT)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert work.is_dir()  # kill -9 leaves the temporary folder behind
    _write_run(str(tmp_path), "next")
    assert not work.exists()
    assert (tmp_path / INCIDENT / "report.html").read_text() == "next"


def test_a_live_run_of_another_incident_is_left_alone(tmp_path: Path) -> None:
    proc, work = _start_holder(tmp_path, "other-incident-20260101T000000Z-00000000")
    try:
        _write_run(str(tmp_path), "mine")
        assert work.is_dir()  # its owner is alive and holds its lock
    finally:
        proc.kill()
        proc.wait(10)
    assert sweep_leftovers(tmp_path) == [work]  # owner gone, lock free: removed


def test_a_duplicate_waits_and_takes_the_finished_folder(tmp_path: Path) -> None:
    proc, _work = _start_holder(tmp_path, INCIDENT)
    try:
        folder = IncidentFolder(tmp_path, INCIDENT)
        started = time.time()
        proc.kill()  # the holder "finishes" (here: dies) while we wait
        with folder:
            assert folder.waited or time.time() - started < 1
            assert not folder.finished_while_waiting()  # nothing was committed
    finally:
        proc.wait(10)
