"""A moto server on 127.0.0.1 for the AWS source, started once per test session.

Reusable fixtures (any test under tests/ may use them by importing this module's fixtures
through a conftest, or by living under tests/aws/):

- ``moto_endpoint``: the server's URL; fake credentials and ``us-east-1`` in the environment
  for the whole session, so nothing can reach a real account.
- ``moto``: the same URL, with the server's state reset before the test.
- ``moto_clients``: a factory ``moto_clients("logs")`` of boto3 clients on the server, with
  explicit timeouts and retries (moto can be slow: GetMetricData time grows with queries x
  periods x stored datapoints, so keep its data small).
- ``aws_source``: an :class:`AwsSource` pointed at the server (fast polling).
- ``stubbed``: an :class:`AwsSource` over clients under ``botocore.stub.Stubber`` for the
  calls moto does not implement (DescribeAlarmHistory, LookupEvents, statuses, errors).
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from incident_lib.sources.aws import AwsSource
from incident_lib.sources.clients import ClientSettings

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Fail fast on a local server: one retry, short timeouts (GetMetricData on moto grows with
# stored data; keep seeded data small).
TEST_SETTINGS = ClientSettings(
    retry_mode="standard", max_attempts=2, connect_timeout=2, read_timeout=20
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Start ``ThreadedMotoServer`` on a free port of 127.0.0.1; yield its URL."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
            mp.delenv(key, raising=False)
        for key, value in FAKE_ENV.items():
            mp.setenv(key, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def reset_moto(endpoint: str) -> None:
    """Forget every resource the server holds (moto's ``/moto-api/reset``)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def moto(moto_endpoint: str) -> str:
    """The moto URL, with an empty server."""
    reset_moto(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def moto_clients(moto: str) -> Callable[[str], BaseClient]:
    """``moto_clients(service)``: a client on the (reset) moto server, for seeding data."""
    session = boto3.Session(region_name=REGION)
    made: dict[str, BaseClient] = {}

    def factory(service: str) -> BaseClient:
        if service not in made:
            made[service] = session.client(
                service, endpoint_url=moto, config=TEST_SETTINGS.to_config()
            )
        return made[service]

    return factory


@pytest.fixture
def aws_source(moto: str) -> AwsSource:
    """An AwsSource on the moto server; account id left to STS."""
    return AwsSource(
        region=REGION,
        endpoint_url=moto,
        settings=TEST_SETTINGS,
        poll_interval=0.01,
        insights_timeout=20,
    )


@dataclass
class Stubbed:
    """An AwsSource whose clients are under Stubbers: ``stubbed.logs.add_response(...)``."""

    source: AwsSource
    clients: dict[str, BaseClient]
    stubbers: dict[str, Stubber]

    def __getattr__(self, service: str) -> Stubber:
        try:
            return self.stubbers[service]
        except KeyError:
            raise AttributeError(service) from None

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@functools.cache
def fake_session() -> boto3.Session:
    """One session with fake keys for stubbed clients (its loader caches service models)."""
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


def make_stubbed(**source_options) -> Stubbed:
    """Stubbed clients (no endpoint is ever contacted) behind an AwsSource."""
    session = fake_session()
    clients = {
        service: session.client(service, config=TEST_SETTINGS.to_config())
        for service in ("cloudwatch", "logs", "cloudtrail", "sts")
    }
    stubbers = {service: Stubber(client) for service, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    options = {"poll_interval": 0.0, "insights_timeout": 5, "account_id": ACCOUNT_ID}
    options.update(source_options)
    source = AwsSource(region=REGION, clients=clients, settings=TEST_SETTINGS, **options)
    return Stubbed(source, clients, stubbers)


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    stub = make_stubbed()
    yield stub
    for stubber in stub.stubbers.values():
        stubber.deactivate()
