"""The ECS and Prometheus pieces of the catalogue without a notebook run: label-glob rules and
a team's own alert names, the ``prometheus_alert`` and ``ecs_service`` parameters, the PromQL
helpers of ``ecs_steps``, and the scenario kit's Prometheus samples against the request rows
they derive from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from incident_lib import ecs_steps
from incident_lib.alarm import parse_alarm, parse_alarms
from incident_lib.catalog import MatchRule, load_catalog, resolve
from incident_lib.errors import BadInputError
from incident_lib.scenarios import catalog_ecs
from incident_lib.scenarios import recipes_ecs as e
from incident_lib.scenarios.services import Context
from incident_lib.scenarios.traffic import minute_index
from incident_lib.sources.promql_local import evaluate_range

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alarms"
AM = FIXTURES / "alertmanager"


def _alert(name: str, **labels: str):
    (first, _) = parse_alarms(AM / "webhook_v4_high_error_rate_two_alerts.json")
    labels = {"alertname": name, **labels}
    return first.model_copy(
        update={
            "name": name,
            "metric": first.metric.model_copy(
                update={
                    "name": name,
                    "dimensions": {k: v for k, v in labels.items() if k != "alertname"},
                }
            ),
            "prometheus": first.prometheus.model_copy(update={"labels": labels}),
        }
    )


def test_label_globs_match_alert_names_and_labels() -> None:
    rule = MatchRule(namespace="Prometheus", labels={"alertname": "*Latency*", "severity": "page"})
    assert rule.matches(_alert("CheckoutLatencyHigh", severity="page").metric)
    assert not rule.matches(_alert("CheckoutLatencyHigh", severity="ticket").metric)
    assert not rule.matches(_alert("CheckoutLatencyHigh").metric)  # the label is missing
    assert "alertname=*Latency*" in rule.describe()


def test_package_rules_send_prometheus_alerts_by_name_and_pattern() -> None:
    assert resolve(_alert("HighErrorRate", job="checkout")).alert_type == "prom_error_rate"
    assert resolve(_alert("PaymentsErrorRatioBurn", job="pay")).alert_type == "prom_error_rate"
    assert resolve(_alert("HighLatencyP95", service="api")).alert_type == "prom_latency"
    assert resolve(_alert("ServiceDown", job="api")).alert_type == "ecs_service"
    assert resolve(_alert("DiskAlmostFull", job="api")).alert_type == "generic"


def test_a_team_maps_its_own_alert_names_and_service(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text(
        """
[[override]]
alarm_name = "CheckoutFailing*"
alert_type = "prom_error_rate"
parameters = { service_name = "checkout", cluster_name = "shop-prod" }

[log_groups]
"checkout" = ["/ecs/shop-prod/checkout"]
""",
        encoding="utf-8",
    )
    inv = resolve(_alert("CheckoutFailingFast", team="shop"), catalog=load_catalog(config))
    assert inv.alert_type == "prom_error_rate"
    assert inv.parameters["service_name"] == "checkout"
    assert inv.parameters["cluster_name"] == "shop-prod"
    assert inv.parameters["log_groups"] == ["/ecs/shop-prod/checkout"]
    assert inv.parameters["resource_names"] == ["checkout", "shop-prod"]


def test_an_alert_naming_no_service_asks_for_one() -> None:
    with pytest.raises(BadInputError, match="service_name"):
        resolve(_alert("HighErrorRate", severity="page"))


def test_ecs_alarms_get_service_and_cluster_from_dimensions() -> None:
    running = resolve(parse_alarm(FIXTURES / "sns_message_ecs_running_task_count.json"))
    assert running.alert_type == "ecs_service"
    assert running.parameters["service_name"] == "ai-processor-service-staging"
    assert running.parameters["cluster_name"] == "ai-processor-staging"
    assert running.parameters["log_groups"] == ["/ecs/ai-processor-service-staging"]
    memory = resolve(parse_alarm(FIXTURES / "sns_message_ecs_memory_utilization.json"))
    assert memory.alert_type == "ecs_resources"


def test_rule_expressions_split_into_measure_and_threshold() -> None:
    expr = (
        'sum by (job) (rate(x_total{job="a",status=~"5.."}[5m])) '
        '/ sum by (job) (rate(x_total{job="a"}[5m])) > 0.1'
    )
    measured, op, threshold = ecs_steps.split_rule(expr)
    assert (op, threshold) == (">", 0.1)
    assert measured.startswith("sum by (job)") and ">" not in measured
    assert ecs_steps.split_rule("0.5 < up")[1:] == (">", 0.5)
    assert ecs_steps.split_rule("up")[1:] == (None, None)
    assert ecs_steps.selectors(expr, numerator=True) == ['x_total{job="a",status=~"5.."}']
    assert ecs_steps.group_labels(expr) == ["job"]
    assert ecs_steps.service_matchers(expr) == 'job="a"'
    assert ecs_steps.sharper(measured) == measured.replace("[5m]", "[2m]")
    queries = ecs_steps.breakdown_queries(expr)
    assert queries["by_job"] == 'sum by (job) (rate(x_total{job="a",status=~"5.."}[5m]))'
    assert "by_handler" in queries and "by_instance" in queries
    lat = ecs_steps.breakdown_queries(
        'histogram_quantile(0.99, sum by (le) (rate(d_bucket{job="a"}[5m]))) > 1',
        histogram=True,
        quantile=0.99,
    )
    assert (
        lat["by_handler"]
        == 'histogram_quantile(0.99, sum by (le, handler) (rate(d_bucket{job="a"}[5m])))'
    )
    assert (
        ecs_steps.quantile_of("histogram_quantile(0.99, sum by (le) (rate(d_bucket[5m])))") == 0.99
    )
    assert ecs_steps.failing_per_minute(measured)[1] is True
    assert ecs_steps.failing_per_minute("max(up)") == ("max(up)", False)
    assert ecs_steps.parse_labels('x{a="1", b="q\\"x"}') == {"a": "1", "b": 'q"x'}


def test_prometheus_samples_count_the_request_rows() -> None:
    """The counter's increase over the window is the number of requests that ended in it, per
    status; the histogram's +Inf bucket equals its _count."""
    s = catalog_ecs.BAD_IMAGE
    rng = np.random.default_rng(3)
    frames = {r.name: s._frame(r, rng) for r in s.requests}
    ctx = Context(minute_index(s.start, s.end), frames)
    specs = catalog_ecs.http_series(catalog_ecs.PROCESSOR, "api", catalog_ecs.P_DEPLOYMENTS)
    samples = e.prometheus_samples(specs, frames, ctx, s.start, s.end, rng)
    reader = e.sample_reader(samples)
    t = pd.Timestamp("2026-11-23T12:10:00Z")
    _, got = evaluate_range(
        'sum by (status) (http_requests_total{service="ai-processor"})',
        t,
        t + pd.Timedelta(seconds=1),
        1,
        reader,
    )
    f = frames["api"]
    ended = f["time"] + pd.to_timedelta(f["latency_ms"], unit="ms")
    want = f[ended <= t].groupby("status").size()
    by_status = {dict(k)["status"]: v[0] for k, v in got.series.items()}
    for status, n in want.items():
        # t is a scrape (every 30 s): its sample counts every request that ended by then.
        assert by_status[str(status)] == n
    buckets = samples[samples["metric_name"] == "http_request_duration_seconds_bucket"]
    inf = buckets[buckets["labels"].str.contains('"le":"\\+Inf"')]["value"].sum()
    count = samples[samples["metric_name"] == "http_request_duration_seconds_count"]["value"].sum()
    assert inf == count


