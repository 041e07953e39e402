"""The read-only IAM policy of deploy/template.yaml, as a set of actions, for the tests that
check it against the AWS calls an investigation makes."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
#: Calls that need no IAM permission.
NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})


@functools.cache
def template() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    doc, matches = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    assert not matches, matches
    return doc


def investigation_actions() -> set[str]:
    """Every action the InvestigationReadPolicy allows."""
    statements = template()["Resources"]["InvestigationReadPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    actions: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def assert_policy_allows(calls: dict[str, int] | set[str]) -> None:
    """Each ``service:Operation`` an investigation called is an action the policy allows
    (CallCounter keys are IAM action names)."""
    missing = set(calls) - investigation_actions() - NO_PERMISSION
    assert not missing, f"deploy/template.yaml's policy lacks {sorted(missing)}"
