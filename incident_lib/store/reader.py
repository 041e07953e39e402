"""Open and validate a telemetry store."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from incident_lib.errors import StoreError
from incident_lib.store.schema import (
    DESCRIPTOR,
    FORMAT_NAME,
    FORMAT_VERSION,
    OPTIONAL_TABLES,
    TABLES,
    table_file,
    type_matches,
)

log = logging.getLogger(__name__)


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value


class TableInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    rows: int = Field(ge=0)


class StoreDescriptor(BaseModel):
    """``store.json``: what the store holds and, for a demo scenario, its ground truth."""

    model_config = ConfigDict(extra="forbid")
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION
    created: datetime
    account_id: str = "123456789012"
    region: str = "us-east-1"
    time_range: TimeRange | None = None
    tables: dict[str, TableInfo]
    scenario: dict[str, Any] | None = None
    # For an evidence pack: the queries as sent and where their results are.
    provenance: dict[str, Any] | None = None

    @field_validator("created")
    @classmethod
    def _created_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value


class Store:
    """A validated telemetry store on disk. Use :func:`open_store` to get one."""

    def __init__(self, path: Path, descriptor: StoreDescriptor) -> None:
        self.path = path
        self.descriptor = descriptor

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        tr = self.descriptor.time_range
        if tr is None:
            return None
        return pd.Timestamp(tr.start).tz_convert("UTC"), pd.Timestamp(tr.end).tz_convert("UTC")

    @property
    def ground_truth(self) -> dict[str, Any]:
        return dict((self.descriptor.scenario or {}).get("ground_truth", {}))

    def table_path(self, name: str) -> Path:
        if name not in TABLES:
            raise StoreError(f"no table named {name!r}; tables: {', '.join(TABLES)}")
        return self.path / self.descriptor.tables[name].file

    def read(self, name: str) -> pd.DataFrame:
        """A whole table as a DataFrame (for the small tables; query ``logs`` with DuckDB)."""
        if name in OPTIONAL_TABLES and name not in self.descriptor.tables:
            return TABLES[name].empty_table().to_pandas()
        return pq.read_table(self.table_path(name)).to_pandas()

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table (``metrics``, ``logs``, ...).

        The views read the Parquet files lazily: nothing is loaded until a query runs.
        """
        con = con or duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name in TABLES:
            if name not in self.descriptor.tables:  # an optional table this store predates
                con.register(f"_{name}_empty", TABLES[name].empty_table())
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _{name}_empty")
                continue
            path = str(self.table_path(name)).replace("'", "''")
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        return con


def open_store(path: str | Path) -> Store:
    """Open the store at ``path``, checking the descriptor and every table's columns and types.

    Raises :class:`StoreError` naming the file and the column at fault.
    """
    root = Path(path)
    if not root.is_dir():
        raise StoreError("not a telemetry store (no such folder)", path=str(root))
    desc_path = root / DESCRIPTOR
    if not desc_path.is_file():
        raise StoreError(f"not a telemetry store (no {DESCRIPTOR})", path=str(desc_path))
    try:
        raw = json.loads(desc_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"cannot read descriptor: {exc}", path=str(desc_path)) from None
    try:
        descriptor = StoreDescriptor.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise StoreError(
            f"bad descriptor: {first['msg']}", path=str(desc_path), column=field
        ) from None
    if descriptor.format != FORMAT_NAME:
        raise StoreError(f"unknown format {descriptor.format!r}", path=str(desc_path))
    if descriptor.version > FORMAT_VERSION:
        raise StoreError(
            f"store format version {descriptor.version} is newer than this program "
            f"understands ({FORMAT_VERSION}); upgrade incident-notebooks",
            path=str(desc_path),
        )
    for name, schema in TABLES.items():
        info = descriptor.tables.get(name)
        if info is None and name in OPTIONAL_TABLES:
            continue
        file = root / (info.file if info else table_file(name))
        if info is None or not file.is_file():
            raise StoreError(f"missing table {name!r}", path=str(file))
        _check_schema(file, schema)
    log.debug("opened store %s", root)
    return Store(root, descriptor)


def _check_schema(file: Path, expected) -> None:
    try:
        actual = pq.read_schema(file)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise StoreError(f"not a readable Parquet file ({exc})", path=str(file)) from None
    for field in expected:
        idx = actual.get_field_index(field.name)
        if idx < 0:
            raise StoreError("missing column", path=str(file), column=field.name)
        got = actual.field(idx).type
        if not type_matches(field.type, got):
            raise StoreError(
                f"wrong type: expected {field.type}, found {got}", path=str(file), column=field.name
            )
