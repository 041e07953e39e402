"""The host notebooks' analysis steps (``incident_lib.hosts_steps``) and scenario pieces
(``incident_lib.scenarios.recipes_hosts``) on small, known inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from incident_lib import hosts_steps as hs
from incident_lib.errors import NoDataError
from incident_lib.scenarios import recipes_hosts as h
from incident_lib.scenarios.services import Context

T0 = pd.Timestamp("2026-11-20T12:00:00Z")
CUSTOM_FORMAT = (
    "${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} "
    "${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${tcp-flags}"
)


def test_flow_fields_default_and_custom_formats():
    assert hs.flow_fields(None) == [
        "version",
        "accountId",
        "interfaceId",
        "srcAddr",
        "dstAddr",
        "srcPort",
        "dstPort",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "logStatus",
    ]
    fields = hs.flow_fields(CUSTOM_FORMAT)
    assert fields[:3] == ["vpcId", "subnetId", "instanceId"] and fields[-1] == "tcpFlags"
    assert hs.flow_parse(CUSTOM_FORMAT).count("*") == 15


def test_flow_parse_refuses_a_format_without_addresses():
    with pytest.raises(NoDataError, match="dstAddr"):
        hs.flow_parse("${version} ${srcaddr} ${action}")


def test_custom_format_records_parse_on_the_local_engine(tmp_path):
    from incident_lib.sources.local import LocalSource
    from incident_lib.store.writer import StoreWriter

    lines = [
        "vpc-0f1e2d3c4b5a69788 subnet-0db0a1b2c3d4e5f60 - eni-0db5432aa11bb22cc 10.0.1.21 "
        f"10.0.2.30 4{n}123 5432 6 1 60 1763640000 1763640060 {action} 2"
        for n, action in enumerate(["REJECT", "REJECT", "ACCEPT"])
    ]
    times = pd.to_datetime([T0 + pd.Timedelta(seconds=i) for i in range(3)], utc=True)
    with StoreWriter(tmp_path / "store") as writer:
        writer.add_log_events(
            pd.DataFrame(
                {
                    "timestamp": times,
                    "ingestion_time": times + pd.Timedelta(seconds=1),
                    "message": lines,
                    "log_stream": "eni-0db5432aa11bb22cc-all",
                }
            ),
            log_group="/vpc/custom",
        )
    query = f"""fields @message
        | {hs.flow_parse(CUSTOM_FORMAT)}
        | filter action = "REJECT"
        | stats count(*) as rejects by interfaceId, srcAddr, dstAddr, dstPort"""
    out = LocalSource(tmp_path / "store").insights(
        query, ["/vpc/custom"], T0 - pd.Timedelta(minutes=1), T0 + pd.Timedelta(minutes=1)
    )
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["dstAddr"], str(row["dstPort"]), int(row["rejects"])) == ("10.0.2.30", "5432", 2)


def _case(onset: pd.Timestamp | None) -> SimpleNamespace:
    state = {"onset": SimpleNamespace(time=onset)} if onset is not None else {}
    return SimpleNamespace(state=state, alarm_time=T0 + pd.Timedelta(minutes=40))


def test_growth_gives_time_to_full_with_an_interval_that_holds_the_truth():
    rng = np.random.default_rng(3)
    index = pd.date_range(T0, periods=60, freq="1min")
    rate = 0.2  # % a minute from 70 %: 81.8 % at the last point, full 91 min later
    values = pd.Series(70 + rate * np.arange(60) + rng.normal(0, 0.02, 60), index=index)
    fit = hs.growth(_case(T0), values)
    assert fit["growth % per hour"] == pytest.approx(12.0, abs=0.3)
    truth = (100 - (70 + rate * 59)) / rate
    lo, hi = (s.strip() for s in fit["range"].split(" to "))
    assert abs(fit["minutes to full"] - truth) < 5
    assert fit["full in"].startswith("1 h 3") and lo.startswith("1 h") and hi.startswith("1 h")


def test_growth_that_cannot_be_told_from_noise_has_no_time_to_full():
    rng = np.random.default_rng(4)
    index = pd.date_range(T0, periods=40, freq="1min")
    values = pd.Series(55 + rng.normal(0, 0.05, 40), index=index)
    fit = hs.growth(_case(None), values)
    assert fit["full in"] == "no steady growth" and not np.isfinite(fit["minutes to full"])


def test_port_ranges_cover_ports():
    assert hs._covers("5432-5432", "5432")
    assert hs._covers("0-65535", 22)
    assert not hs._covers("443-443", "5432")
    assert hs._covers("all-all", "5432")


def _ctx(levels: dict[str, np.ndarray]) -> Context:
    index = pd.date_range(T0, periods=len(next(iter(levels.values()))), freq="1min")
    return Context(index, {})


def test_credits_spend_above_the_baseline_then_run_surplus_then_repay():
    n = 120
    cpu = np.r_[np.full(40, 10.0), np.full(40, 80.0), np.full(40, 5.0)]
    ctx = _ctx({"cpu": cpu})
    usage, balance, surplus = h.credits(
        lambda c: cpu, vcpus=2, baseline_pct=20.0, balance=30.0, max_balance=576.0
    )
    b, s = balance(ctx), surplus(ctx)
    assert len(b) == n and usage(ctx)[50] == pytest.approx(1.6)
    assert b[39] > 30.0  # below the baseline it earns (0.4 a minute) more than it spends
    assert b[79] == 0.0 and s[79] > 0  # at 80 % on 2 vCPUs it spends 1.6, earns 0.4
    assert s[-1] < s[79]  # back under the baseline it repays the surplus first


def test_a_replaced_slot_serves_the_old_instance_then_the_new():
    at = T0 + pd.Timedelta(minutes=10)
    slot = h.Slot("slot1", "i-old", "i-new", at)
    frame = pd.DataFrame({"time": [T0, at + pd.Timedelta(seconds=5)]})
    assert slot.serving("i-old")(frame).tolist() == [True, False]
    assert slot.serving("i-new")(frame).tolist() == [False, True]
    index = pd.date_range(T0, periods=20, freq="1min")
    assert slot.alive("i-old", index).sum() + slot.alive("i-new", index).sum() == 20
