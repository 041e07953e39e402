"""``aws`` words read as API calls with botocore's service model: CLI names to members,
values typed (lists, integers, booleans, structures in shorthand or JSON)."""

from __future__ import annotations

import pytest

from incident_lib.runbook_import.awscli import (
    ShorthandError,
    api_params,
    parse_aws,
    parse_shorthand,
)


def params(*words: str) -> dict:
    call = parse_aws(["aws", *words])
    assert call is not None
    result = api_params(call)
    assert not result.problems, result.problems
    return result.params


def test_kebab_arguments_are_the_operation_s_members():
    assert params("rds", "describe-db-instances", "--db-instance-identifier", "prod-db") == {
        "DBInstanceIdentifier": "prod-db"
    }
    # ECS members are camelCase: the model says so, not a naming rule
    assert params("ecs", "describe-services", "--cluster", "c", "--services", "a", "b") == {
        "cluster": "c",
        "services": ["a", "b"],
    }


def test_values_are_typed_by_the_model():
    got = params(
        "cloudwatch",
        "get-metric-statistics",
        "--period",
        "300",
        "--statistics",
        "Average,Maximum",
        "--dimensions",
        "Name=FunctionName,Value=fn",
        "Name=Resource,Value=fn:prod",
    )
    assert got == {
        "Period": 300,
        "Statistics": ["Average", "Maximum"],
        "Dimensions": [
            {"Name": "FunctionName", "Value": "fn"},
            {"Name": "Resource", "Value": "fn:prod"},
        ],
    }


def test_booleans_are_flags_and_no_flags():
    assert params("ecs", "update-service", "--service", "s", "--force-new-deployment") == {
        "service": "s",
        "forceNewDeployment": True,
    }
    assert (
        params("ecs", "update-service", "--service", "s", "--no-force-new-deployment")[
            "forceNewDeployment"
        ]
        is False
    )


def test_json_and_nested_shorthand():
    assert params(
        "cloudwatch", "get-metric-statistics", "--dimensions", '[{"Name":"A","Value":"b"}]'
    ) == {"Dimensions": [{"Name": "A", "Value": "b"}]}
    got = params(
        "cloudwatch",
        "get-metric-data",
        "--metric-data-queries",
        "Id=m1,MetricStat={Metric={Namespace=AWS/Lambda,MetricName=Errors,"
        "Dimensions=[{Name=FunctionName,Value=fn}]},Period=60,Stat=Sum},ReturnData=true",
    )
    (query,) = got["MetricDataQueries"]
    assert query["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "fn"}]
    assert query["MetricStat"]["Period"] == 60
    assert query["ReturnData"] is True


def test_filters_take_a_list_after_values():
    assert params("ec2", "describe-instances", "--filters", "Name=tag:Env,Values=prod,stage") == {
        "Filters": [{"Name": "tag:Env", "Values": ["prod", "stage"]}]
    }


def test_the_cli_s_own_options_are_set_apart():
    call = parse_aws(
        [
            "aws",
            "--region",
            "eu-west-1",
            "glue",
            "get-job-runs",
            "--job-name",
            "etl",
            "--max-items",
            "5",
            "--query",
            "JobRuns[0]",
            "--output",
            "table",
        ]
    )
    assert call is not None
    assert call.options == {
        "region": "eu-west-1",
        "max-items": "5",
        "query": "JobRuns[0]",
        "output": "table",
    }
    assert api_params(call).params == {"JobName": "etl"}


def test_unknown_arguments_and_bad_values_are_problems_not_guesses():
    call = parse_aws(["aws", "lambda", "get-function", "--function-name", "fn", "--bogus", "1"])
    assert call is not None
    assert "has no argument --bogus" in api_params(call).problems[0]
    call = parse_aws(["aws", "cloudwatch", "get-metric-statistics", "--period", "five"])
    assert call is not None
    assert "--period" in api_params(call).problems[0]


def test_shorthand():
    assert parse_shorthand("Name=ApiName,Value=Stock API - prod") == {
        "Name": "ApiName",
        "Value": "Stock API - prod",
    }
    assert parse_shorthand("a,b") == ["a", "b"]
    assert parse_shorthand("Key='x,y',Other=1") == {"Key": "x,y", "Other": "1"}
    with pytest.raises(ShorthandError):
        parse_shorthand("Key={a=1")
