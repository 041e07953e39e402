"""A local CloudWatch Logs Insights engine on DuckDB.

tokenizer (:mod:`.tokens`) -> parser (:mod:`.parser`, one stage parser per pipe keyword) ->
syntax tree (:mod:`.nodes`) -> DuckDB SQL (:mod:`.generator`, one CTE per stage) ->
:func:`run_query`. Semantics follow the AWS Logs Insights query syntax documentation; see
docs/logs-insights.md for what is supported.

>>> from incident_lib.insights import parse
>>> parse("fields @timestamp | limit 5").commands[1].count
5
"""

from __future__ import annotations

from incident_lib.insights import nodes
from incident_lib.insights.engine import run_query, to_sql
from incident_lib.insights.parser import parse

__all__ = ["nodes", "parse", "run_query", "to_sql"]
