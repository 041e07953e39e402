"""Benchmark the error-signature template miner against drain3 (default settings).

    .venv/bin/python -m benchmarks.bench_signatures [--runs 3] [--only loghub|corpus]
        [--loghub DIR]

Downloads nothing. Two labelled sets, each system on its own:

- **loghub-2k, corrected templates** (Khan et al., ICSE 2022: 2,000 lines per system, the
  ``*_2k.log_structured_corrected.csv`` files), when ``benchmarks/.data/loghub-2k/`` holds them
  (``python -m benchmarks.fetch_loghub --from DIR`` puts them there; see that script for where
  they come from and their licence), or from ``--loghub DIR``. The miners see each line's
  ``Content`` column, as in the loghub benchmarks. A system's file may hold fewer than 2,000
  lines (a sample: ``fetch_loghub --sample``); the table's "lines" column says how many were
  used, and the heading says when it is a sample.
- **the project's own corpus** (:mod:`benchmarks.logcorpus`: 12 systems written after
  documented formats, 2,000 lines each, made up, committed), always.

For each system and each miner (ours: :func:`incident_lib.analysis.signatures`, the batch path
``compare_signatures`` uses; drain3 0.9.11 ``TemplateMiner`` with its default configuration,
lines fed in order): grouping accuracy (GA: the share of lines whose predicted group holds
exactly the lines of their true template), the number of groups against true templates, and
lines per CPU second over all lines (the best of ``--runs`` runs, interleaved; ours with its
token cache emptied first, and again with the cache the previous run left).

The 70/30 "new" check: in each system, the templates of the first 70% of the lines are the
baseline. A line of the last 30% whose true template is in the baseline but whose predicted group
has no baseline line would be called "new" by mistake (false new). Ours is measured twice: as
``compare_signatures`` runs it (templates learnt from all lines at once) and streaming (learnt
from the first 70%, then :meth:`TemplateMiner.match`); drain3 streams. Also counted: lines whose
true template is new but that land in a baseline group (missed new).
"""

from __future__ import annotations

import argparse
import csv
import logging
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import logcorpus
from incident_lib.analysis import templates as tpl
from incident_lib.analysis.signatures import TemplateMiner, error_text, signatures

DATA = Path(__file__).resolve().parent / ".data"
LOGHUB = DATA / "loghub-2k"
log = logging.getLogger("benchmarks.bench_signatures")

Dataset = dict[str, tuple[list[str], list[str]]]  # system -> (lines, true templates)


