"""Open and validate a telemetry store."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from incident_lib import limits
from incident_lib.errors import InputLimitError, StoreError
from incident_lib.store.schema import (
    DESCRIPTOR,
    FORMAT_NAME,
    FORMAT_VERSION,
    OPTIONAL_TABLES,
    REQUIRED,
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


#: A descriptor larger than this is not one (the demo's, with its alarm events, is ~20 KB).
MAX_DESCRIPTOR_BYTES = 32 * 1024 * 1024


class TableInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: A file name relative to the store folder: no ``..``, no absolute path (checked again on
    #: disk, after symlinks, by :func:`open_store`).
    file: StrictStr
    rows: StrictInt = Field(ge=0)

    @field_validator("file")
    @classmethod
    def _inside(cls, value: str) -> str:
        posix, windows = PurePosixPath(value), PureWindowsPath(value)
        if (
            not value.strip()
            or "\x00" in value
            or posix.is_absolute()
            or windows.is_absolute()
            or windows.drive
            or ".." in posix.parts
            or ".." in windows.parts
            or posix == PurePosixPath(".")
        ):
            raise ValueError("must be a file inside the store folder (a relative path, no '..')")
        return value


class StoreDescriptor(BaseModel):
    """``store.json``: what the store holds and, for a demo scenario, its ground truth."""

    model_config = ConfigDict(extra="forbid")
    # Strict types: "1" is not a version, 1.0 is not a row count.
    format: StrictStr
    version: StrictInt
    created: datetime
    account_id: StrictStr = "123456789012"
    region: StrictStr = "us-east-1"
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

    Raises :class:`StoreError` naming the file and the descriptor field or column at fault.
    Every table file must lie inside the store folder, also after following symlinks.
    """
    root = Path(path)
    if not _is(root.is_dir, root, None):
        raise StoreError("not a telemetry store (no such folder)", path=str(root))
    desc_path = root / DESCRIPTOR
    if not _is(desc_path.is_file, desc_path, None):
        raise StoreError(f"not a telemetry store (no {DESCRIPTOR})", path=str(desc_path))
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"cannot resolve the store folder ({exc})", path=str(root)) from None
    _inside(desc_path, real_root, desc_path, None)
    raw = _read_descriptor(desc_path)
    try:
        descriptor = StoreDescriptor.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise StoreError(
            f"bad descriptor: {first['msg']}", path=str(desc_path), field=field or None
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
        if info is None or not _is(file.is_file, file, f"tables.{name}.file"):
            raise StoreError(f"missing table {name!r}", path=str(file), field=f"tables.{name}")
        _inside(file, real_root, desc_path, f"tables.{name}.file")
        _check_schema(file, schema)
        _check_required(file, REQUIRED.get(name, ()))
    log.debug("opened store %s", root)
    return Store(root, descriptor)


def _is(check: Any, path: Path, field: str | None) -> bool:
    """``path.is_dir()`` / ``is_file()``, with an unusable name (too long, a loop) as a
    StoreError rather than an OSError."""
    try:
        return bool(check())
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise StoreError(
            f"cannot use this path ({reason})", path=str(path)[:300], field=field
        ) from None


def _read_descriptor(desc_path: Path) -> Any:
    try:
        with desc_path.open("rb") as fh:
            data = fh.read(MAX_DESCRIPTOR_BYTES + 1)
    except OSError as exc:
        raise StoreError(f"cannot read descriptor: {exc.strerror}", path=str(desc_path)) from None
    if len(data) > MAX_DESCRIPTOR_BYTES:
        raise StoreError(
            f"descriptor larger than {MAX_DESCRIPTOR_BYTES // 2**20} MiB", path=str(desc_path)
        )
    try:
        return limits.load_json(data, what="descriptor")
    except UnicodeDecodeError as exc:
        raise StoreError(
            f"cannot read descriptor: not UTF-8 text (byte {exc.start})", path=str(desc_path)
        ) from None
    except (json.JSONDecodeError, InputLimitError) as exc:
        raise StoreError(f"cannot read descriptor: {exc}", path=str(desc_path)) from None


def _inside(file: Path, real_root: Path, desc_path: Path, field: str | None) -> None:
    """``file``, symlinks followed, must lie in the store folder."""
    try:
        real = file.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"cannot resolve {file.name} ({exc})", path=str(file)) from None
    if not real.is_relative_to(real_root):
        raise StoreError(
            f"{file.name} leads outside the store (to {real}); table files must lie in the "
            "store folder",
            path=str(desc_path if field else file),
            field=field,
        )


def _check_required(file: Path, columns: tuple[str, ...]) -> None:
    """Required columns hold no null: from the Parquet statistics (no data read), or by
    reading the column when a writer left no null counts."""
    try:
        meta = pq.ParquetFile(file).metadata
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for j in range(group.num_columns):
                chunk = group.column(j)
                name = chunk.path_in_schema
                if name not in columns:
                    continue
                stats = chunk.statistics
                if stats is not None and stats.has_null_count:
                    nulls = stats.null_count
                else:
                    nulls = pq.read_table(file, columns=[name]).column(name).null_count
                if nulls:
                    raise StoreError(
                        f"{nulls} rows have no value in a required column",
                        path=str(file),
                        column=name,
                    )
    except StoreError:
        raise
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise StoreError(f"not a readable Parquet file ({exc})", path=str(file)) from None


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
