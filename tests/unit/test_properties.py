"""Hypothesis tests: the challenge token parser and the configuration validators."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings, strategies as st

from livecert.config import (
    BlinkConfig,
    DigitsConfig,
    LandmarkConfig,
    LimitsConfig,
    MatchConfig,
    QualityConfig,
    SessionConfig,
)
from livecert.errors import ChallengeError, InputError
from livecert.liveness.challenge import Challenge, PromptStep

KEY = bytes(range(32))
FAST = settings(max_examples=150, deadline=None)

tokens = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= \n", max_size=300),
)


@FAST
@given(tokens)
def test_any_text_is_a_challenge_or_invalid(token: str) -> None:
    try:
        Challenge.from_token(token, KEY)
    except ChallengeError as exc:
        assert exc.code == "CHALLENGE_INVALID"


@FAST
@given(
    st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=30),
    st.floats(0.0, 4e9),
    st.floats(1.0, 86_400.0),
    st.data(),
)
def test_tokens_round_trip_and_any_change_invalidates(
    digits: str, nonce: str, issued: float, ttl: float, data: st.DataObject
) -> None:
    c = Challenge(digits, nonce, issued, issued + ttl, (PromptStep(digits, 0.0),))
    token = c.to_token(KEY)
    assert Challenge.from_token(token, KEY) == c
    assert Challenge.from_token(f" {token}\n", KEY) == c
    i = data.draw(st.integers(0, len(token) - 1))
    ch = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."))
    if ch != token[i]:
        with pytest.raises(ChallengeError) as err:
            Challenge.from_token(token[:i] + ch + token[i + 1 :], KEY)
        assert err.value.code == "CHALLENGE_INVALID"


CONFIGS = [LandmarkConfig, QualityConfig, BlinkConfig, DigitsConfig, SessionConfig, MatchConfig, LimitsConfig]
NUMERIC = [
    (cls, f.name)
    for cls in CONFIGS
    for f in dataclasses.fields(cls)
    if isinstance(getattr(cls(), f.name), (int, float)) and not isinstance(getattr(cls(), f.name), bool)
]

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.sampled_from([0, -1, 1e308, -0.0, math.nan, math.inf]),
)


@pytest.mark.parametrize("cls,name", NUMERIC, ids=[f"{c.__name__}.{n}" for c, n in NUMERIC])
@settings(max_examples=40, deadline=None)
@given(value=values)
def test_config_fields_are_in_range_or_refused(cls: type, name: str, value: float) -> None:
    try:
        cfg = cls(**{name: value})
    except InputError as exc:
        assert exc.code == "BAD_CONFIG" and "config field" in str(exc)  # this field, or one bounded by it
    else:
        got = getattr(cfg, name)
        assert math.isfinite(got)
