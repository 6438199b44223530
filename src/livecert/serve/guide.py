"""Live guidance while the person gets into position: frames in, steady words out.

The page sends small JPEG frames (at most a few a second, the next one after each answer) over
a WebSocket; each goes through a live :class:`~livecert.session.live.LivenessSession` (blink
mode, no challenge: only its face step is used), whose guidance code (``NO_FACE``,
``FACE_TOO_SMALL``, ``TOO_DARK``, ``MULTIPLE_FACES``, ``FACE_TURNED``, ... or ``HOLD_STILL``
once the face is well placed) comes back in words.  :class:`Steadier` keeps the words from
flickering: a new code is shown only once it has lasted ``hold_s``.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage, UnidentifiedImageError

from livecert.arrays import Image
from livecert.config import Mode
from livecert.errors import ErrorCode, InputError
from livecert.results import ReasonCode
from livecert.session.live import LivenessSession
from livecert.session.steps import Guidance, Step

#: Largest guidance frame accepted, bytes (a 320x240 JPEG is 10-20 kB).
MAX_FRAME_BYTES = 300_000

#: Largest guidance frame side, pixels.
MAX_FRAME_SIDE = 960


class Steadier:
    """Show a guidance code only once it has lasted ``hold_s`` seconds.

    Parameters
    ----------
    hold_s : float
        How long a new code must last before it replaces the one shown.
    """

    def __init__(self, hold_s: float = 0.6) -> None:
        self._hold = hold_s
        self.shown: str | None = None
        self._candidate: str | None = None
        self._since = 0.0

    def feed(self, code: str, t_s: float) -> str:
        """The code to show after ``code`` was seen at ``t_s`` (seconds, increasing)."""
        if self.shown is None:
            self.shown = code
        if code == self.shown:
            self._candidate = None
        elif code != self._candidate:
            self._candidate, self._since = code, t_s
        elif t_s - self._since >= self._hold:
            self.shown, self._candidate = code, None
        return self.shown


@dataclass(frozen=True)
class GuideUpdate:
    """What the page shows: the steady code, its words, and whether the face is ready."""

    guidance: str
    message: str
    ready: bool

    def to_dict(self) -> dict[str, object]:
        return {"guidance": self.guidance, "message": self.message, "ready": self.ready}


def decode_frame(data: bytes) -> Image:
    """A JPEG or PNG guidance frame as RGB, shape (H, W, 3).

    Raises
    ------
    InputError
        ``UPLOAD_TOO_LARGE`` over :data:`MAX_FRAME_BYTES`, ``NOT_AN_IMAGE`` when it is not an
        image, ``FRAME_TOO_LARGE`` when a side is over :data:`MAX_FRAME_SIDE`.
    """
    if len(data) > MAX_FRAME_BYTES:
        raise InputError(
            f"a guidance frame is {len(data)} bytes, at most {MAX_FRAME_BYTES}", code=ErrorCode.UPLOAD_TOO_LARGE
        )
    try:
        img = PILImage.open(io.BytesIO(data))
        if max(img.size) > MAX_FRAME_SIDE:
            raise InputError(
                f"a guidance frame is {img.size}, at most {MAX_FRAME_SIDE} a side", code=ErrorCode.FRAME_TOO_LARGE
            )
        return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        raise InputError("a guidance frame is not a JPEG or PNG image", code=ErrorCode.NOT_AN_IMAGE) from None


class Guide:
    """One page's guidance: a live session and a :class:`Steadier`.

    Parameters
    ----------
    lang : str
        ``"en"`` or ``"zh"``.
    hold_s : float
    """

    def __init__(self, lang: str, hold_s: float = 0.6) -> None:
        self._lang = lang
        self._steady = Steadier(hold_s)
        self._session: LivenessSession | None = None
        self._t0 = time.monotonic()
        self._last_t = -1.0

    def push(self, rgb: Image) -> GuideUpdate:
        """Analyse one frame (blocking: run it off the event loop)."""
        t = max(time.monotonic() - self._t0, self._last_t + 1e-3)
        self._last_t = t
        if self._session is None or self._session.finished:
            if self._session is not None:
                self._session.close()
            self._session = LivenessSession(mode=Mode.BLINK, live=True)
        update = self._session.push(rgb, t)
        ready = update.step is not Step.FACE
        code = Guidance.HOLD_STILL if ready else update.guidance
        shown = self._steady.feed(str(code), t)
        return GuideUpdate(shown, _words(shown, self._lang), shown == Guidance.HOLD_STILL)

    def close(self) -> None:
        """Free the face models."""
        if self._session is not None:
            self._session.close()
            self._session = None


def _words(code: str, lang: str) -> str:
    if code in Guidance.__members__:
        g = Guidance(code)
        return g.message_zh if lang == "zh" else g.message_en
    r = ReasonCode(code)
    return r.message_zh if lang == "zh" else r.message_en
