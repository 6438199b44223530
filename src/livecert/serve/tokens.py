"""The session grant: what the capture page carries, signed by the server.

A session token is ``base64url(payload) + "." + base64url(HMAC-SHA256(key, DOMAIN + payload))``
with the key that signs challenges (:func:`livecert.liveness.challenge.load_key`); the
domain prefix keeps a session token from ever being read as a challenge token or the
reverse.  The payload binds the session id, the mode, the person (or none), the expiry
and the challenge token (read-digits, or timed blink prompts) that ``verify()`` checks.
Nothing is kept on the server until the recording arrives: any instance sharing the key
and the database can take the upload.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass

from livecert.arrays import is_finite_number
from livecert.config import Mode
from livecert.errors import InputError
from livecert.serve.errors import ApiError, ApiErrorCode

DOMAIN = b"livecert-serve-session-v1\x00"

_PART_RE = re.compile(r"[A-Za-z0-9_-]{1,4096}")


@dataclass(frozen=True)
class SessionGrant:
    """One certification session.

    Attributes
    ----------
    session_id : str
        Random, URL-safe; the challenge's nonce when there is a challenge.
    mode : Mode
    person_id : str or None
        The person whose enrolled face the recording must match, and whose ledger
        records the attempt; None for a liveness-only session.
    issued_at, expires_at : float
        Unix seconds.
    challenge_token : str or None
        The signed challenge (digits, or blink prompts) passed to ``verify()``; None for
        blink mode without prompts.
    """

    session_id: str
    mode: Mode
    person_id: str | None
    issued_at: float
    expires_at: float
    challenge_token: str | None

    def to_token(self, key: bytes) -> str:
        """Sign the grant; the page sends this back as ``Authorization: Bearer TOKEN``."""
        payload = {
            "s": self.session_id,
            "m": self.mode.value,
            "p": self.person_id,
            "i": self.issued_at,
            "e": self.expires_at,
            "c": self.challenge_token,
        }
        raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return f"{_b64(raw)}.{_b64(hmac.digest(key, DOMAIN + raw, 'sha256'))}"

    @classmethod
    def from_token(cls, token: str, key: bytes) -> SessionGrant:
        """Check the signature and rebuild the grant (expiry is checked by the caller).

        Raises
        ------
        ApiError
            ``SESSION_INVALID``: garbled, altered or signed with another key.
        """
        invalid = ApiError(ApiErrorCode.SESSION_INVALID, "the session token is invalid; open the page again")
        parts = token.strip().split(".")
        if len(parts) != 2 or not all(_PART_RE.fullmatch(p) for p in parts):
            raise invalid
        raw, sig = _unb64(parts[0]), _unb64(parts[1])
        if raw is None or sig is None or not hmac.compare_digest(sig, hmac.digest(key, DOMAIN + raw, "sha256")):
            raise invalid
        try:
            p = json.loads(raw)
            grant = cls(
                session_id=_text(p["s"]),
                mode=Mode.parse(_text(p["m"])),
                person_id=None if p["p"] is None else _text(p["p"]),
                issued_at=_number(p["i"]),
                expires_at=_number(p["e"]),
                challenge_token=None if p["c"] is None else _text(p["c"]),
            )
        except (ValueError, TypeError, KeyError, InputError) as exc:
            raise invalid from exc
        return grant


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64(raw) == text else None


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a string: {value!r}")
    return value


def _number(value: object) -> float:
    if not is_finite_number(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)
