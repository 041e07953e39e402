"""Secrets are masked: every kind, in every syntax it is written in, in linear time."""

from __future__ import annotations

import html
import json

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from incident_lib.redact import (
    MASK,
    SECRET_KINDS,
    is_secret_key,
    mask_frame,
    mask_json,
    mask_notebook,
    mask_secrets,
)
from tests.security.hostile import SECRETS


def test_the_catalogue_covers_at_least_32_kinds() -> None:
    assert len(SECRETS) >= 32
    assert len({s.kind for s in SECRETS}) == len(SECRETS)


@pytest.mark.parametrize("kind", SECRET_KINDS, ids=lambda k: k.name)
def test_each_pattern_masks_its_own_example(kind) -> None:
    assert MASK in kind.apply(kind.example)
    assert MASK in mask_secrets(kind.example)


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.kind)
def test_each_kind_is_masked_as_written(secret) -> None:
    masked = mask_secrets(f"2026-01-20T03:05:00.000Z\tERROR\t{secret.text} (retrying)")
    assert secret.secret not in masked
    assert MASK in masked


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.kind)
def test_each_kind_is_masked_inside_json_json_in_json_and_html(secret) -> None:
    inner = json.dumps({"message": secret.text})
    for form in (inner, json.dumps({"log": inner}), html.escape(inner, quote=True)):
        assert secret.secret not in mask_secrets(form), form
        assert json.dumps(secret.secret)[1:-1] not in mask_secrets(form)


def test_access_key_keeps_a_prefix_to_tell_leaks_apart() -> None:
    assert mask_secrets("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSF" + MASK


def test_key_value_keeps_the_key_and_the_quotes() -> None:
    assert mask_secrets('{"db_password": "x1", "user": "bob"}') == (
        '{"db_password": "****", "user": "bob"}'
    )
    assert mask_secrets(r"{\"password\":\"x1\"}") == r"{\"password\":\"****\"}"
    assert mask_secrets("Cookie: a=1; b=2\nnext line") == "Cookie: ****\nnext line"


@pytest.mark.parametrize(
    "text",
    [
        "GET /checkout 200 12ms",
        "KeyError: 'currency'",
        "tokens processed: 12",
        "max_tokens=512 token_count: 3",
        "",
        "passwords",
        "bypass=true",
        '{"password": null, "token": ""}',
        "commit 3f786850e387550fdab836ed7e6dc881de23001b deployed",
        "request 8a6f2c1e-5b7d-4e3f-9a1b-2c3d4e5f6a7b failed",
        "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:",
        "arn:aws:lambda:eu-west-1:123456789012:function:checkout-api",
        "user bob@example.com logged in",
        "Task timed out after 3.00 seconds",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_secrets(text) == text


def test_secret_keys_are_recognised_by_their_name() -> None:
    for key in ("db_password", "SecretAccessKey", "x-api-key", "sessionToken", "Set-Cookie"):
        assert is_secret_key(key), key
    for key in ("AccessKeyId", "max_tokens", "bypass", "password_changed_at", "secret_name"):
        assert not is_secret_key(key), key


def test_mask_json_masks_strings_and_values_under_secret_keys() -> None:
    value = {
        "Credentials": {"SecretAccessKey": "abc", "SessionToken": 12345, "Expiration": None},
        "notes": ["password=hunter2", 3, True],
        "name": "checkout",
        "onsets": {"fn password=hunter2": 1},
    }
    assert mask_json(value) == {
        "Credentials": {"SecretAccessKey": MASK, "SessionToken": MASK, "Expiration": None},
        "notes": ["password=" + MASK, 3, True],
        "name": "checkout",
        "onsets": {"fn password=" + MASK: 1},
    }
    assert value["notes"][0] == "password=hunter2"  # a copy


def test_mask_frame_masks_strings_and_secret_columns_and_copies() -> None:
    frame = pd.DataFrame({"msg": ["password=abc123", "ok"], "n": [1, 2], "token": ["t1", None]})
    out = mask_frame(frame)
    assert out["msg"].tolist() == ["password=" + MASK, "ok"]
    assert out["n"].tolist() == [1, 2]
    assert out["token"].iloc[0] == MASK and pd.isna(out["token"].iloc[1])
    assert frame["msg"].iloc[0] == "password=abc123"


def test_mask_notebook_masks_outputs_parameters_and_metadata_not_code() -> None:
    secret = "ghp_" + "A" * 36
    params = new_code_cell(f'alarm_json = "{{\\"description\\": \\"{secret}\\"}}"')
    params.metadata["tags"] = ["injected-parameters"]
    code = new_code_cell(f"# the query looks for {secret}")
    code.outputs = [
        new_output("stream", name="stdout", text=f"printed {secret}\n"),
        new_output(
            "display_data",
            data={
                "text/markdown": f"shown {secret}",
                "text/html": f"<td>{secret}</td>",
                "application/vnd.incident.section+json": {"error": f"denied {secret}"},
            },
        ),
        new_output("error", ename="Error", evalue=secret, traceback=[f"line {secret}"]),
    ]
    nb = new_notebook(cells=[params, code, new_markdown_cell(f"authored {secret}")])
    nb.metadata["papermill"] = {"parameters": {"alarm_json": f'{{"d": "{secret}"}}'}}
    mask_notebook(nb)
    text = nbformat.writes(nb)
    assert text.count(secret) == 2  # the code cell and the markdown cell, as written
    assert secret in nb.cells[1].source and secret in nb.cells[2].source
    nbformat.validate(nb)


ADVERSARIAL = {
    "letters": "a" * 256_000,
    "base64": "Ab1/" * 64_000,
    "key_value": "password=" * 28_000,
    "open_quotes": 'password="' * 25_000,
    "json_keys": '"password": "' * 20_000,
    "schemes": "a://" * 64_000,
    "user_at": "http://u:" * 28_000,
    "pem_no_end": "-----BEGIN RSA PRIVATE KEY-----" + "A" * 256_000,
    "jwt_parts": "eyJaaaaa." * 28_000,
    "spaces": " " * 256_000,
    "html_quotes": "&quot;" * 43_000,
    "backslashes": "\\" * 256_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_long_adversarial_lines_are_masked_in_linear_time(name: str) -> None:
    """256 KB lines shaped against each pattern: a quadratic pattern would take minutes here
    (the 1 MB timings are in benchmarks/bench_redact.py)."""
    text = ADVERSARIAL[name]
    masked = mask_secrets(text)
    assert len(masked) <= len(text) + 16
