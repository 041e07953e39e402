"""Run an investigation: the right notebook, executed by papermill with the alarm's facts,
then the report, the executed notebook and ``findings.json`` under ``reports/<incident-id>/``.

The incident id is stable for one alarm state change, so a repeated delivery of the same
event writes the same folder; the folder is replaced atomically, never half-written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from incident_lib.alarm import Alarm
from incident_lib.catalog import check_notebook, resolve
from incident_lib.errors import BadInputError, InputLimitError
from incident_lib.evidence.investigation import EvidenceOptions
from incident_lib.findings import FindingsDoc, SectionStatus, extract
from incident_lib.folder import IncidentFolder
from incident_lib.limits import check_deadline, check_window
from incident_lib.paths import reports_dir
from incident_lib.redact import mask_json, mask_notebook, mask_secrets
from incident_lib.store import open_store
from incident_lib.timeutil import format_iso, parse_duration, utc_now

log = logging.getLogger(__name__)

REPORT = "report.html"
NOTEBOOK = "notebook.ipynb"
FINDINGS = "findings.json"
ALARM = "alarm.json"


@dataclass
class RunResult:
    """Where an investigation's outputs are, and how it went."""

    incident_id: str
    directory: Path
    alert_type: str
    findings: FindingsDoc
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        return self.directory / REPORT

    @property
    def notebook(self) -> Path:
        return self.directory / NOTEBOOK

    @property
    def partial(self) -> bool:
        return self.findings.partial

    @property
    def exit_code(self) -> int:
        return 3 if self.partial else 0


