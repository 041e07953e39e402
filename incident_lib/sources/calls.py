"""Count the AWS API calls an investigation makes, per operation, from botocore's event system.

A :class:`CallCounter` attaches to any number of clients. It listens to ``before-call`` (once
per API call, not per HTTP retry; registered first, so a botocore ``Stubber`` on the same client
cannot hide a call from it) and to ``after-call`` / ``after-call-error`` to count failures, so a
report can say "412 AWS API calls (3 failed)".

Keys are IAM-style action names (``cloudwatch:GetMetricData``, ``logs:StartQuery``), which is
also what a least-privilege policy lists.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.client import BaseClient

__all__ = ["CallCounter"]


class CallCounter(Mapping[str, int]):
    """A read-only mapping ``"service:Operation" -> number of API calls``.

    Examples
    --------
    >>> counter = CallCounter()
    >>> counter.attach(client)  # doctest: +SKIP
    >>> client.list_metrics()  # doctest: +SKIP
    >>> counter["cloudwatch:ListMetrics"], counter.total()  # doctest: +SKIP
    (1, 1)
    """

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._attached: set[int] = set()

    # -- wiring ----------------------------------------------------------------------------
    def attach(self, client: BaseClient) -> BaseClient:
        """Count every call ``client`` makes from now on; returns the client. Idempotent."""
        if id(client) in self._attached:
            return client
        events = client.meta.events
        uid = f"incident-notebooks-call-counter-{id(self)}"
        events.register_first("before-call.*.*", self._before_call, unique_id=f"{uid}-before")
        events.register("after-call.*.*", self._after_call, unique_id=f"{uid}-after")
        events.register("after-call-error.*.*", self._after_error, unique_id=f"{uid}-error")
        self._attached.add(id(client))
        return client

    @staticmethod
    def _key(model: Any) -> str:
        return f"{model.service_model.service_name}:{model.name}"

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self._calls[self._key(model)] += 1

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        if getattr(http_response, "status_code", 200) >= 300:
            with self._lock:
                self._errors[self._key(model)] += 1

    def _after_error(self, event_name: str = "", **_: Any) -> None:
        # after-call-error.<service-id>.<Operation>: no model in the payload.
        parts = event_name.split(".")
        key = f"{parts[1]}:{parts[2]}" if len(parts) >= 3 else event_name
        with self._lock:
            self._errors[key] += 1

    # -- reading ---------------------------------------------------------------------------
    def __getitem__(self, key: str) -> int:
        with self._lock:
            if key in self._calls:
                return self._calls[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(sorted(self._calls))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def total(self) -> int:
        """All API calls counted."""
        with self._lock:
            return sum(self._calls.values())

    @property
    def errors(self) -> dict[str, int]:
        """Calls that came back with an error (HTTP status >= 300 or no response), per key."""
        with self._lock:
            return dict(self._errors)

    def by_operation(self) -> dict[str, int]:
        """Counts keyed by operation name alone (``GetMetricData``)."""
        out: Counter[str] = Counter()
        with self._lock:
            for key, n in self._calls.items():
                out[key.split(":", 1)[-1]] += n
        return dict(out)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._errors.clear()

    def summary(self) -> str:
        """One line for a report: ``"12 AWS API calls (1 failed): logs:StartQuery 4, ..."``."""
        total = self.total()
        failed = sum(self.errors.values())
        parts = ", ".join(f"{k} {v}" for k, v in self.items())
        text = f"{total} AWS API call{'s' if total != 1 else ''}"
        if failed:
            text += f" ({failed} failed)"
        return f"{text}: {parts}" if parts else text

    def __repr__(self) -> str:
        return f"CallCounter({dict(self.items())!r})"
