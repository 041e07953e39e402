from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.redact import MASK, mask_frame, mask_secrets


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key=AKIAIOSFODNN7EXAMPLE in header", "IOSFODNN7EXAMPLE"[4:]),
        ("temp ASIAXXXXXXXXXXXXXXXX used", "XXXXXXXXXXXX"),
        ('{"password": "hunter2!", "user": "bob"}', "hunter2!"),
        ("login failed password=Sup3rS3cret&next=/", "Sup3rS3cret"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("Authorization: Bearer abcdef0123456789abcdef", "abcdef0123456789"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz end", "eyJzdWIi"),
        ("api_key: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    masked = mask_secrets(text)
    assert secret not in masked
    assert MASK in masked


def test_access_key_keeps_a_prefix_to_tell_leaks_apart() -> None:
    assert mask_secrets("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSF" + MASK


@pytest.mark.parametrize(
    "text",
    ["GET /checkout 200 12ms", "KeyError: 'currency'", "tokens processed: 12", "", "passwords"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_secrets(text) == text


def test_mask_frame_masks_strings_only_and_copies() -> None:
    frame = pd.DataFrame({"msg": ["password=abc123", "ok"], "n": [1, 2]})
    out = mask_frame(frame)
    assert out["msg"].tolist() == ["password=" + MASK, "ok"]
    assert out["n"].tolist() == [1, 2]
    assert frame["msg"].iloc[0] == "password=abc123"
