"""Four Lambda errors incidents that test onset and culprit ranking, declared with the toolkit.

All on 2026-11-19 (UTC), account 123456789012, us-east-1; each alarm is ``<function>-errors``
(Errors Sum over 60 s, 2 of 3 periods), evaluated over the generated series.

- ``lambda_flapping``: a configuration change cuts ``search-api``'s timeout; the search
  cluster's slow spells then fail requests in four bursts. The alarm flaps; the event being
  investigated is its **last** ALARM, 30+ minutes after the first. Onset: the first burst.
  Culprit: the configuration change.
- ``lambda_slow_ramp``: a deploy of ``orders-api`` leaks database connections; errors ramp
  slowly over an hour and the alarm fires about half an hour in. Culprit: the deploy. Three
  previous days of the same hours are in the store (``history_days``).
- ``lambda_clean_deploy``: ``payments-api`` is deployed cleanly; 40 minutes later its payment
  gateway returns 503. Culprit: **none** (the deploy must be ruled out).
- ``lambda_downstream``: ``inventory-api``'s warehouse service returns 502 for half an hour;
  no change touches the function (one other team's SSM parameter change is in CloudTrail).
  Culprit: **none**.
"""

from __future__ import annotations

from incident_lib.scenarios.toolkit import (
    AlarmRule,
    LambdaScenario,
    Traffic,
    bursts,
    config_change,
    deploy,
    downstream_outage,
    ramp,
    unrelated_change,
)
from incident_lib.scenarios.traffic import day_clock, minutes

DAY = "2026-11-19"


at = day_clock(DAY)


FLAPPING = LambdaScenario(
    name="lambda_flapping",
    description="search-api's alarm flaps after a timeout cut; onset is the first burst",
    function="search-api",
    start=at("11:00:00"),
    end=at("13:30:00"),
    traffic=Traffic(low=50, high=110),
    failures=[
        bursts(
            [
                (at("12:03:00"), minutes(6)),
                (at("12:16:00"), minutes(5)),
                (at("12:27:00"), minutes(6)),
                (at("12:37:00"), minutes(8)),
            ],
            0.25,
            error=("TimeoutError", "search cluster did not answer within 3000 ms"),
            cause="search cluster slow spells exceed the 3 s timeout set by a configuration change",
            duration_ms=3000.0,
        )
    ],
    changes=[
        unrelated_change(at("11:49:12")),
        config_change(at("12:01:40"), {"timeout": 3}, culprit=True),
        deploy(at("12:20:05"), function="cart-api", old_version=17, new_version=18),
    ],
    must_say=["first burst"],
)

SLOW_RAMP = LambdaScenario(
    name="lambda_slow_ramp",
    description="a deploy leaks database connections in orders-api; errors ramp over an hour",
    function="orders-api",
    start=at("11:00:00"),
    end=at("13:10:00"),
    traffic=Traffic(low=40, high=120),
    failures=[
        ramp(
            at("12:10:30"),
            0.30,
            over=minutes(60),
            error=("ConnectionError", "database connection pool exhausted (max 20)"),
            cause="a deploy leaks database connections: the pool runs dry as it ages",
        )
    ],
    changes=[
        deploy(at("12:10:30"), culprit=True),
        unrelated_change(at("12:26:44"), resource="analytics-export-role"),
    ],
    alarm=AlarmRule(threshold=10.0),
    history_days=3,
)

CLEAN_DEPLOY = LambdaScenario(
    name="lambda_clean_deploy",
    description="a clean deploy 40 min before payments-api's gateway returns 503: no culprit",
    function="payments-api",
    start=at("11:00:00"),
    end=at("13:30:00"),
    traffic=Traffic(low=40, high=100),
    failures=[downstream_outage(at("12:40:00"), 0.2, until=at("13:20:00"), ramp_minutes=2)],
    changes=[
        deploy(at("12:00:20"), old_version=63, new_version=64),
        unrelated_change(at("12:31:05"), resource="billing-reports-role"),
    ],
    must_say=["No related change found"],
)

DOWNSTREAM = LambdaScenario(
    name="lambda_downstream",
    description="inventory-api's warehouse service returns 502; no change at all",
    function="inventory-api",
    start=at("11:00:00"),
    end=at("13:30:00"),
    traffic=Traffic(low=30, high=80),
    failures=[
        downstream_outage(
            at("12:30:00"), 0.35, until=at("13:05:00"), service="warehouse-service", status=502
        )
    ],
    # Another team's change: CloudTrail is never empty, but nothing touches inventory-api.
    changes=[
        unrelated_change(
            at("12:12:09"),
            resource="/reporting/export-bucket",
            event_name="PutParameter",
            event_source="ssm.amazonaws.com",
            resource_type="AWS::SSM::Parameter",
        )
    ],
    must_say=["No related change found"],
)

ALL = (FLAPPING, SLOW_RAMP, CLEAN_DEPLOY, DOWNSTREAM)
for _scenario in ALL:
    _scenario.register()
