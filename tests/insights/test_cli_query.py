"""``incident query`` end to end through ``incident_lib.cli.main``."""

from __future__ import annotations

import io
import json

import pytest

from incident_lib.cli import main
from tests.insights.conftest import build_store

EVENTS = [
    {"t": "2024-01-01T00:00:00Z", "msg": '{"status":200,"path":"/a"}', "group": "/app/a"},
    {"t": "2024-01-01T00:01:00Z", "msg": '{"status":500,"path":"/b"}', "group": "/app/a"},
    {"t": "2024-01-01T00:02:00Z", "msg": '{"status":500,"path":"/c"}', "group": "/app/b"},
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("cli") / "store", EVENTS)


def test_json_output_default_window(store, capsys):
    code = main(
        [
            "query",
            "filter status = 500 | stats count(*) as n",
            "--store",
            str(store),
            "--format",
            "json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]


def test_log_group_and_window(store, capsys):
    code = main(
        [
            "query",
            "fields path",
            "--store",
            str(store),
            "--log-group",
            "/app/a",
            "--start",
            "2024-01-01T00:00:30Z",
            "--end",
            "2024-01-01T01:00:00Z",
            "--format",
            "csv",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "path,@ptr"
    assert [line.split(",")[0] for line in lines[1:]] == ["/b"]


def test_table_output_shows_aws_time_format(store, capsys):
    assert (
        main(["query", "fields @timestamp | sort @timestamp asc | limit 1", "--store", str(store)])
        == 0
    )
    assert "2024-01-01 00:00:00.000" in capsys.readouterr().out


def test_query_from_file(store, tmp_path, capsys):
    path = tmp_path / "q.insights"
    path.write_text("# count per path\nstats count(*) as n by path\n| sort path asc")
    assert main(["query", f"@{path}", "--store", str(store), "--format", "json"]) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)] == ["/a", "/b", "/c"]


def test_query_from_stdin(store, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("stats count(*) as n"))
    assert main(["query", "-", "--store", str(store), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 3}]


def test_malformed_query_prints_caret_and_exits_2(store, capsys):
    code = main(["query", "fields path | filter status = = 1", "--store", str(store)])
    assert code == 2
    err = capsys.readouterr().err
    assert "line 1, column 31" in err
    assert "fields path | filter status = = 1" in err
    assert "^" in err.splitlines()[-1]


def test_unsupported_command_exits_2(store, capsys):
    assert main(["query", "pattern @message | anomaly", "--store", str(store)]) == 2
    assert "'anomaly' is not supported" in capsys.readouterr().err


def test_missing_query_file_exits_2(store, tmp_path, capsys):
    assert main(["query", f"@{tmp_path / 'nope'}", "--store", str(store)]) == 2
    assert "cannot read query file" in capsys.readouterr().err


KINESIS_SEQ = "49590338271490256608559692538361571095921575989136588898"


def test_json_output_keeps_long_digit_strings_and_leading_zeros(tmp_path, capsys):
    # A Kinesis sequence number longer than int64 crashed the query; "012345678901" lost its 0.
    store = build_store(
        tmp_path / "store",
        [
            {
                "t": "2024-01-01T00:00:00Z",
                "msg": json.dumps({"seq": KINESIS_SEQ, "account": "012345678901", "n": "3"}),
            }
        ],
    )
    query = "fields seq, account, n, @aws.account, @aws.region"
    assert main(["query", query, "--store", str(store), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["seq"] == KINESIS_SEQ
    assert row["account"] == "012345678901"
    assert row["n"] == 3
    assert (row["@aws.account"], row["@aws.region"]) == ("123456789012", "us-east-1")
