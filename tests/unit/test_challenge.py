"""Tests for livecert.liveness.challenge: digit draws, schedules, signed tokens, keys
and single-use nonce stores."""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import math
import multiprocessing
import os
import stat
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import livecert.liveness.challenge as ch
from livecert.errors import ChallengeError, SessionStateError
from livecert.liveness.challenge import (
    Challenge,
    MemoryNonceStore,
    PromptAction,
    PromptStep,
    ScheduleKind,
    SQLiteNonceStore,
    check_challenge,
    generate_key,
    load_key,
    new_blink_challenge,
    new_challenge,
    save_key,
)
from livecert.results import ReasonCode

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
T0 = 1_700_000_000.0
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# chi-square, 9 degrees of freedom: P(X > 42.0) = 3.3e-6
CHI2_9DF_CRITICAL = 42.0


def _sign_raw(raw: bytes, key: bytes = KEY) -> str:
    """A correctly signed token around arbitrary payload bytes."""
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return f"{enc(raw)}.{enc(hmac.digest(key, raw, 'sha256'))}"


def _is_run_or_repeat(d: str) -> bool:
    diffs = {int(b) - int(a) for a, b in zip(d, d[1:])}
    triple = any(d[i] == d[i + 1] == d[i + 2] for i in range(len(d) - 2))
    return (len(d) >= 2 and len(set(d)) == 1) or triple or (len(d) >= 3 and diffs in ({1}, {-1}))


# ---------------------------------------------------------------- digits


@pytest.mark.parametrize("allow_runs", [False, True])
def test_digits_uniform_per_position(allow_runs: bool) -> None:
    n_draws, n = 20_000, 4
    draws = [new_challenge(n, allow_runs=allow_runs, now=T0).digits for _ in range(n_draws)]
    assert all(len(d) == n and d.isascii() and d.isdigit() for d in draws)
    expected = n_draws / 10
    sigma = math.sqrt(n_draws * 0.1 * 0.9)
    for pos in range(n):
        counts = Counter(d[pos] for d in draws)
        assert set(counts) == set("0123456789"), f"position {pos} misses digits: {sorted(counts)}"
        chi2 = sum((counts[c] - expected) ** 2 / expected for c in "0123456789")
        assert chi2 < CHI2_9DF_CRITICAL, f"position {pos}: chi2={chi2:.1f}, counts={sorted(counts.items())}"
        for c in "0123456789":
            assert abs(counts[c] - expected) < 6 * sigma, f"position {pos} digit {c}: {counts[c]}"
    # no leading-zero bias: "0" first as often as any digit
    first_zero = sum(d[0] == "0" for d in draws)
    assert abs(first_zero - expected) < 6 * sigma
    if not allow_runs:
        assert not [d for d in draws if _is_run_or_repeat(d)]
    else:  # runs/repeats are ~2 % of 4-digit strings; some must appear
        assert sum(_is_run_or_repeat(d) for d in draws) > 200


@pytest.mark.parametrize(
    "digits",
    [
        "11",
        "1111",
        "0000",
        "1234",
        "0123",
        "6789",
        "9876",
        "3210",
        "210",
        "5558",
        "8555",
        "12223",
        "00012345",
        "87654321",
    ],
)
def test_guessable_strings_detected(digits: str) -> None:
    assert ch._is_guessable(digits)


@pytest.mark.parametrize(
    "digits", ["0", "7", "12", "21", "10", "0427", "1123", "8901", "1098", "1235", "1243", "9988", "00100100"]
)
def test_ordinary_strings_not_rejected(digits: str) -> None:
    assert not ch._is_guessable(digits)


def _feed_digits(monkeypatch: pytest.MonkeyPatch, *strings: str) -> None:
    it = iter("".join(strings))
    monkeypatch.setattr(ch, "_draw_digit", lambda: next(it))


