"""Identifiers drawn from the scenario's random generator, so a seed fixes every id."""

from __future__ import annotations

import uuid

import numpy as np


def new_uuid(rng: np.random.Generator) -> str:
    """A version-4 UUID string built from ``rng`` (``uuid.uuid4`` would ignore the seed)."""
    raw = bytearray(rng.bytes(16))
    return str(uuid.UUID(bytes=bytes(raw), version=4))


def hex_id(rng: np.random.Generator, length: int = 32) -> str:
    """``length`` lowercase hex digits."""
    return rng.bytes((length + 1) // 2).hex()[:length]


def upper_alnum(rng: np.random.Generator, length: int) -> str:
    """``length`` characters of ``A-Z0-9`` (access key ids, principal ids)."""
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    return "".join(rng.choice(alphabet, size=length))


def new_uuids(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` version-4 UUID strings in one draw (fast for one per invocation)."""
    raw = rng.bytes(16 * count)
    return [str(uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4)) for i in range(count)]


def hex_ids(rng: np.random.Generator, count: int, length: int = 12) -> list[str]:
    """``count`` ids of ``length`` (at most 16) lowercase hex digits."""
    values = rng.integers(0, 16**length, size=count, dtype=np.uint64)
    return [f"{v:0{length}x}" for v in values.tolist()]
