"""CloudWatch Logs filter patterns on DuckDB: the ``filterPattern`` of FilterLogEvents, metric
filters and subscription filters, evaluated over stored log events.

tokenizer (:mod:`.tokens`) -> parser (:mod:`.parser`: terms, ``%regex%``, ``{ JSON }``,
``[space-delimited]``) -> syntax tree (:mod:`.nodes`) -> one DuckDB predicate over the message
column (:mod:`.generator`). Regexes are checked against AWS's restricted syntax and translated
to RE2 (:mod:`.regex`). See docs/filter-patterns.md for what is supported.

>>> from incident_lib.filterpattern import compile_pattern
>>> compile_pattern("[ip, user, ..., status = 5*, size > 1000]").kind
'delimited'
"""

from __future__ import annotations

from incident_lib.errors import FilterPatternError
from incident_lib.filterpattern import nodes
from incident_lib.filterpattern.engine import (
    CompiledPattern,
    compile_pattern,
    evaluate,
    filter_events,
)
from incident_lib.filterpattern.parser import parse

__all__ = [
    "CompiledPattern",
    "FilterPatternError",
    "compile_pattern",
    "evaluate",
    "filter_events",
    "nodes",
    "parse",
]
