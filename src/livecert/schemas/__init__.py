"""JSON Schemas (draft 2020-12) of what livecert exchanges with other programs,
shipped with the package, and the message a server sends the app.

=========================  =====================================================
``challenge_token``        the payload inside a challenge token
``app_challenge``          what the server sends the app (:func:`app_message`)
``result``                 ``VerificationResult.to_dict()`` / ``verify --json``
``error``                  ``{"error": {"code", "message"}}`` of ``--json``
=========================  =====================================================
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from livecert.config import Mode
from livecert.enums import StrEnum
from livecert.errors import ErrorCode, InputError
from livecert.liveness.challenge import Challenge, ScheduleKind

#: Version of the app message format (``"version"`` in it).
APP_MESSAGE_VERSION = 1


class SchemaName(StrEnum):
    """The schemas shipped in ``livecert/schemas/NAME.schema.json``."""

    CHALLENGE_TOKEN = "challenge_token"
    APP_CHALLENGE = "app_challenge"
    RESULT = "result"
    ERROR = "error"


def load_schema(name: SchemaName | str) -> dict[str, Any]:
    """One of the shipped schemas, parsed.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` for an unknown name.
    """
    try:
        schema = SchemaName(name)
    except ValueError:
        choices = ", ".join(s.value for s in SchemaName)
        raise InputError(f"unknown schema {name!r}; choose one of {choices}", code=ErrorCode.BAD_ARGUMENT) from None
    text = resources.files(__name__).joinpath(f"{schema.value}.schema.json").read_text(encoding="utf-8")
    out: dict[str, Any] = json.loads(text)
    return out


def app_message(challenge: Challenge | None = None, token: str | None = None) -> dict[str, Any]:
    """What the server sends the app: the mode and, with a challenge, the token
    and when to show what: each digit, or each "blink now" prompt of a blink
    challenge (``app_challenge.schema.json``).

    Parameters
    ----------
    challenge : Challenge, optional
        The read-digits or blink challenge (None: blink mode without prompts).
    token : str, optional
        ``challenge.to_token(key)``: the app sends it back with the recording.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT`` when only one of ``challenge`` and ``token`` is given.
    """
    if challenge is None and token is None:
        return {"version": APP_MESSAGE_VERSION, "mode": Mode.BLINK.value}
    if challenge is None or token is None:
        raise InputError(
            "app_message needs both the challenge and its token (challenge.to_token(key)), or neither for blink mode",
            code=ErrorCode.BAD_ARGUMENT,
        )
    expires = None if math.isinf(challenge.expires_at) else challenge.expires_at
    blink = challenge.schedule_kind is ScheduleKind.BLINK
    digits = {} if blink else {"digits": challenge.digits}
    schedule: list[dict[str, object]]
    if blink:  # a step's text is its action, not digits
        schedule = [
            {"digits": "", "action": action.value, "show_at_s": step.show_at_s, "hide_at_s": step.hide_at_s}
            for step, action in zip(challenge.schedule, challenge.actions)
        ]
    else:
        schedule = [
            {"digits": step.text, "show_at_s": step.show_at_s, "hide_at_s": step.hide_at_s}
            for step in challenge.schedule
        ]
    return {
        "version": APP_MESSAGE_VERSION,
        "mode": (Mode.BLINK if blink else Mode.DIGITS).value,
        "token": token,
        **digits,
        "schedule_kind": challenge.schedule_kind.value,
        "schedule": schedule,
        "issued_at": challenge.issued_at,
        "expires_at": expires,
        "expires_at_utc": None if expires is None else _utc_iso(expires),
    }


def _utc_iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