def test_runs_redrawn_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    _feed_digits(monkeypatch, "1111", "1234", "9876", "0123", "5558", "0427")
    assert new_challenge(4, now=T0).digits == "0427"
    for bad in ("1111", "1234", "9876", "5558"):
        _feed_digits(monkeypatch, bad)
        assert new_challenge(4, allow_runs=True, now=T0).digits == bad


def test_single_digit_and_eight_digits() -> None:
    ones = {new_challenge(1, now=T0).digits for _ in range(500)}
    assert ones == set("0123456789")  # a single digit is never "guessable" (no endless redraw)
    eights = [new_challenge(8, now=T0).digits for _ in range(200)]
    assert all(len(d) == 8 and not _is_run_or_repeat(d) for d in eights)
    assert not [d for d in (new_challenge(2, now=T0).digits for _ in range(2000)) if d[0] == d[1]]


@pytest.mark.parametrize("bad", [0, 9, -1, 100, 4.0, "4", True, False])
def test_bad_n_digits(bad: object) -> None:
    with pytest.raises(ChallengeError, match="n_digits") as info:
        new_challenge(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl_s": 0},
        {"ttl_s": -5.0},
        {"ttl_s": math.inf},
        {"ttl_s": math.nan},
        {"ttl_s": "300"},
        {"schedule": "some"},
        {"schedule": None},
    ],
)
def test_bad_ttl_or_schedule(kwargs: dict) -> None:
    with pytest.raises(ChallengeError):
        new_challenge(4, **kwargs)


def test_challenge_fields() -> None:
    c = new_challenge(5, ttl_s=120, now=T0)
    assert c.issued_at == T0 and c.expires_at == T0 + 120
    assert c.schedule_kind == "all" and c.schedule == (PromptStep(c.digits, 0.0, None),)
    assert len(c.nonce) >= 21 and not c.testing_only
    assert new_challenge(now=T0).nonce != c.nonce
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.digits = "0000"  # type: ignore[misc]
    before = new_challenge()
    assert abs(before.issued_at - time.time()) < 60 and before.expires_at - before.issued_at == 300


@pytest.mark.parametrize("now", [math.nan, math.inf, "1700000000", True])
def test_bad_now(now: object) -> None:
    with pytest.raises(ChallengeError, match="now"):
        new_challenge(now=now)  # type: ignore[arg-type]
    with pytest.raises(ChallengeError, match="now"):  # NaN would otherwise never compare as expired
        check_challenge(new_challenge(now=T0), key=None, store=None, now=now)  # type: ignore[arg-type]


def test_constructor_checks_schedule_matches_digits() -> None:
    with pytest.raises(ChallengeError):
        Challenge("1234", "n", T0, T0 + 1, (PromptStep("1235", 0.0),))
    with pytest.raises(ChallengeError):
        Challenge("1234", "n", T0, T0 + 1, (PromptStep("1234", 0.0),), "sometimes")
    with pytest.raises(ChallengeError):
        Challenge("1234", "n", T0, math.nan, (PromptStep("1234", 0.0),))
    with pytest.raises(ChallengeError) as info:
        Challenge("12a4", "n", T0, T0 + 1, (PromptStep("12a4", 0.0),))
    assert info.value.code == "BAD_DIGITS"


# -------------------------------------------------------------- schedules


def test_default_digit_count_per_schedule() -> None:
    """Six digits when read one by one (the timing decision needs the longer reading), four at once."""
    assert len(new_challenge(schedule="one_by_one", now=T0).digits) == 6
    assert len(new_challenge(now=T0).digits) == 4
    assert len(new_challenge(5, schedule="one_by_one", now=T0).digits) == 5


