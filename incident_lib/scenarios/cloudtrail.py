"""CloudTrail records as LookupEvents returns them (facts §2.8): the ``Events`` item with its
``CloudTrailEvent`` JSON string holding the full record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.ids import new_uuid, upper_alnum


@dataclass(frozen=True)
class Identity:
    """Who made a call: an assumed-role session (CI, on-call) or an IAM user."""

    account_id: str
    name: str  # session name or user name; LookupEvents' ``Username``
    role: str | None = None  # role name for an assumed-role session
    user_agent: str = "aws-cli/2.17.40 md/Botocore#1.35.40 ua/2.0 os/linux#6.8"
    source_ip: str = "203.0.113.24"

    def user_identity(self, rng: np.random.Generator, when: pd.Timestamp) -> dict[str, Any]:
        """The record's ``userIdentity`` block."""
        key = "ASIA" + upper_alnum(rng, 16)
        if self.role is None:
            return {
                "type": "IAMUser",
                "principalId": "AIDA" + upper_alnum(rng, 17),
                "arn": f"arn:aws:iam::{self.account_id}:user/{self.name}",
                "accountId": self.account_id,
                "accessKeyId": key,
                "userName": self.name,
            }
        role_id = "AROA" + upper_alnum(rng, 17)
        issued = (when - pd.Timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{self.name}",
            "arn": f"arn:aws:sts::{self.account_id}:assumed-role/{self.role}/{self.name}",
            "accountId": self.account_id,
            "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{self.account_id}:role/{self.role}",
                    "accountId": self.account_id,
                    "userName": self.role,
                },
                "attributes": {"creationDate": issued, "mfaAuthenticated": "false"},
            },
        }


def lookup_event(
    rng: np.random.Generator,
    *,
    when: pd.Timestamp,
    event_name: str,
    event_source: str,
    identity: Identity,
    region: str,
    resources: list[tuple[str, str]],
    request_parameters: dict[str, Any] | None,
    response_elements: dict[str, Any] | None = None,
    read_only: bool = False,
) -> dict[str, Any]:
    """One LookupEvents ``Events`` item.

    Parameters
    ----------
    resources
        ``(ResourceType, ResourceName)`` pairs, e.g. ``("AWS::Lambda::Function", "checkout-api")``.
    request_parameters, response_elements
        The record's ``requestParameters`` / ``responseElements``.
    """
    event_id = new_uuid(rng)
    user_identity = identity.user_identity(rng, when)
    event_time = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "eventVersion": "1.09",
        "userIdentity": user_identity,
        "eventTime": event_time,
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": identity.source_ip,
        "userAgent": identity.user_agent,
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "requestID": new_uuid(rng),
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity.account_id,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{event_source.split('.')[0]}.{region}.amazonaws.com",
        },
    }
    return {
        "EventId": event_id,
        "EventName": event_name,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": user_identity["accessKeyId"],
        "EventTime": when,
        "EventSource": event_source,
        "Username": identity.name,
        "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in resources],
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }


def function_arn(region: str, account_id: str, function: str, qualifier: str | None = None) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{function}"
    return f"{arn}:{qualifier}" if qualifier else arn


def lambda_deploy(
    rng: np.random.Generator,
    *,
    function: str,
    alias: str,
    old_version: int,
    new_version: int,
    times: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    identity: Identity,
    region: str,
    code_sha: str,
    artifact_key: str,
) -> list[dict[str, Any]]:
    """The three calls of a Lambda deploy through an alias: UpdateFunctionCode, PublishVersion,
    UpdateAlias (names as CloudTrail records them, with their API version suffixes)."""
    acct = identity.account_id
    res = [("AWS::Lambda::Function", function)]
    code, publish, move = times
    return [
        lookup_event(
            rng,
            when=code,
            event_name="UpdateFunctionCode20150331v2",
            event_source="lambda.amazonaws.com",
            identity=identity,
            region=region,
            resources=res,
            request_parameters={
                "functionName": function,
                "s3Bucket": f"{acct}-deploy-artifacts",
                "s3Key": artifact_key,
                "publish": False,
                "dryRun": False,
            },
            response_elements={
                "functionName": function,
                "functionArn": function_arn(region, acct, function),
                "version": "$LATEST",
                "codeSha256": code_sha,
                "runtime": "python3.12",
                "lastUpdateStatus": "InProgress",
            },
        ),
        lookup_event(
            rng,
            when=publish,
            event_name="PublishVersion20150331",
            event_source="lambda.amazonaws.com",
            identity=identity,
            region=region,
            resources=res,
            request_parameters={"functionName": function, "codeSha256": code_sha},
            response_elements={
                "functionName": function,
                "functionArn": function_arn(region, acct, function, str(new_version)),
                "version": str(new_version),
                "codeSha256": code_sha,
            },
        ),
        lookup_event(
            rng,
            when=move,
            event_name="UpdateAlias20150331",
            event_source="lambda.amazonaws.com",
            identity=identity,
            region=region,
            resources=[*res, ("AWS::Lambda::Alias", f"{function}:{alias}")],
            request_parameters={
                "functionName": function,
                "name": alias,
                "functionVersion": str(new_version),
            },
            response_elements={
                "aliasArn": function_arn(region, acct, function, alias),
                "name": alias,
                "functionVersion": str(new_version),
                "description": f"was {old_version}",
            },
        ),
    ]
