"""Put loghub-2k with the corrected templates into benchmarks/.data/loghub-2k/ (not in git).

    .venv/bin/python -m benchmarks.fetch_loghub --from DIR

The data: loghub's 2,000-line samples of 16 systems (He et al., "Loghub: A Large Collection of
System Log Datasets for AI-driven Log Analytics", ISSRE 2023; github.com/logpai/loghub), with
the templates as corrected by Khan et al., "Guidelines for Assessing the Accuracy of Log
Message Template Identification Techniques", ICSE 2022. The corrected files
(``<System>_2k.log_structured_corrected.csv``) ship in logpai/logparser
(``data/loghub_2k_corrected/``) and, for 14 of the systems, in logpai/loghub-2.0
(``2k_dataset/``). Licence: loghub's data are "freely available for research or academic
work"; that is why they stay out of this repository (``benchmarks/.data/`` is gitignored).

Where to get them from here: nowhere automatically. This workplace reaches only package
registries (PyPI, npm, Debian), and none of the packages that were checked carries loghub-2k:
on PyPI logparser3 (every version, sdist and wheel), logpai, loglizer, logbatcher, logai,
loglead, logadu, icse-unleash, nerlogparser, pylogparser, drain3 and drain3-improved; tipping's
sdist could not be inspected without building it; nothing relevant on npm or in Debian.
So the script takes a folder you copied from one of the repositories above (a clone, or an
unpacked archive of it) and copies the corrected CSV files into place, checking what it copies.
It downloads nothing.

``--sample`` accepts files that hold fewer than the 2,000 lines (a prefix of each file, e.g.
copied page by page through a code index), and files that keep only the columns the benchmark
reads (``LineId``, ``Content``, ``EventTemplate``); without it such a file is refused, so that a
truncated copy is not taken for the full set by mistake. The benchmark reports the number of
lines it used per system either way.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import sys
from pathlib import Path

DEST = Path(__file__).resolve().parent / ".data" / "loghub-2k"
SYSTEMS = [
    *("Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac"),
    *("OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper"),
]
log = logging.getLogger("benchmarks.fetch_loghub")


def find_files(source: Path) -> dict[str, Path]:
    """``{system: path}`` of every ``<System>_2k.log_structured_corrected.csv`` under source."""
    found: dict[str, Path] = {}
    for path in sorted(source.rglob("*_2k.log_structured_corrected.csv")):
        system = path.name.split("_2k.")[0]
        if system in SYSTEMS and system not in found:
            found[system] = path
    return found


FULL = 2000  # lines per system in loghub-2k


def check(path: Path, *, sample: bool = False) -> int:
    """The number of rows; raises ValueError if the file is not a loghub structured CSV, or
    (unless ``sample``) if it does not hold the 2,000 lines of loghub-2k."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"LineId", "Content", "EventTemplate"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: no column {sorted(missing)}")
        rows = 0
        for rows, row in enumerate(reader, 1):
            if row["LineId"] != str(rows) or row["Content"] is None or row["EventTemplate"] is None:
                raise ValueError(f"{path}: row {rows} is not line {rows} with its template")
    if rows == 0:
        raise ValueError(f"{path}: no rows")
    if rows != FULL and not sample:
        raise ValueError(f"{path}: {rows} lines, not {FULL} (use --sample for a prefix)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="DIR")
    parser.add_argument("--dest", type=Path, default=DEST)
    parser.add_argument(
        "--sample",
        action="store_true",
        help="accept a prefix of each file (fewer than 2,000 lines), e.g. a partial copy",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    found = find_files(args.source)
    if not found:
        log.error("no *_2k.log_structured_corrected.csv under %s", args.source)
        return 2
    for system, path in found.items():
        try:
            rows = check(path, sample=args.sample)
        except ValueError as exc:
            log.error("%s", exc)
            return 2
        target = args.dest / system / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        log.info("%s: %d lines -> %s", system, rows, target)
    missing = sorted(set(SYSTEMS) - set(found))
    if missing:
        log.warning("not found: %s", ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