@pytest.mark.parametrize("n", [1, 4, 8])
def test_one_by_one_schedule(n: int) -> None:
    gaps: list[float] = []
    for _ in range(300):
        c = new_challenge(n, schedule="one_by_one", now=T0)
        assert c.schedule_kind == "one_by_one"
        assert len(c.schedule) == n
        assert "".join(s.text for s in c.schedule) == c.digits
        assert all(len(s.text) == 1 for s in c.schedule)
        assert c.schedule[0].show_at_s == 0.0
        for step, nxt in zip(c.schedule, c.schedule[1:]):
            assert step.hide_at_s == nxt.show_at_s  # hidden exactly when the next appears
        for step in c.schedule:
            assert step.hide_at_s is not None
            gap = step.hide_at_s - step.show_at_s
            assert 2.0 - 1e-9 <= gap <= 4.5 + 1e-9
            assert round(step.show_at_s, 2) == step.show_at_s
            gaps.append(gap)
    assert min(gaps) < 2.2 and max(gaps) > 4.3  # intervals really are randomised over the range
    assert len({round(g, 2) for g in gaps}) > 40


# ----------------------------------------------------------------- tokens


@pytest.mark.parametrize("schedule", ["all", "one_by_one"])
@pytest.mark.parametrize("n", [1, 4, 8])
def test_token_round_trip(schedule: str, n: int) -> None:
    c = new_challenge(n, schedule=schedule, now=T0 + 0.123456789)
    token = c.to_token(KEY)
    assert isinstance(token, str) and token.count(".") == 1
    assert set(token) <= set(B64URL + ".") and "=" not in token
    assert Challenge.from_token(token, KEY) == c
    assert check_challenge(token, key=KEY, store=MemoryNonceStore(), now=T0 + 1) == (c, None)


def test_token_is_compact() -> None:
    token = new_challenge(4, now=T0).to_token(KEY)
    assert len(token) < 220
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b" " not in payload and json.loads(payload)["d"] == Challenge.from_token(token, KEY).digits


def test_blink_challenges_mix_mouth_prompts_in_at_random_places() -> None:
    """Two blinks and one "open your mouth" by default; the mouth prompt's place is drawn, and the
    token carries each step's action."""
    places = Counter()
    for _ in range(300):
        c = new_blink_challenge(now=T0)
        assert sorted(c.actions) == [PromptAction.BLINK, PromptAction.BLINK, PromptAction.OPEN_MOUTH]
        assert len(c.blink_windows) == 2 and len(c.mouth_windows) == 1 and len(c.windows()) == 3
        assert set(c.windows()) == set(c.blink_windows) | set(c.mouth_windows)
        w = c.windows()
        assert 1.5 <= w[0][0] <= 3.0 and all(round((b[0] - a[1]) * 100) >= 100 for a, b in zip(w, w[1:]))
        places[c.actions.index(PromptAction.OPEN_MOUTH)] += 1
        back = Challenge.from_token(c.to_token(KEY), KEY)
        assert back == c and back.actions == c.actions
    assert set(places) == {0, 1, 2} and min(places.values()) > 60  # about 100 each
    only_blinks = new_blink_challenge(3, mouth_prompts=0)
    assert only_blinks.actions == (PromptAction.BLINK,) * 3 and only_blinks.mouth_windows == ()
    assert new_challenge(4).actions == () and new_challenge(4).windows() == ()