def test_the_rule_fires_after_its_for_duration() -> None:
    s = catalog_ecs.BAD_IMAGE
    rng = np.random.default_rng(7)
    frames = {r.name: s._frame(r, rng) for r in s.requests}
    ctx = Context(minute_index(s.start, s.end), frames)
    samples = e.prometheus_samples(s.prometheus, frames, ctx, s.start, s.end, rng)
    fired, labels, value = e.fire(s.rule, samples, s.start, s.end)
    assert labels == {"service": "ai-processor"}
    assert value > 0.1
    assert (
        catalog_ecs.P_SERVING + s.rule.for_
        <= fired
        <= catalog_ecs.P_SERVING + pd.Timedelta(minutes=12)
    )
    payload = e.alertmanager_payload(s.rule, fired, labels, value)
    alarm = parse_alarm(payload)
    assert alarm.kind == "prometheus" and alarm.name == "HighErrorRate"
    assert alarm.prometheus.expression == s.rule.expr


def test_postgres_exporter_alerts_name_their_server() -> None:
    inv = resolve(parse_alarm(AM / "webhook_v4_postgres_too_many_connections.json"))
    assert inv.alert_type == "db_connections"
    assert inv.parameters["db_instance"] == "orders-db.internal:9187"
    assert inv.parameters["resource_names"] == ["orders-db.internal", "orders-db"]
    assert "pg_settings_max_connections" in inv.parameters["expression"]
    with pytest.raises(BadInputError, match="db_instance"):
        resolve(_alert("PostgresqlTooManyConnections", severity="page"))


def test_deployed_revisions_pair_each_update_service_with_the_revision_before() -> None:
    changes = pd.DataFrame(
        {
            "event_name": ["RegisterTaskDefinition", "UpdateService", "UpdateService"],
            "request_parameters": [
                '{"family": "a"}',
                '{"service": "report-api", "taskDefinition": "report-api:24"}',
                '{"service": "other", "taskDefinition": "other:3"}',
            ],
        }
    )
    assert ecs_steps.deployed_revisions(changes, ["report-api"]) == [
        ["report-api:23", "report-api:24"]
    ]


@pytest.mark.notebooks
def test_a_prometheus_service_down_alert_runs_ecs_service_and_finds_the_target_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ServiceDown from Alertmanager on ``incident demo --from-alarm``: the ecs_service
    notebook reads its ``up`` series and places the onset where the target went down."""
    from incident_lib.cli import main
    from incident_lib.findings import FindingsDoc

    monkeypatch.setenv("INCIDENT_REPORTS", str(tmp_path / "reports"))
    out = tmp_path / "out"
    fixture = AM / "webhook_v4_service_down_resolved.json"
    code = main(["demo", "--from-alarm", str(fixture), "--out", str(out), "--quiet"])
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    doc = FindingsDoc.model_validate_json((folder / "findings.json").read_text("utf-8"))
    statuses = {s.name: s.status for s in doc.sections}
    assert code == 0, statuses
    assert 'alert_type = \\"ecs_service\\"' in (folder / "notebook.ipynb").read_text("utf-8")
    assert statuses["The alert's expression"] == "ok"
    (onset,) = [f for f in doc.findings if f.kind == "onset"]
    assert "targets down" in onset.title
    started = pd.Timestamp("2026-11-30T09:15:45Z")
    assert started - pd.Timedelta(minutes=10) <= pd.Timestamp(onset.time) <= started
