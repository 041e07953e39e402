"""The client factory: retries, timeouts, user agent, endpoint override, role assumption."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from incident_lib import __version__
from incident_lib.errors import (
    AccessDeniedError,
    BadInputError,
    QueryError,
    SourceError,
    ThrottledError,
)
from incident_lib.sources.aws import AwsSource
from incident_lib.sources.clients import (
    USER_AGENT,
    ClientSettings,
    make_client,
    make_session,
    translate_error,
)

from .conftest import ACCOUNT_ID, REGION, TEST_SETTINGS


def test_settings_become_an_explicit_botocore_config():
    config = ClientSettings(retry_mode="standard", max_attempts=3, read_timeout=7).to_config()
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert config.read_timeout == 7
    assert config.connect_timeout == ClientSettings().connect_timeout == 3.0
    assert config.user_agent_extra == f"incident-notebooks/{__version__}"


@pytest.mark.aws
def test_requests_carry_the_user_agent_and_go_to_the_endpoint(moto):
    client = make_client(make_session(region=REGION), "logs", REGION, moto, settings=TEST_SETTINGS)
    agents: list[str] = []
    client.meta.events.register(
        "before-send.cloudwatch-logs.*",
        lambda request, **_: agents.append(request.headers["User-Agent"]),
    )
    client.describe_log_groups()
    assert client.meta.endpoint_url == moto
    assert client.meta.region_name == REGION
    agent = agents[0].decode() if isinstance(agents[0], bytes) else agents[0]
    assert USER_AGENT in agent


@pytest.mark.aws
def test_aws_endpoint_url_from_the_environment_is_honoured(moto, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    source = AwsSource(region=REGION, settings=TEST_SETTINGS)  # no endpoint_url argument
    assert source.client("cloudwatch").meta.endpoint_url == moto
    assert source.account_id == ACCOUNT_ID  # answered by moto's STS


@pytest.mark.aws
def test_role_is_assumed_through_sts_with_the_session_name(moto):
    role_arn = "arn:aws:iam::111122223333:role/incident-read"
    source = AwsSource(region=REGION, role_arn=role_arn, endpoint_url=moto, settings=TEST_SETTINGS)
    identity = source.client("sts").get_caller_identity()
    assert identity["Account"] == "111122223333"
    assert identity["Arn"].endswith("assumed-role/incident-read/incident-notebooks")
    assert source.account_id == "111122223333"


def test_unknown_profile_is_bad_input(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    with pytest.raises(BadInputError, match="no-such-profile"):
        make_session(profile="no-such-profile", region=REGION)


def _client_error(code: str, message: str = "m", **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **extra}, "Op")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDenied", AccessDeniedError),
        ("AccessDeniedException", AccessDeniedError),
        ("UnauthorizedOperation", AccessDeniedError),
        ("ThrottlingException", ThrottledError),
        ("TooManyRequestsException", ThrottledError),
        ("LimitExceededException", ThrottledError),
        ("ExpiredTokenException", SourceError),
        ("InvalidParameterException", SourceError),
    ],
)
def test_translate_error_maps_codes_onto_the_tree(code, kind):
    error = translate_error(_client_error(code), "StartQuery")
    assert type(error) is kind
    assert error.operation == "StartQuery"
    assert error.code == code
    assert str(error).startswith("StartQuery: ")


def test_translate_error_names_the_missing_resource():
    error = translate_error(
        _client_error("ResourceNotFoundException", "The specified log group does not exist."),
        "FilterLogEvents",
        detail="log group '/aws/lambda/x'",
    )
    assert type(error) is SourceError
    assert "log group '/aws/lambda/x' not found" in str(error)


def test_translate_error_without_compile_location_still_is_a_query_error():
    error = translate_error(
        _client_error("MalformedQueryException", "bad"), "StartQuery", query="fields @x |"
    )
    assert isinstance(error, QueryError)
    assert error.line is None
    assert "StartQuery: bad" in str(error)