def test_shortest_draws_keep_a_whole_second_between_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gap drawn at its lowest: 1.00 s between prompts in the schedule's 10 ms steps, at any
    first-prompt time (as floats such a gap can come out 0.999..., which once failed a check here)."""
    for first in range(0, 151, 5):
        draws = iter([first] + [0] * 8)  # the 10 ms draws; the action shuffle's draws get 0
        monkeypatch.setattr(ch.secrets, "randbelow", lambda n, d=draws: next(d) if n == 151 else 0)
        windows = new_blink_challenge(4, mouth_prompts=0, window_s=2.5, now=T0).windows()
        assert round(windows[0][0] * 100) == 150 + first
        assert [round((b[0] - a[1]) * 100) for a, b in zip(windows, windows[1:])] == [100, 100, 100]
        assert all(round((hide - show) * 100) == 250 for show, hide in windows)


def test_head_turn_prompts_take_random_places_and_travel_in_the_token() -> None:
    """None unless asked for; asked for, each is drawn among the other prompts and its action
    survives the token."""
    assert new_blink_challenge(now=T0).turn_windows == ()
    places = Counter()
    for _ in range(200):
        c = new_blink_challenge(2, mouth_prompts=1, turn_prompts=1, now=T0)
        assert sorted(c.actions) == sorted([PromptAction.BLINK] * 2 + [PromptAction.OPEN_MOUTH, PromptAction.TURN_HEAD])
        assert len(c.turn_windows) == 1 and set(c.windows()) == set(c.blink_windows + c.mouth_windows + c.turn_windows)
        places[c.actions.index(PromptAction.TURN_HEAD)] += 1
        back = Challenge.from_token(c.to_token(KEY), KEY)
        assert back == c and back.actions == c.actions
    assert set(places) == {0, 1, 2, 3}


@pytest.mark.parametrize("n", [-1, 4, 1.0, True, None, "1"])
def test_bad_mouth_prompt_counts_are_refused(n: object) -> None:
    with pytest.raises(ChallengeError, match="mouth_prompts must be an int from 0 to 3"):
        new_blink_challenge(mouth_prompts=n)  # type: ignore[arg-type]
    with pytest.raises(ChallengeError, match="turn_prompts must be an int from 0 to 3"):
        new_blink_challenge(turn_prompts=n)  # type: ignore[arg-type]


def test_a_blink_step_naming_an_unknown_action_is_refused() -> None:
    raw = json.dumps(
        {"d": "", "n": "x", "i": T0, "e": None, "k": "blink", "s": [["smile", 2.0, 4.5]], "t": True},
        separators=(",", ":"),
    ).encode()
    with pytest.raises(ChallengeError) as err:
        Challenge.from_token(_sign_raw(raw), KEY)
    assert err.value.code == "CHALLENGE_INVALID"
    with pytest.raises(ChallengeError, match="one timed step per action"):
        Challenge("", "x", T0, math.inf, (PromptStep("7", 2.0, 4.5),), ScheduleKind.BLINK)
    with pytest.raises(ChallengeError, match="one PromptAction per prompt time"):
        Challenge.for_known_blink_prompts((1.0, 5.0), actions=(PromptAction.BLINK,))


def test_known_digits_token_round_trip() -> None:
    c = Challenge.for_known_digits("0427")
    back = Challenge.from_token(c.to_token(KEY), KEY)
    assert back == c and back.testing_only and math.isinf(back.expires_at)


def _assert_invalid(token: object, key: bytes = KEY) -> None:
    with pytest.raises(ChallengeError) as info:
        Challenge.from_token(token, key)  # type: ignore[arg-type]
    assert info.value.code == "CHALLENGE_INVALID"
    assert check_challenge(token, key=key, store=None, now=T0) == (None, ReasonCode.CHALLENGE_INVALID)  # type: ignore[arg-type]


def test_tampering_any_character_invalidates() -> None:
    c = new_challenge(4, schedule="one_by_one", now=T0)
    token = c.to_token(KEY)
    tried = 0
    for i, orig in enumerate(token):
        for repl in B64URL + ".=+/ ":
            if repl == orig:
                continue
            bad = token[:i] + repl + token[i + 1 :]
            with pytest.raises(ChallengeError) as info:
                Challenge.from_token(bad, KEY)
            assert info.value.code == "CHALLENGE_INVALID", (i, repl)
            tried += 1
    assert tried > 60 * len(token)
    for i in range(len(token)):  # deleting or duplicating any character
        _assert_invalid(token[:i] + token[i + 1 :])
        _assert_invalid(token[:i] + token[i] + token[i:])


def test_tampered_payload_bytes_invalid() -> None:
    c = new_challenge(4, now=T0)
    payload_b64, sig_b64 = c.to_token(KEY).split(".")
    raw = base64.urlsafe_b64decode(payload_b64 + "==")
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    for i in range(len(raw)):  # flip every bit pattern of each payload byte, keep the signature
        for mask in (0x01, 0x20, 0x80):
            forged = raw[:i] + bytes([raw[i] ^ mask]) + raw[i + 1 :]
            _assert_invalid(f"{enc(forged)}.{sig_b64}")
    sig = base64.urlsafe_b64decode(sig_b64 + "==")
    for i in range(len(sig)):
        _assert_invalid(f"{payload_b64}.{enc(sig[:i] + bytes([sig[i] ^ 1]) + sig[i + 1 :])}")
    # a longer expiry, re-encoded, with the original signature
    longer = json.loads(raw)
    longer["e"] += 3600
    _assert_invalid(f"{enc(json.dumps(longer, separators=(',', ':')).encode())}.{sig_b64}")


@pytest.mark.parametrize("token", ["", ".", "a.b", "a.b.c", "abc", "..", "é.é", " " + "x" * 10, "x" * 5000])
def test_garbled_tokens_invalid(token: str) -> None:
    _assert_invalid(token)


@pytest.mark.parametrize("token", [None, 123, b"abc.def", ["a", "b"], 1.5])
def test_non_string_tokens_invalid(token: object) -> None:
    _assert_invalid(token)


def test_wrong_key_invalid() -> None:
    token = new_challenge(now=T0).to_token(KEY)
    _assert_invalid(token, OTHER_KEY)
    _assert_invalid(token, KEY[:-1] + bytes([KEY[-1] ^ 1]))  # one bit off


def test_token_without_key_is_invalid_and_bad_key_raises() -> None:
    token = new_challenge(now=T0).to_token(KEY)
    assert check_challenge(token, key=None, store=None, now=T0) == (None, ReasonCode.CHALLENGE_INVALID)
    for bad_key in (b"short", "x" * 32, None):
        with pytest.raises(ChallengeError) as info:
            Challenge.from_token(token, bad_key)  # type: ignore[arg-type]
        assert info.value.code == "BAD_KEY"
    with pytest.raises(ChallengeError) as info:  # a misconfigured server must not look like a bad token
        check_challenge(token, key=b"short", store=None, now=T0)
    assert info.value.code == "BAD_KEY"
    with pytest.raises(ChallengeError) as info:
        new_challenge(now=T0).to_token(b"short")
    assert info.value.code == "BAD_KEY"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"d":"1234"}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":[["1234",0,null]],"t":false,"extra":1}',
        b'{"d":"12a4","n":"x","i":1,"e":2,"k":"all","s":[["12a4",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":1,"e":NaN,"k":"all","s":[["1234",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":1,"e":Infinity,"k":"all","s":[["1234",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":"1","e":2,"k":"all","s":[["1234",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":[["1234",0,null]],"t":0}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":"1234","t":false}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":[["1234",0]],"t":false}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":[["1235",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":1,"e":2,"k":"often","s":[["1234",0,null]],"t":false}',
        b'{"d":"1234","n":7,"i":1,"e":2,"k":"all","s":[["1234",0,null]],"t":false}',
        b'{"d":"1234","n":"x","i":true,"e":2,"k":"all","s":[["1234",0,null]],"t":false}',
        b"\xff\xfe",
    ],
)
def test_signed_but_malformed_payload_invalid(raw: bytes) -> None:
    _assert_invalid(_sign_raw(raw))


def test_signed_minimal_payload_accepted() -> None:
    raw = b'{"d":"1234","n":"x","i":1,"e":2,"k":"all","s":[["1234",0,null]],"t":false}'
    assert Challenge.from_token(_sign_raw(raw), KEY) == Challenge("1234", "x", 1.0, 2.0, (PromptStep("1234", 0.0),))


# ------------------------------------------------------ expiry and reuse


def test_expired() -> None:
    c = new_challenge(ttl_s=300, now=T0)
    token = c.to_token(KEY)
    store = MemoryNonceStore()
    assert check_challenge(token, key=KEY, store=store, now=T0 + 300.001) == (c, ReasonCode.CHALLENGE_EXPIRED)
    assert check_challenge(c, key=None, store=store, now=T0 + 1e6)[1] is ReasonCode.CHALLENGE_EXPIRED
    # expiry is checked before consuming: the nonce is still unused
    assert check_challenge(token, key=KEY, store=store, now=T0 + 300.0) == (c, None)
    assert check_challenge(token, key=KEY, store=store, now=T0 + 10)[1] is ReasonCode.CHALLENGE_REUSED


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        yield MemoryNonceStore()
    else:
        with SQLiteNonceStore(tmp_path / "nonces.db") as s:
            yield s


def test_second_use_rejected(store) -> None:
    c = new_challenge(now=T0)
    token = c.to_token(KEY)
    assert check_challenge(token, key=KEY, store=store, now=T0 + 1) == (c, None)
    assert check_challenge(token, key=KEY, store=store, now=T0 + 2) == (c, ReasonCode.CHALLENGE_REUSED)
    assert check_challenge(c, key=None, store=store, now=T0 + 3) == (c, ReasonCode.CHALLENGE_REUSED)
    other = new_challenge(now=T0)
    assert check_challenge(other, key=None, store=store, now=T0 + 1) == (other, None)  # trusted object
    assert check_challenge(other, key=KEY, store=store, now=T0 + 1)[1] is ReasonCode.CHALLENGE_REUSED


def test_known_digits_never_expire_but_are_single_use(store) -> None:
    c = Challenge.for_known_digits("31415")
    assert check_challenge(c, key=None, store=store, now=4e9) == (c, None)
    assert check_challenge(c.to_token(KEY), key=KEY, store=store, now=5e9)[1] is ReasonCode.CHALLENGE_REUSED
    assert store.consume("fresh", T0 + 10, T0)  # other nonces still work after an inf expiry was stored


def test_reuse_detected_within_grace_after_expiry(store) -> None:
    assert store.consume("n1", T0 + 100, T0) is True
    assert store.consume("n1", T0 + 100, T0 + 200) is False  # past expiry, within the purge grace
    assert store.consume("n2", T0 + 10_300, T0 + 10_000) is True  # n1 is purged by now
    assert store.consume("n2", T0 + 10_300, T0 + 10_001) is False


def test_store_none_does_not_enforce_single_use() -> None:
    token = new_challenge(now=T0).to_token(KEY)
    for _ in range(3):
        assert check_challenge(token, key=KEY, store=None, now=T0)[1] is None


def test_threads_consume_each_nonce_once(store) -> None:
    nonces = [f"n{i}" for i in range(100)]
    wins: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        for n in nonces:
            if store.consume(n, T0 + 300, T0):
                with lock:
                    wins.append(n)

    threads = [threading.Thread(target=work) for _ in range(6)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to expose races
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert sorted(wins) == sorted(nonces)


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "nonces.db"
    c = new_challenge(now=T0)
    with SQLiteNonceStore(db) as s:
        assert check_challenge(c.to_token(KEY), key=KEY, store=s, now=T0)[1] is None
    with SQLiteNonceStore(db) as s2:  # a "restarted" server
        assert check_challenge(c.to_token(KEY), key=KEY, store=s2, now=T0 + 5)[1] is ReasonCode.CHALLENGE_REUSED
        assert s2.consume("another", T0 + 300, T0)


def test_sqlite_close(tmp_path: Path) -> None:
    s = SQLiteNonceStore(tmp_path / "n.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(SessionStateError):
        s.consume("x", T0 + 1, T0)


def test_sqlite_bad_path(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError) as info:
        SQLiteNonceStore(tmp_path / "no" / "such" / "dir" / "n.db")
    assert info.value.code == "NONCE_STORE_UNAVAILABLE"


def _consume_worker(db: str, nonces: list[str], start: Any, out: Any) -> None:
    store = SQLiteNonceStore(db, timeout_s=60)
    start.wait(60)
    out.put([n for n in nonces if store.consume(n, T0 + 300, T0)])
    store.close()


def test_sqlite_processes_exactly_one_wins(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    SQLiteNonceStore(db).close()
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    nonces = ["same-nonce"] + [f"n{i}" for i in range(60)]
    procs = [ctx.Process(target=_consume_worker, args=(db, nonces, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    wins = Counter(n for r in results for n in r)
    assert wins["same-nonce"] == 1
    assert all(wins[n] == 1 for n in nonces), [n for n in nonces if wins[n] != 1]
    assert not SQLiteNonceStore(db).consume("same-nonce", T0 + 300, T0 + 1)


# ------------------------------------------------------------ known digits


@pytest.mark.parametrize("digits", ["0", "0427", "12345678", "1111", "1234"])
def test_for_known_digits(digits: str) -> None:
    c = Challenge.for_known_digits(digits)
    assert c.digits == digits and c.testing_only and c.expires_at == math.inf
    assert c.schedule == (PromptStep(digits, 0.0, None),)
    assert check_challenge(c, key=None, store=None, now=1e12) == (c, None)


@pytest.mark.parametrize("digits", ["", "123456789", "12a4", "12 4", "-123", "١٢٣", "1234\n", "½", 1234, None])
def test_for_known_digits_rejects_bad(digits: object) -> None:
    with pytest.raises(ChallengeError) as info:
        Challenge.for_known_digits(digits)  # type: ignore[arg-type]
    assert info.value.code == "BAD_DIGITS"


# -------------------------------------------------------------------- keys


def test_generate_key() -> None:
    a, b = generate_key(), generate_key()
    assert isinstance(a, bytes) and len(a) == 32 and a != b


def test_save_and_load_key(tmp_path: Path) -> None:
    path = tmp_path / "challenge.key"
    key = generate_key()
    save_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == key
    path.chmod(0o644)  # overwriting a too-open file tightens it
    key2 = generate_key()
    save_key(str(path), key2)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(str(path)) == key2


def test_save_key_ignores_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        save_key(tmp_path / "k", generate_key())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_save_short_key_rejected(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError) as info:
        save_key(tmp_path / "k", b"short")
    assert info.value.code == "BAD_KEY" and not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    "encode",
    [
        lambda k: k,
        lambda k: k.hex().encode(),
        lambda k: k.hex().upper().encode() + b"\r\n",
        lambda k: base64.b64encode(k),
        lambda k: base64.b64encode(k).rstrip(b"=") + b"\n",
        lambda k: base64.urlsafe_b64encode(k),
        lambda k: b"  " + base64.urlsafe_b64encode(k).rstrip(b"=") + b"\n",
    ],
    ids=["raw", "hex", "HEX-crlf", "b64", "b64-nopad", "b64url", "b64url-nopad-spaces"],
)
def test_load_key_formats(tmp_path: Path, encode) -> None:
    key = bytes([0xFF, 0xFB, 0x3E, 0x00, 0x0A]) + bytes(range(200, 227))  # has '\n', NUL, '+/' in base64
    path = tmp_path / "k"
    path.write_bytes(encode(key))
    assert load_key(path) == key


@pytest.mark.parametrize(
    "content", [None, b"", b"  \n\t", b"abcd", b"\x01\x02\x03", base64.b64encode(b"x" * 10), (b"a" * 15)]
)
def test_load_key_errors(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "k"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ChallengeError) as info:
        load_key(path)
    assert info.value.code == "BAD_KEY"
    assert "generate_key" in info.value.message and str(path) in info.value.message


def test_load_key_directory(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError) as info:
        load_key(tmp_path)
    assert info.value.code == "BAD_KEY"


def test_loaded_key_signs_and_verifies(tmp_path: Path) -> None:
    save_key(tmp_path / "k", generate_key())
    key = load_key(tmp_path / "k")
    c = new_challenge(now=T0)
    assert check_challenge(c.to_token(key), key=load_key(tmp_path / "k"), store=MemoryNonceStore(), now=T0) == (c, None)
