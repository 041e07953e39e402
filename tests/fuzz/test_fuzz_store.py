"""Corrupted stores (descriptor mutations, paths leaving the store, damaged or swapped Parquet
files, null required columns) x ``store info``, ``query`` and ``investigate``: exit 0, 2 or 3,
never a traceback; a store whose paths leave its folder is refused."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import EVENTBRIDGE, FAST, SLOW
from tests.fuzz.harness import run_cli
from tests.fuzz.mutate import corrupt_store

_ids = itertools.count()
COMMANDS = ["info", "query", "investigate"]


def argv_for(command: str, store, scratch) -> list[str]:
    if command == "info":
        return ["store", "info", str(store)]
    if command == "query":
        return ["query", "fields @timestamp, @message | limit 5", "--store", str(store)]
    return [
        "investigate",
        str(EVENTBRIDGE),
        "--source",
        str(store),
        "--out",
        str(scratch / "reports"),
        "--quiet",
    ]


def check_store(r: random.Random, command: str, copy_store, outside, scratch) -> None:
    store = copy_store(f"s{next(_ids)}")
    what = corrupt_store(store, r, outside)
    outcome = run_cli(argv_for(command, store, scratch), timeout=60)
    assert outcome.clean, f"{what}: {outcome.explain()}"


@FAST
@given(r=st.randoms(use_true_random=False), command=st.sampled_from(COMMANDS))
def test_corrupted_stores(r, command, copy_store, outside_parquet, scratch, fake_kernel) -> None:
    check_store(r, command, copy_store, outside_parquet, scratch)


@pytest.mark.slow
@SLOW
@given(r=st.randoms(use_true_random=False), command=st.sampled_from(COMMANDS))
def test_corrupted_stores_many(
    r, command, copy_store, outside_parquet, scratch, fake_kernel
) -> None:
    check_store(r, command, copy_store, outside_parquet, scratch)


@pytest.mark.parametrize(
    "file",
    ["../outside.parquet", "/etc/passwd", "sub/../../outside.parquet"],
    ids=["dotdot", "absolute", "dotdot-inside"],
)
def test_table_paths_stay_in_the_store(file, copy_store, outside_parquet) -> None:
    store = copy_store("escape")
    (store.parent / "outside.parquet").write_bytes(outside_parquet.read_bytes())
    desc = json.loads((store / "store.json").read_text())
    desc["tables"]["logs"]["file"] = file
    (store / "store.json").write_text(json.dumps(desc))
    outcome = run_cli(["store", "info", str(store)])
    assert outcome.code == 2, outcome.explain()
    assert "tables.logs.file" in outcome.err and "store.json" in outcome.err, outcome.err


def test_symlink_out_of_the_store_is_refused(copy_store, outside_parquet) -> None:
    store = copy_store("symlink")
    (store / "logs.parquet").unlink()
    (store / "logs.parquet").symlink_to(outside_parquet)
    outcome = run_cli(["store", "info", str(store)])
    assert outcome.code == 2 and "outside the store" in outcome.err, outcome.explain()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("format"), "format"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d.update(version=1.0), "version"),
        (lambda d: d["tables"]["logs"].update(rows="3"), "tables.logs.rows"),
    ],
    ids=["no-format", "string-version", "float-version", "string-rows"],
)
def test_descriptor_is_validated_strictly(change, field, copy_store) -> None:
    store = copy_store("strict")
    desc = json.loads((store / "store.json").read_text())
    change(desc)
    (store / "store.json").write_text(json.dumps(desc))
    outcome = run_cli(["store", "info", str(store)])
    assert outcome.code == 2, outcome.explain()
    assert f"column: {field}" in outcome.err or f"field: {field}" in outcome.err, outcome.err


def test_null_required_column_is_refused(copy_store) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = copy_store("nulls")
    file = store / "logs.parquet"
    table = pq.read_table(file)
    message = pa.array([None] * table.num_rows, pa.string())
    pq.write_table(
        table.set_column(table.schema.get_field_index("message"), "message", message), file
    )
    outcome = run_cli(["store", "info", str(store)])
    assert outcome.code == 2 and "message" in outcome.err, outcome.explain()