def grouping_accuracy(truth: Sequence[str], predicted: Sequence[object]) -> float:
    """The share of lines whose predicted group is exactly the set of lines of their true
    template (Zhu et al., ICSE-SEIP 2019)."""
    by_pred: dict[object, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        by_pred[p].append(i)
    true_size = Counter(truth)
    correct = 0
    for members in by_pred.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and true_size[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth) if truth else 1.0


def load_loghub(root: Path = LOGHUB) -> Dataset:
    """``{system: (contents, templates)}`` from the corrected structured CSV files under root."""
    out: Dataset = {}
    for path in sorted(root.glob("*/*_2k.log_structured_corrected.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        out[path.parent.name] = ([r["Content"] for r in rows], [r["EventTemplate"] for r in rows])
    return out


def load_corpus() -> Dataset:
    return {
        name: ([line for line, _ in rows], [t for _, t in rows])
        for name, rows in logcorpus.corpus().items()
    }


def ours(lines: list[str]) -> list[str]:
    return signatures(lines)


def drain3_ids(lines: list[str]) -> list[int]:
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig

    miner = Drain3Miner(config=TemplateMinerConfig())  # the defaults, no drain3.ini read
    return [miner.add_log_message(line)["cluster_id"] for line in lines]


@dataclass
class NewCheck:
    baseline_known: int = 0  # test lines whose true template is in the baseline
    false_new: int = 0
    truly_new: int = 0  # test lines whose true template is not in the baseline
    missed_new: int = 0


def new_check(truth: Sequence[str], predicted: Sequence[object], cut: int) -> NewCheck:
    base_true, base_pred = set(truth[:cut]), set(predicted[:cut])
    out = NewCheck()
    for t, p in zip(truth[cut:], predicted[cut:], strict=True):
        if t in base_true:
            out.baseline_known += 1
            out.false_new += p not in base_pred
        else:
            out.truly_new += 1
            out.missed_new += p in base_pred
    return out


def streaming_new_check(lines: list[str], truth: list[str], cut: int) -> NewCheck:
    miner = TemplateMiner().fit(error_text(x) for x in lines[:cut])
    base_true = set(truth[:cut])
    out = NewCheck()
    for line, t in zip(lines[cut:], truth[cut:], strict=True):
        known = miner.match(error_text(line)) is not None
        if t in base_true:
            out.baseline_known += 1
            out.false_new += not known
        else:
            out.truly_new += 1
            out.missed_new += known
    return out


def _speed(fn: Callable[[list[str]], object], data: Dataset, runs: int, *, cold: bool) -> float:
    """Lines per second of CPU time (process time: this machine is shared, wall time is noise),
    the best of ``runs``; ``cold`` clears our token cache before each run."""
    times = []
    total = sum(len(lines) for lines, _ in data.values())
    for _ in range(runs):
        if cold:
            tpl.clear_cache()
        t0 = time.process_time()
        for lines, _ in data.values():
            fn(lines)
        times.append(time.process_time() - t0)
    return total / min(times)


def run(name: str, data: Dataset, runs: int) -> list[str]:
    """Measure one data set; return its report lines (markdown)."""
    out = [f"### {name}", ""]
    out.append(
        "| system | lines | true templates | GA ours | GA drain3 | groups ours | groups drain3 "
        "| false new ours (batch / stream) | false new drain3 | missed new ours / drain3 |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ga_o, ga_d = [], []
    sums = Counter()
    for system, (lines, truth) in data.items():
        pred_o = ours(lines)
        pred_d = drain3_ids(lines)
        cut = int(len(lines) * 0.7)
        n_o = new_check(truth, pred_o, cut)
        n_s = streaming_new_check(lines, truth, cut)
        n_d = new_check(truth, pred_d, cut)
        g_o, g_d = grouping_accuracy(truth, pred_o), grouping_accuracy(truth, pred_d)
        ga_o.append(g_o)
        ga_d.append(g_d)
        k_o, k_d, k_t = len(set(pred_o)), len(set(pred_d)), len(set(truth))
        sums.update(
            lines=len(lines),
            true=k_t,
            groups_o=k_o,
            groups_d=k_d,
            known=n_o.baseline_known,
            fn_o=n_o.false_new,
            fn_s=n_s.false_new,
            fn_d=n_d.false_new,
            truly_new=n_o.truly_new,
            mn_o=n_o.missed_new,
            mn_d=n_d.missed_new,
        )
        out.append(
            f"| {system} | {len(lines)} | {k_t} | {g_o:.3f} | {g_d:.3f} | {k_o} | {k_d} "
            f"| {n_o.false_new} / {n_s.false_new} of {n_o.baseline_known} | {n_d.false_new} "
            f"| {n_o.missed_new} / {n_d.missed_new} of {n_o.truly_new} |"
        )
        log.info("%s %s: GA ours %.3f drain3 %.3f", name, system, g_o, g_d)
    out.append(
        f"| **all ({len(data)})** | {sums['lines']} | {sums['true']} "
        f"| **{statistics.mean(ga_o):.3f}** | **{statistics.mean(ga_d):.3f}** "
        f"| {sums['groups_o']} | {sums['groups_d']} "
        f"| {sums['fn_o']} / {sums['fn_s']} of {sums['known']} | {sums['fn_d']} "
        f"| {sums['mn_o']} / {sums['mn_d']} of {sums['truly_new']} |"
    )
    cold, warm, base = [], [], []
    for _ in range(runs):  # interleaved, so that a busy moment of the machine hits all three
        cold.append(_speed(ours, data, 1, cold=True))
        warm.append(_speed(ours, data, 1, cold=False))
        base.append(_speed(drain3_ids, data, 1, cold=True))
    speed_c, speed_w, speed_d = max(cold), max(warm), max(base)
    out += [
        "",
        f"Mean GA: ours {statistics.mean(ga_o):.3f}, drain3 {statistics.mean(ga_d):.3f}. "
        f"Lines per CPU second (best of {runs}): ours {speed_c:,.0f} with an empty token cache, "
        f"{speed_w:,.0f} with the cache of the run before; drain3 {speed_d:,.0f}. "
        f"Ratio ours/drain3: {speed_c / speed_d:.2f} (empty cache), "
        f"{speed_w / speed_d:.2f} (warm).",
        "",
    ]
    return out


def long_line_check() -> str:
    """Time of one 1 MiB line through :func:`signature` (bounded work: the line is cut)."""
    from incident_lib.analysis.signatures import signature

    t0 = time.perf_counter()
    signature("a1b2c3d4e5" * 104_858)  # one 1 MiB token of hex-like characters
    signature("x " * 524_288)  # 524,288 tokens
    took = time.perf_counter() - t0
    return f"Two 1 MiB lines (one token; 524,288 tokens) through signature(): {took:.4f} s."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["loghub", "corpus"])
    parser.add_argument("--loghub", type=Path, default=LOGHUB, metavar="DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        import drain3  # noqa: F401
    except ImportError:
        log.error("drain3 is not installed: pip install -e '.[bench]'")
        return 2
    report: list[str] = []
    if args.only != "corpus":
        loghub = load_loghub(args.loghub)
        if loghub:
            sizes = sorted({len(lines) for lines, _ in loghub.values()})
            title = "loghub-2k (corrected templates)"
            if sizes != [2000]:
                title += (
                    f": SAMPLE, the first {sizes[0]}-{sizes[-1]} lines of each system, "
                    "not the 2,000"
                )
            report += run(title, loghub, args.runs)
        else:
            report += [
                "### loghub-2k",
                "",
                f"Not measured: {args.loghub} is empty "
                "(python -m benchmarks.fetch_loghub --from DIR).",
                "",
            ]
    if args.only != "loghub":
        report += run("project corpus (benchmarks/logcorpus.py)", load_corpus(), args.runs)
    report.append(long_line_check())
    sys.stdout.write("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