def investigate(
    alarm: Alarm,
    *,
    source: str | Path,
    out: Path | None = None,
    config: Path | None = None,
    window_before: str | None = None,
    window_after: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
    kernel_name: str | None = None,
    notebook: Path | None = None,
    progress: Callable[[str], None] | None = None,
    deadline: str | float = "90s",
    evidence: EvidenceOptions | None = None,
    extra_parameters: dict[str, Any] | None = None,
    cell_timeout: float | None = None,
    run_timeout: float | None = None,
    kernels: Any | None = None,
) -> RunResult:
    """Investigate ``alarm`` against ``source`` (``"aws"`` or a store path).

    ``notebook`` runs that notebook (a team's own runbook) instead of the catalogue's, with the
    same parameters. ``evidence`` says what is kept besides the report (default: the pack,
    the manifest and the RCA draft with its figures); ``extra_parameters`` override the
    catalogue's notebook parameters (a replay passes the recorded run's). ``kernels``: a
    :class:`incident_lib.serve.kernels.KernelPool` whose warm kernel runs the notebook
    (``incident serve``) instead of a kernel started for it.

    Returns a :class:`RunResult`; a section that failed makes the result ``partial`` (exit
    status 3) but never costs the report. ``deadline`` bounds the time spent on AWS calls, all
    sections together (``"90s"``, ``"2m"`` or seconds): past it, calls fail fast with
    :class:`~incident_lib.errors.DeadlineExceeded` and the report is written with the rest.
    ``cell_timeout`` and ``run_timeout`` (seconds; default :func:`run_timeouts`) stop a cell,
    and the whole notebook, that runs longer: that section fails, the report is written.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    deadline_s = check_options(
        window_before=window_before, window_after=window_after, out=out, deadline=deadline
    )
    deadline_at = time.time() + deadline_s
    if str(source) != "aws":
        open_store(source)  # a wrong path is bad input (exit 2), found before any kernel starts
        # The kernel runs in the notebook's folder: a relative store path must not depend on it.
        source = Path(source).resolve()
    timings: dict[str, float] = {}
    plan = resolve(alarm, config=config, window_before=window_before, window_after=window_after)
    # A team's notebook (--notebook, or its catalogue file) that is not there is bad input,
    # found before any kernel starts.
    plan = dataclasses.replace(plan, notebook=check_notebook(Path(notebook or plan.notebook)))
    parameters = dict(plan.parameters)
    parameters["source"] = str(source)
    for key, value in (
        ("profile", profile),
        ("role_arn", role_arn),
        ("endpoint_url", endpoint_url),
    ):
        if value:
            parameters[key] = value
    parameters.update(extra_parameters or {})
    evidence = evidence or EvidenceOptions()
    with IncidentFolder(out or reports_dir(), alarm.incident_id, say) as folder:
        if folder.finished_while_waiting():
            return _result_of(folder.target, alarm, plan.alert_type, started)
        with _kernel_env(str(source), deadline_at, say, process=kernels is None) as env:
            doc = _run(
                plan,
                parameters,
                alarm,
                source,
                folder.work,
                kernel_name,
                say,
                timings,
                evidence,
                run_timeouts(deadline_s, cell_timeout, run_timeout),
                kernels=kernels,
                kernel_env=env,
            )
        target = folder.commit()
    result = RunResult(
        incident_id=alarm.incident_id,
        directory=target,
        alert_type=plan.alert_type,
        findings=doc,
        seconds=time.perf_counter() - started,
        timings=timings,
    )
    log.info("investigation %s done in %.1fs", alarm.incident_id, result.seconds)
    return result


def _run(
    plan: Any,
    parameters: dict[str, Any],
    alarm: Alarm,
    source: str | Path,
    work: Path,
    kernel_name: str | None,
    say: Callable[[str], None],
    timings: dict[str, float],
    evidence: EvidenceOptions,
    timeouts: tuple[float | None, float | None] = (None, None),
    *,
    kernels: Any | None = None,
    kernel_env: dict[str, str] | None = None,
) -> FindingsDoc:
    """Execute the notebook into ``work`` and write the report, findings, alarm, evidence pack
    and RCA draft there. With ``kernels``, on one of the pool's warm kernels: what the
    kernel's start would have set (working folder, the recorder's folder, the AWS deadline
    and progress file: ``kernel_env``) is set in it first."""
    import papermill as pm

    from incident_lib.execution import execute
    from incident_lib.report import render_report

    say(f"running {plan.notebook.name} ({plan.alert_type}) on {source}")
    t0 = time.perf_counter()
    failure: str | None = None
    hang = None
    common = {
        # Per-cell and overall limits: a hung cell (nbclient issue 312) becomes a failed
        # section, never a stuck run (incident_lib.execution).
        "cell_timeout": timeouts[0],
        "run_timeout": timeouts[1],
        "parameters": parameters,
        "kernel_name": kernel_name,
        "progress_bar": False,
        "log_output": False,
        # The executed notebook is written once at the end (also after a failure):
        # saving after every cell cost about 0.8 s of a 5 s run.
        "request_save_on_cell_execute": False,
    }
    try:
        if kernels is None:
            hang = execute(
                plan.notebook,
                work / NOTEBOOK,
                # The kernel's own warnings ("running over TCP without encryption" on a
                # local kernel) are noise in an on-call terminal; its errors still show.
                extra_arguments=[
                    "--IPKernelApp.log_level=ERROR",
                    *_evidence_kernel_arguments(work, evidence),
                ],
                cwd=str(plan.notebook.parent),
                **common,
            )
        else:
            env = {**(kernel_env or {}), **_evidence_kernel_env(work, evidence)}
            with kernels.kernel(cwd=Path(plan.notebook).resolve().parent, env=env) as km:
                timings["kernel_wait"] = time.perf_counter() - t0
                hang = execute(Path(plan.notebook).resolve(), work / NOTEBOOK, km=km, **common)
    except pm.PapermillExecutionError as exc:
        failure = mask_secrets(f"{exc.ename}: {exc.evalue}")
        log.warning("notebook stopped with an error: %s", failure)
    timings["execute"] = time.perf_counter() - t0
    # Masked before anything is written: outputs, the alarm_json parameter, metadata.
    nb = mask_notebook(nbformat.read(work / NOTEBOOK, as_version=4))
    doc = extract(nb)
    if failure:
        doc.sections.append(
            SectionStatus(name="notebook", status="failed", error=mask_secrets(failure))
        )
    if hang is not None:
        doc.sections.append(
            SectionStatus(name=hang.section or "notebook", status="failed", error=hang.reason)
        )
    nb.metadata["incident"] = mask_json(_metadata(alarm, plan.alert_type, str(source), parameters))
    pack = _evidence_assemble(
        work, nb, alarm, doc, str(source), parameters, evidence, plan.notebook, say, timings
    )
    nbformat.write(nb, work / NOTEBOOK)
    say("writing the report")
    t0 = time.perf_counter()
    render_report(nb, work / REPORT)
    timings["report"] = time.perf_counter() - t0
    (work / FINDINGS).write_text(doc.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (work / ALARM).write_text(_masked_alarm_json(alarm), encoding="utf-8")
    _evidence_finish(work, alarm, doc, str(source), parameters, pack, evidence, timings)
    return doc


#: A cell may take the AWS deadline plus this; the whole notebook the deadline plus RUN_MARGIN.
CELL_MARGIN = 60.0
RUN_MARGIN = 300.0


def run_timeouts(
    deadline: float, cell: float | None = None, run: float | None = None
) -> tuple[float, float]:
    """The per-cell and overall limits of a run (seconds): given, else derived from the AWS
    deadline (every AWS call of the run fits in it; the rest is local work)."""
    return (cell or deadline + CELL_MARGIN, run or deadline + RUN_MARGIN)


def check_options(
    *,
    window_before: str | None = None,
    window_after: str | None = None,
    out: Path | None = None,
    deadline: str | float = "90s",
) -> float:
    """The run's options within :mod:`incident_lib.limits` (bad input, exit 2, otherwise):
    the window, the deadline, and ``out`` a folder (or nothing yet). Returns the deadline in
    seconds."""
    durations = []
    for name, text in (  # not given: the alert type's window (catalog.toml), checked by its schema
        ("--before", window_before or "60m"),
        ("--after", window_after or "15m"),
        ("--deadline", deadline),
    ):
        try:
            durations.append(parse_duration(text))
        except (OverflowError, ValueError):
            raise InputLimitError(
                f"{name} {str(text)[:40]!r} is out of range", limit=name
            ) from None
    check_window(durations[0], durations[1])
    check_deadline(durations[2])
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise BadInputError(f"--out {out}: exists and is not a folder")
    return durations[2].total_seconds()


@contextlib.contextmanager
def _kernel_env(
    source: str, deadline_at: float, say: Callable[[str], None], *, process: bool = True
) -> Iterator[dict[str, str]]:
    """For an AWS run: the deadline and a progress file in the environment the kernel
    inherits, and the file's lines shown through ``say`` as they come (throttling, slow
    queries). The kernel is another process: the environment is how it learns both. Yields
    the variables; ``process=False`` leaves this process's environment alone (a warm kernel,
    already started, gets them from the caller)."""
    if source != "aws":
        yield {}
        return
    from incident_lib.sources.clients import DEADLINE_ENV, PROGRESS_ENV

    fd, name = tempfile.mkstemp(prefix="incident-progress-", suffix=".log")
    os.close(fd)
    env = {DEADLINE_ENV: repr(deadline_at), PROGRESS_ENV: name}
    saved = {key: os.environ.get(key) for key in env}
    if process:
        os.environ.update(env)
    stop = threading.Event()
    tail = threading.Thread(target=_tail, args=(Path(name), say, stop), daemon=True)
    tail.start()
    try:
        yield env
    finally:
        stop.set()
        tail.join(5)
        for key, value in saved.items() if process else ():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with contextlib.suppress(OSError):
            os.unlink(name)


def _tail(path: Path, say: Callable[[str], None], stop: threading.Event) -> None:
    with path.open(encoding="utf-8", errors="replace") as fh:
        while True:
            line = fh.readline()
            if line:
                say(mask_secrets(line.rstrip("\n")))
            elif stop.is_set():
                return
            else:
                stop.wait(0.3)


def _result_of(directory: Path, alarm: Alarm, alert_type: str, started: float) -> RunResult:
    """The result of the duplicate run that finished while this one waited."""
    log.info("incident %s was investigated while this run waited: reusing it", alarm.incident_id)
    doc = FindingsDoc.model_validate_json((directory / FINDINGS).read_text(encoding="utf-8"))
    return RunResult(
        incident_id=alarm.incident_id,
        directory=directory,
        alert_type=alert_type,
        findings=doc,
        seconds=time.perf_counter() - started,
    )


def _masked_alarm_json(alarm: Alarm) -> str:
    """The normalised alarm as kept in ``alarm.json``, with its secrets masked."""
    return json.dumps(mask_json(alarm.model_dump(mode="json")), indent=2) + "\n"


# -- evidence pack, timeline, RCA (incident_lib.evidence) ------------------------------------
def _evidence_kernel_arguments(work: Path, evidence: EvidenceOptions) -> list[str]:
    from incident_lib.evidence.investigation import kernel_arguments

    return kernel_arguments(work) if evidence.pack else []


def _evidence_kernel_env(work: Path, evidence: EvidenceOptions) -> dict[str, str]:
    from incident_lib.evidence.investigation import kernel_env

    return kernel_env(work) if evidence.pack else {}


def _evidence_assemble(
    work: Path,
    nb: Any,
    alarm: Alarm,
    doc: FindingsDoc,
    source: str,
    parameters: dict[str, Any],
    evidence: EvidenceOptions,
    notebook: Path,
    say: Callable[[str], None],
    timings: dict[str, float],
) -> Any:
    from incident_lib.evidence.investigation import assemble

    nb.metadata.setdefault("incident", {})["notebook"] = str(notebook)
    if evidence.pack:
        say("writing the evidence pack")
    t0 = time.perf_counter()
    pack = assemble(
        work, nb, alarm=alarm, doc=doc, source=source, parameters=parameters, options=evidence
    )
    timings["pack"] = time.perf_counter() - t0
    return pack


def _evidence_finish(
    work: Path,
    alarm: Alarm,
    doc: FindingsDoc,
    source: str,
    parameters: dict[str, Any],
    pack: Any,
    evidence: EvidenceOptions,
    timings: dict[str, float],
) -> None:
    from incident_lib.evidence.investigation import finish

    t0 = time.perf_counter()
    finish(
        work,
        alarm=alarm,
        doc=doc,
        source=source,
        parameters=parameters,
        pack=pack,
        options=evidence,
    )
    timings["rca_manifest"] = time.perf_counter() - t0


def _metadata(alarm: Alarm, alert_type: str, source: str, parameters: dict[str, Any]) -> dict:
    return {
        "alarm": {
            "name": alarm.name,
            "arn": alarm.arn,
            "region": alarm.region,
            "account": alarm.account,
            "new_state": alarm.new_state,
            "previous_state": alarm.previous_state,
            "state_change_time": format_iso(alarm.state_change_time),
            "reason": mask_secrets(alarm.reason or ""),
        },
        "incident_id": alarm.incident_id,
        "alert_type": alert_type,
        "source": source,
        "window": {"start": parameters.get("start"), "end": parameters.get("end")},
        "generated_at": format_iso(utc_now()),
        "parameters": json.loads(
            json.dumps({k: v for k, v in parameters.items() if k != "alarm_json"}, default=str)
        ),
    }
