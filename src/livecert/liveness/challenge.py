"""One-time signed read-digits challenges.

The server draws random digits with :func:`new_challenge`, gives the client a
signed token (:meth:`Challenge.to_token`) and, when the recording comes back,
calls :func:`check_challenge` with the token, the key and a :class:`NonceStore`
that makes every challenge usable once.

Token: ``base64url(payload) + "." + base64url(HMAC-SHA256(key, payload))``,
``payload`` being compact JSON, base64url without padding.  Both parts must be
canonical base64url, so changing any character makes the token invalid.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import hmac
import json
import logging
import math
import os
import re
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, SupportsFloat, cast

from livecert.arrays import is_finite_number
from livecert.enums import StrEnum
from livecert.errors import ChallengeError, ErrorCode, SessionStateError
from livecert.io.files import as_path
from livecert.results import ReasonCode

log = logging.getLogger(__name__)

MIN_KEY_BYTES = 16

#: Longest a challenge may stay valid, in seconds (one day).
MAX_TTL_S = 86_400.0

#: How many digits a read-digits challenge shows, and how many prompts of each kind a blink
#: challenge asks for: (fewest, most).  The command line and the demo check against these.
N_DIGITS_RANGE = (1, 8)
BLINK_PROMPTS_RANGE = (1, 5)
MOUTH_PROMPTS_RANGE = (0, 3)
TURN_PROMPTS_RANGE = (0, 3)

#: How long each digit of a ``one_by_one`` challenge stays up, seconds (low,
#: high): drawn uniformly in 10 ms steps.  At least 2 s, so that an old
#: reader sees the digit, reads it aloud and finishes before the next one
#: (and the answer to a prompt cannot be taken for the answer to the next:
#: :attr:`~livecert.config.DigitsConfig.answer_window_s` is at most the
#: shortest step); spread over 2.5 s, so that a recording made for other
#: prompt times answers these only by chance
#: (:mod:`livecert.liveness.prompts`).
ONE_BY_ONE_STEP_S: tuple[float, float] = (2.0, 4.5)

_DIGITS_RE = re.compile(r"[0-9]{1,8}")

_B64_RE = re.compile(r"[A-Za-z0-9_-]*")


_KEY_HELP = "create one with livecert.liveness.challenge.save_key(path, generate_key())"


class ScheduleKind(StrEnum):
    """How a challenge's digits are shown (:attr:`Challenge.schedule_kind`).

    A ``str`` enum: ``ScheduleKind.ALL == "all"``, ``str()`` gives the value,
    and the value is what a token carries.
    """

    #: Every digit in one step, from 0 s until the recording ends.
    ALL = "all"
    #: One digit per step, each replaced by the next after a random
    #: :data:`ONE_BY_ONE_STEP_S` interval.
    ONE_BY_ONE = "one_by_one"
    #: Blink mode: no digits; each step asks for one action
    #: (:class:`PromptAction`), shown from ``show_at_s`` to ``hide_at_s``
    #: (the reaction window).
    BLINK = "blink"


class PromptAction(StrEnum):
    """What one step of a blink challenge asks for (:attr:`Challenge.actions`).

    A step's ``text`` carries it: ``""`` asks for a blink (as every blink
    challenge's steps did before mouth prompts existed), ``"open_mouth"``
    for the mouth to open, ``"turn_head"`` for the head to turn.
    """

    #: "Blink now": a blink must start in the window.
    BLINK = "blink"
    #: "Open your mouth now": the mouth must open in the window.  Blinks are
    #: involuntary and come every few seconds, so a recording answers a blink
    #: prompt by chance often; the mouth of a person sitting for the check
    #: opens only when asked.
    OPEN_MOUTH = "open_mouth"
    #: "Turn your head to one side": the head must turn in the window.  A
    #: flat picture turned in the hand is foreshortened, not turned in
    #: depth, and the face mesh reads little of it as a turn; a head that
    #: turns shows the depth parallax the planar-motion cue looks for.
    TURN_HEAD = "turn_head"


#: The step text of each action in a blink challenge.
ACTION_TEXT: dict[PromptAction, str] = {
    PromptAction.BLINK: "",
    PromptAction.OPEN_MOUTH: "open_mouth",
    PromptAction.TURN_HEAD: "turn_head",
}
_TEXT_ACTION = {text: action for action, text in ACTION_TEXT.items()}


#: Digits drawn by :func:`new_challenge` when ``n_digits`` is not given: six
#: when read one by one (the longer reading is what makes the timing and
#: lip-voice sync decision reliable), four when all are shown at once.
DEFAULT_N_DIGITS: dict[ScheduleKind, int] = {ScheduleKind.ALL: 4, ScheduleKind.ONE_BY_ONE: 6}


def _schedule_kind(value: object) -> ScheduleKind:
    """``value`` as a :class:`ScheduleKind`; ChallengeError for anything else."""
    try:
        return ScheduleKind(value)
    except ValueError:
        raise ChallengeError(f"schedule must be 'all', 'one_by_one' or 'blink', not {value!r}") from None


@dataclass(frozen=True)
class PromptStep:
    """Digits ``text`` shown from ``show_at_s`` to ``hide_at_s`` seconds after
    the prompt starts (``hide_at_s`` None: until the recording ends)."""

    text: str
    show_at_s: float
    hide_at_s: float | None = None


@dataclass(frozen=True, init=False)
class Challenge:
    """A read-digits or blink challenge; build it with :func:`new_challenge` or :func:`new_blink_challenge`.

    Attributes
    ----------
    digits : str
        1 to 8 ASCII digits, e.g. ``"0427"``; ``""`` in a blink challenge.
    nonce : str
        Random single-use id (``secrets.token_urlsafe(16)``).
    issued_at, expires_at : float
        Unix seconds; ``expires_at`` is ``inf`` for :meth:`for_known_digits`.
    schedule : tuple of PromptStep
        What to show when (step texts joined equal ``digits``; in a blink
        challenge each text names its step's :class:`PromptAction`).
    schedule_kind : ScheduleKind
        ``"all"``, ``"one_by_one"`` or ``"blink"`` (the constructor also
        takes the plain string).
    testing_only : bool
        True for :meth:`for_known_digits` challenges.
    """

    digits: str
    nonce: str
    issued_at: float
    expires_at: float
    schedule: tuple[PromptStep, ...]
    schedule_kind: ScheduleKind = ScheduleKind.ALL
    testing_only: bool = False

    def __init__(
        self,
        digits: str,
        nonce: str,
        issued_at: float,
        expires_at: float,
        schedule: tuple[PromptStep, ...],
        schedule_kind: ScheduleKind | str = ScheduleKind.ALL,
        testing_only: bool = False,
    ) -> None:
        kind = _schedule_kind(schedule_kind)  # the enum member is stored, whichever was given
        if kind is ScheduleKind.BLINK:
            if (
                digits != ""
                or not schedule
                or any(step.text not in _TEXT_ACTION or step.hide_at_s is None for step in schedule)
            ):
                raise ChallengeError(
                    "a blink challenge has no digits and one timed step per action asked for (a blink or the mouth)"
                )
        else:
            _check_digits(digits)
        object.__setattr__(self, "digits", digits)
        object.__setattr__(self, "nonce", nonce)
        object.__setattr__(self, "issued_at", issued_at)
        object.__setattr__(self, "expires_at", expires_at)
        object.__setattr__(self, "schedule", schedule)
        object.__setattr__(self, "schedule_kind", kind)
        object.__setattr__(self, "testing_only", testing_only)
        if math.isnan(self.issued_at) or math.isnan(self.expires_at):
            raise ChallengeError("issued_at and expires_at must be numbers, not NaN")
        if kind is not ScheduleKind.BLINK and "".join(step.text for step in self.schedule) != self.digits:
            raise ChallengeError("the schedule must show exactly the challenge digits")

    @classmethod
    def for_known_digits(cls, digits: str) -> Challenge:
        """A never-expiring challenge with given digits, for recorded test clips.

        Raises
        ------
        ChallengeError
            Code ``"BAD_DIGITS"`` if ``digits`` is not 1-8 ASCII digits.
        """
        _check_digits(digits)
        return cls(
            digits,
            secrets.token_urlsafe(16),
            time.time(),
            math.inf,
            (PromptStep(digits, 0.0),),
            ScheduleKind.ALL,
            testing_only=True,
        )

    @classmethod
    def for_known_blink_prompts(
        cls,
        show_at_s: tuple[float, ...],
        window_s: float = 2.5,
        actions: tuple[PromptAction, ...] | None = None,
    ) -> Challenge:
        """A never-expiring blink challenge with given prompt times, for recorded test clips.

        Parameters
        ----------
        show_at_s : tuple of float
            When each prompt appeared, seconds after the recording started.
        window_s : float
            How long each prompt stays up (the reaction window).
        actions : tuple of PromptAction, optional
            What each prompt asks for (default: a blink each).

        Raises
        ------
        ChallengeError
            Times that are not finite numbers of seconds from 0, no time, a
            window of 0 s or less, or not one action per time.
        """
        times = _seconds(show_at_s)
        window = _seconds((window_s,))[0]
        if not times or window <= 0:
            raise ChallengeError("give at least one prompt time and a window longer than 0 s")
        acts = actions if actions is not None else (PromptAction.BLINK,) * len(times)
        if len(acts) != len(times) or not all(isinstance(a, PromptAction) for a in acts):
            raise ChallengeError("give one PromptAction per prompt time")
        steps = tuple(PromptStep(ACTION_TEXT[a], t, t + window) for a, t in zip(acts, times))
        return cls("", secrets.token_urlsafe(16), time.time(), math.inf, steps, ScheduleKind.BLINK, testing_only=True)

    @property
    def actions(self) -> tuple[PromptAction, ...]:
        """Blink challenges: what each step asks for; else ``()``."""
        if self.schedule_kind is not ScheduleKind.BLINK:
            return ()
        return tuple(_TEXT_ACTION[s.text] for s in self.schedule)

    def windows(self, action: PromptAction | None = None) -> tuple[tuple[float, float], ...]:
        """Blink challenges: the (show, hide) seconds after the action started of each prompt
        asking for ``action`` (every prompt when None); else ``()``."""
        return tuple(
            (s.show_at_s, s.hide_at_s if s.hide_at_s is not None else math.inf)
            for s, a in zip(self.schedule, self.actions)
            if action is None or a is action
        )

    @property
    def blink_windows(self) -> tuple[tuple[float, float], ...]:
        """Blink challenges: each "blink now" prompt's (show, hide) seconds after the action started; else ``()``."""
        return self.windows(PromptAction.BLINK)

    @property
    def mouth_windows(self) -> tuple[tuple[float, float], ...]:
        """Blink challenges: each "open your mouth" prompt's (show, hide) seconds; else ``()``."""
        return self.windows(PromptAction.OPEN_MOUTH)

    @property
    def turn_windows(self) -> tuple[tuple[float, float], ...]:
        """Blink challenges: each "turn your head" prompt's (show, hide) seconds; else ``()``."""
        return self.windows(PromptAction.TURN_HEAD)

    def to_token(self, key: bytes) -> str:
        """Sign the challenge with ``key``; returns a compact URL-safe token."""
        _check_key(key)
        payload = {
            "d": self.digits,
            "n": self.nonce,
            "i": self.issued_at,
            "e": None if math.isinf(self.expires_at) else self.expires_at,
            "k": self.schedule_kind.value,
            "s": [[s.text, s.show_at_s, s.hide_at_s] for s in self.schedule],
            "t": self.testing_only,
        }
        raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")
        return f"{_b64encode(raw)}.{_b64encode(hmac.digest(key, raw, 'sha256'))}"

    @classmethod
    def from_token(cls, token: str, key: bytes) -> Challenge:
        """Verify a token from :meth:`to_token` and rebuild the challenge.

        Expiry and reuse are not checked here: use :func:`check_challenge`.

        Raises
        ------
        ChallengeError
            Code ``"CHALLENGE_INVALID"`` if the token is not a string, is
            garbled, tampered with or signed with another key; ``"BAD_KEY"``
            if ``key`` is not bytes of at least 16 bytes.
        """
        _check_key(key)
        invalid = ChallengeError(
            "the challenge token is invalid or was altered; issue a new challenge", code=ErrorCode.CHALLENGE_INVALID
        )
        if not isinstance(token, str):
            raise invalid
        token = token.strip()  # a token pasted with a newline or spaces around it
        if token.count(".") != 1:
            raise invalid
        raw, sig = (_b64decode(part) for part in token.split("."))
        if raw is None or sig is None or not hmac.compare_digest(sig, hmac.digest(key, raw, "sha256")):
            raise invalid
        try:
            p = json.loads(raw)  # NaN/Infinity are rejected by _num
            if not isinstance(p, dict) or set(p) != set("dnikest") or not isinstance(p["s"], list):
                raise ValueError("unexpected payload")
            steps = tuple(PromptStep(_str(t), _num(a), None if h is None else _num(h)) for t, a, h in p["s"])
            if not isinstance(p["t"], bool):
                raise ValueError("unexpected flag")
            expires = math.inf if p["e"] is None else _num(p["e"])
            return cls(_str(p["d"]), _str(p["n"]), _num(p["i"]), expires, steps, _str(p["k"]), p["t"])
        except (ValueError, TypeError) as exc:  # ChallengeError is a ValueError
            raise invalid from exc


def new_challenge(
    n_digits: int | None = None,
    *,
    ttl_s: float = 300.0,
    schedule: ScheduleKind | str = ScheduleKind.ALL,
    allow_runs: bool = False,
    now: float | None = None,
) -> Challenge:
    """Draw a new random read-digits challenge with :mod:`secrets`.

    Every position is uniform over 0-9 (a leading zero is as likely as any
    digit).  Unless ``allow_runs``, guessable strings are redrawn: all one
    digit (``"11"``, ``"1111"``), three or more identical digits in a row
    (``"5558"``) and straight ascending or descending runs without wrap-around
    (``"0123"``, ``"9876"``, n >= 3).  Rejecting runs skews positions by about
    0.01 % for n = 4.

    Parameters
    ----------
    n_digits : int, optional
        Number of digits, 1 to 8; default :data:`DEFAULT_N_DIGITS` for the
        schedule (4 for ``"all"``, 6 for ``"one_by_one"``).
    ttl_s : float
        Seconds the challenge stays valid, at most :data:`MAX_TTL_S` (a day).
    schedule : ScheduleKind or {"all", "one_by_one"}
        ``"all"``: one step, every digit shown from 0 s until the recording
        ends.  ``"one_by_one"``: one digit per step, the first at 0 s, each
        next after a random :data:`ONE_BY_ONE_STEP_S` interval (2.00-4.50 s,
        10 ms steps, generous for elderly users); a digit is hidden when the
        next one appears, the last one after one more such interval.
    allow_runs : bool
        Keep runs and repeated digits.
    now : float, optional
        Issue time, unix seconds (default ``time.time()``).

    Raises
    ------
    ChallengeError
        If ``n_digits``, ``ttl_s`` or ``schedule`` is invalid.
    """
    kind = _schedule_kind(schedule)
    if n_digits is None and kind is not ScheduleKind.BLINK:
        n_digits = DEFAULT_N_DIGITS[kind]
    fewest, most = N_DIGITS_RANGE
    if isinstance(n_digits, bool) or not isinstance(n_digits, int) or not fewest <= n_digits <= most:
        raise ChallengeError(f"n_digits must be an int from {fewest} to {most}, not {n_digits!r}")
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not 0 < ttl_s <= MAX_TTL_S:
        raise ChallengeError(f"ttl_s must be a number of seconds above 0 and at most {MAX_TTL_S:.0f}, not {ttl_s!r}")
    digits = "".join(_draw_digit() for _ in range(n_digits))
    while not allow_runs and _is_guessable(digits):
        digits = "".join(_draw_digit() for _ in range(n_digits))
    steps: tuple[PromptStep, ...] = (PromptStep(digits, 0.0),)
    if kind is ScheduleKind.ONE_BY_ONE:
        low, high = ONE_BY_ONE_STEP_S
        steps_10ms = int(round((high - low) * 100))
        starts = [0.0]
        for _ in digits:
            starts.append(round(starts[-1] + low + secrets.randbelow(steps_10ms + 1) / 100, 2))
        steps = tuple(PromptStep(d, starts[i], starts[i + 1]) for i, d in enumerate(digits))
    issued = _now(now)
    return Challenge(digits, secrets.token_urlsafe(16), issued, issued + float(ttl_s), steps, kind)


def new_blink_challenge(
    n_prompts: int = 2,
    *,
    mouth_prompts: int = 1,
    turn_prompts: int = 0,
    ttl_s: float = 300.0,
    window_s: float = 2.5,
    now: float | None = None,
) -> Challenge:
    """Draw a blink challenge: "blink now", "open your mouth" and "turn your head" prompts at random moments.

    A recording made earlier, or a video rendered in advance, cannot know
    when the prompts come nor which action each asks for; a live person
    does what each one asks.  The first prompt comes 1.5-3.0 s after the
    action starts (time to read the instruction), each next one 1.0-2.5 s
    after the previous window closed (10 ms steps); each stays up
    ``window_s`` seconds, the reaction window.  The mouth and head-turn
    prompts take random places among the blink prompts (drawn with
    :mod:`secrets`).

    Parameters
    ----------
    n_prompts : int
        Blinks asked for, 1 to 5.  A replayed recording answers a blink
        prompt by chance when one of its own blinks falls in the window: for
        15 blinks a minute about half the time (0.44 if blinks came at
        random, 0.59 if evenly spaced); ZJU's frequent blinkers (about 40 a
        minute) answer one 9 times in 10, and a video rendered to blink
        every 2 s answers every one
        (``tests/realdata/test_blink_prompts_real.py``).
    mouth_prompts : int
        "Open your mouth" prompts, 0 to 3 (default 1).  The mouth of a
        person sitting still opens rarely, so a recording answers one only
        when it happens to open its mouth in the window: the figures are in
        the README ("Blink prompts at random moments").
    turn_prompts : int
        "Turn your head" prompts, 0 to 3 (default 0).  A head answers by
        turning at least :attr:`~livecert.config.BlinkConfig.min_head_turn_deg`
        from where it rested before the prompt; a photo or a print turned in
        the hand, or a recording of a person sitting still, does not (README,
        "Head-turn prompts").
    ttl_s : float
        Seconds the challenge stays valid, at most :data:`MAX_TTL_S`.
    window_s : float
        How long each prompt stays up (0.5-10 s).  The default leaves an old
        person 2.5 s: several times the 0.5-1 s older adults take to react
        to a visual cue.
    now : float, optional
        Issue time, unix seconds (default ``time.time()``).

    Raises
    ------
    ChallengeError
        If an argument is out of range.
    """
    for name, count, (low, high) in (
        ("n_prompts", n_prompts, BLINK_PROMPTS_RANGE),
        ("mouth_prompts", mouth_prompts, MOUTH_PROMPTS_RANGE),
        ("turn_prompts", turn_prompts, TURN_PROMPTS_RANGE),
    ):
        if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
            raise ChallengeError(f"{name} must be an int from {low} to {high}, not {count!r}")
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not 0 < ttl_s <= MAX_TTL_S:
        raise ChallengeError(f"ttl_s must be a number of seconds above 0 and at most {MAX_TTL_S:.0f}, not {ttl_s!r}")
    if isinstance(window_s, bool) or not isinstance(window_s, (int, float)) or not 0.5 <= window_s <= 10.0:
        raise ChallengeError(f"window_s must be a number of seconds from 0.5 to 10, not {window_s!r}")
    actions = (
        [PromptAction.BLINK] * n_prompts
        + [PromptAction.OPEN_MOUTH] * mouth_prompts
        + [PromptAction.TURN_HEAD] * turn_prompts
    )
    for i in range(len(actions) - 1, 0, -1):  # Fisher-Yates with secrets
        j = secrets.randbelow(i + 1)
        actions[i], actions[j] = actions[j], actions[i]
    steps = []
    show = 1.5 + secrets.randbelow(151) / 100
    for action in actions:
        steps.append(PromptStep(ACTION_TEXT[action], round(show, 2), round(show + window_s, 2)))
        show += window_s + 1.0 + secrets.randbelow(151) / 100
    issued = _now(now)
    return Challenge("", secrets.token_urlsafe(16), issued, issued + float(ttl_s), tuple(steps), ScheduleKind.BLINK)


def check_challenge(
    challenge: Challenge | str, *, key: bytes | None, store: NonceStore | None, now: float | None = None
) -> tuple[Challenge | None, ReasonCode | None]:
    """Check a challenge token (or a trusted Challenge), its expiry and single use.

    Parameters
    ----------
    challenge : Challenge or str
        A token, or a :class:`Challenge` the server kept (trusted, unsigned).
    key : bytes or None
        Signing key, needed for a token.
    store : NonceStore or None
        Remembers used nonces.  None does NOT enforce single use: a testing
        aid only, never for production.
    now : float, optional
        Unix seconds (default ``time.time()``).

    Returns
    -------
    challenge : Challenge or None
        The parsed challenge, None if unparsable.
    reason : ReasonCode or None
        None if fine, else ``CHALLENGE_INVALID``, ``CHALLENGE_EXPIRED``
        (``now > expires_at``, checked before the nonce is consumed) or
        ``CHALLENGE_REUSED``.
    """
    now = _now(now)
    if not isinstance(challenge, Challenge):
        if key is None or not isinstance(challenge, str):
            return None, ReasonCode.CHALLENGE_INVALID
        try:
            challenge = Challenge.from_token(challenge, key)
        except ChallengeError as exc:
            if exc.code != "CHALLENGE_INVALID":
                raise
            return None, ReasonCode.CHALLENGE_INVALID
    if now > challenge.expires_at:
        return challenge, ReasonCode.CHALLENGE_EXPIRED
    if store is not None and not store.consume(challenge.nonce, challenge.expires_at, now):
        return challenge, ReasonCode.CHALLENGE_REUSED
    return challenge, None


def generate_key() -> bytes:
    """32 random bytes for signing challenges."""
    return secrets.token_bytes(32)


def save_key(path: str | os.PathLike[str], key: bytes) -> None:
    """Write ``key`` to ``path`` as hex text, file mode 0o600 (replaces the file).

    Raises
    ------
    ChallengeError
        ``BAD_KEY`` for an unusable key, ``CANNOT_WRITE`` when the file
        cannot be written (its folder is missing or read-only).
    """
    _check_key(key)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise ChallengeError(
            f"cannot write key file {path} ({exc.strerror}); check that its folder exists and is writable",
            code=ErrorCode.CANNOT_WRITE,
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
        fh.write(key.hex() + "\n")


def load_key(path: str | os.PathLike[str]) -> bytes:
    """Read a key file: hex text, else base64 text, else raw bytes.

    A file that others than its owner may read is used, with a warning
    (``chmod 600`` it).

    Raises
    ------
    ChallengeError
        Code ``"BAD_KEY"`` if the file is missing, unreadable, empty, holds
        fewer than 16 key bytes or one byte repeated (e.g. all zero);
        ``"NOT_A_REGULAR_FILE"`` for a pipe or device (reading one could
        block forever).
    InputError
        ``BAD_ARGUMENT`` when ``path`` is not a str or path (an int would
        be taken for an open file descriptor).
    """
    path = as_path(path, "the key file")
    try:
        st = os.stat(path)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):  # a folder fails to read below
            raise ChallengeError(
                f"key file {path} is not a regular file (a pipe, socket or device); {_KEY_HELP}",
                code=ErrorCode.NOT_A_REGULAR_FILE,
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ChallengeError(
            f"cannot read key file {path} ({exc.strerror}); {_KEY_HELP}", code=ErrorCode.BAD_KEY
        ) from exc
    if st.st_mode & 0o077:
        log.warning(
            "key file %s can be read by other users (mode %o); run: chmod 600 %s", path, st.st_mode & 0o777, path
        )
    text, key = data.strip(), data
    if not text:
        raise ChallengeError(f"key file {path} is empty; {_KEY_HELP}", code=ErrorCode.BAD_KEY)
    if re.fullmatch(rb"(?:[0-9a-fA-F]{2})+", text):
        key = bytes.fromhex(text.decode("ascii"))
    elif re.fullmatch(rb"[A-Za-z0-9+/_-]+={0,2}", text):
        try:
            key = base64.b64decode(text.translate(bytes.maketrans(b"-_", b"+/")) + b"==")
        except (binascii.Error, ValueError):
            pass  # not base64 after all: raw bytes
    if len(key) < MIN_KEY_BYTES:
        raise ChallengeError(
            f"key file {path} holds {len(key)} key bytes, at least {MIN_KEY_BYTES} are needed; {_KEY_HELP}",
            code=ErrorCode.BAD_KEY,
        )
    if len(set(key)) == 1:
        raise ChallengeError(
            f"key file {path} holds one byte repeated, not a secret key; {_KEY_HELP}", code=ErrorCode.BAD_KEY
        )
    return key


def _seconds(values: Iterable[object]) -> tuple[float, ...]:
    """``values`` as finite, non-negative seconds; ``ChallengeError`` for anything else."""
    if isinstance(values, str | bytes):
        raise ChallengeError(f"prompt times must be numbers of seconds, not {values!r}")
    try:
        seconds = tuple(float(cast(SupportsFloat, v)) for v in values)
    except (TypeError, ValueError):
        raise ChallengeError(f"prompt times must be numbers of seconds, not {values!r}") from None
    if not all(math.isfinite(s) and s >= 0 for s in seconds):
        raise ChallengeError(f"prompt times must be finite and 0 s or later, not {values!r}")
    return seconds


class NonceStore(Protocol):
    """Remembers used nonces so that each challenge is accepted once."""

    def consume(self, nonce: str, expires_at: float, now: float) -> bool:
        """True the first time ``nonce`` is seen, False if it was used before.

        May forget nonces that expired well before ``now``: check expiry
        first, as :func:`check_challenge` does.
        """
        ...  # pragma: no cover


class MemoryNonceStore:
    """Thread-safe nonce store in memory (forgotten on restart; one process).

    Parameters
    ----------
    grace_s : float
        Nonces are forgotten this long after they expire (clock-skew margin).
    """

    def __init__(self, grace_s: float = 600.0) -> None:
        self._grace = float(grace_s)
        self._used: set[str] = set()
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def consume(self, nonce: str, expires_at: float, now: float) -> bool:
        with self._lock:
            while self._heap and self._heap[0][0] < now - self._grace:
                self._used.discard(heapq.heappop(self._heap)[1])
            if nonce in self._used:
                return False
            self._used.add(nonce)
            heapq.heappush(self._heap, (float(expires_at), nonce))
            return True


class SQLiteNonceStore:
    """Nonce store in an SQLite file: survives restarts, safe across processes.

    Each :meth:`consume` opens its own connection and inserts the nonce (the
    PRIMARY KEY) in a ``BEGIN IMMEDIATE`` transaction, so exactly one of
    several concurrent threads or processes wins.  Keep the file on a local disk.

    Parameters
    ----------
    path : str or PathLike
        Database file, created if missing (its folder must exist).
    timeout_s : float
        How long to wait for another writer's lock (busy timeout).
    grace_s : float
        Nonces are forgotten this long after they expire (clock-skew margin).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0, grace_s: float = 600.0) -> None:
        self.path = as_path(path, "the used-challenge file")
        self._timeout, self._grace, self._closed = float(timeout_s), float(grace_s), False
        try:
            with closing(self._connect()) as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS used_nonces "
                    "(nonce TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID"
                )
                conn.execute("CREATE INDEX IF NOT EXISTS used_nonces_expiry ON used_nonces (expires_at)")
                # A damaged or read-only file is refused now, before any recording is judged.
                problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise sqlite3.DatabaseError(f"the file is damaged: {'; '.join(map(str, problems[:3]))}")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM used_nonces WHERE 0")  # fails on a read-only file
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        return conn

    def consume(self, nonce: str, expires_at: float, now: float) -> bool:
        if self._closed:
            raise SessionStateError("SQLiteNonceStore used after close(); open a new one")
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("DELETE FROM used_nonces WHERE expires_at < ?", (now - self._grace,))
                    conn.execute("INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at))
                except sqlite3.IntegrityError:
                    return False  # closing without COMMIT rolls back
                conn.execute("COMMIT")
                return True
        except sqlite3.Error as exc:  # damaged, read-only or vanished since it was opened
            raise _store_error(self.path, exc) from exc

    def close(self) -> None:
        """Stop using the store (no connection stays open between calls)."""
        self._closed = True

    def __enter__(self) -> SQLiteNonceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _store_error(path: Path, exc: sqlite3.Error) -> ChallengeError:
    return ChallengeError(
        f"the nonce database {path} cannot be used ({exc}); check that its folder exists and that the file "
        "is writable, or move a damaged file away (it only remembers used challenges)",
        code=ErrorCode.NONCE_STORE_UNAVAILABLE,
    )


def _now(now: float | None) -> float:
    if now is None:
        return time.time()
    if not is_finite_number(now):
        raise ChallengeError(f"now must be finite unix seconds, not {now!r}")
    return float(now)


def _draw_digit() -> str:
    return "0123456789"[secrets.randbelow(10)]


def _is_guessable(digits: str) -> bool:
    n = len(digits)
    if (n >= 2 and len(set(digits)) == 1) or any(digits[i] == digits[i + 1] == digits[i + 2] for i in range(n - 2)):
        return True
    return n >= 3 and {int(b) - int(a) for a, b in zip(digits, digits[1:])} in ({1}, {-1})


def _check_digits(digits: object) -> None:
    if not isinstance(digits, str) or not _DIGITS_RE.fullmatch(digits):
        raise ChallengeError(f"digits must be 1 to 8 ASCII digits 0-9, not {digits!r}", code=ErrorCode.BAD_DIGITS)


def _check_key(key: object) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES or len(set(key)) == 1:
        raise ChallengeError(
            f"the signing key must be bytes, at least {MIN_KEY_BYTES} of them and not one byte repeated; "
            "use generate_key() or load_key(path)",
            code=ErrorCode.BAD_KEY,
        )


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Strict canonical unpadded base64url, else None."""
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return raw if _b64encode(raw) == text else None


def _num(value: object) -> float:
    if not is_finite_number(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value
