"""Overlays for the demo, made for old eyes: the instruction in large wrapped
type (every text line at least 8% of the frame height), the digits to read in
very large type, a countdown, a progress bar, face landmarks around the eyes
and mouth, and (on frames at least 400 px wide, while the person acts) a strip
of the eye or mouth signal.  Every text is drawn on an opaque box in one of the
:class:`Style` colour pairs, each with a WCAG 2 contrast ratio of at least
4.5:1 (``tests/unit/test_draw.py`` checks them).  Decision code never imports
this module.

Chinese needs a CJK font: ``--font PATH``, else one found with ``fc-list`` or
in the usual places (Debian: ``apt-get install fonts-noto-cjk``); without one
the overlay shows English and says so once.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from livecert import arrays
from livecert.errors import ErrorCode, InputError
from livecert.face.geometry import INNER_LIPS, LEFT_EYE_LIDS, RIGHT_EYE_LIDS
from livecert.session.steps import Guidance, SessionUpdate, Step

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]

#: Smallest height of a text line, as a fraction of the frame height.
MIN_TEXT_FRACTION = 0.08

#: The strip of the eye or mouth signal is drawn only on frames at least this wide.
MIN_STRIP_WIDTH_PX = 400

_CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyhbd.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)

_LATIN_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/System/Library/Fonts/Helvetica.ttc",
    "C:/Windows/Fonts/arialbd.ttf",
)

_EYE_POINTS = np.unique(np.concatenate([LEFT_EYE_LIDS.ravel(), RIGHT_EYE_LIDS.ravel(), [33, 133, 263, 362]]))

_MOUTH_POINTS = np.unique(np.concatenate([INNER_LIPS.ravel(), [61, 291, 0, 17]]))

#: Landmark dots and the signal strip's line (not text: no contrast rule applies).
_EYE_DOTS: RGB = (0, 255, 120)
_MOUTH_DOTS: RGB = (255, 170, 0)
_PROGRESS: RGB = (0, 200, 0)
_TRACK: RGB = (60, 60, 60)


class Style(enum.Enum):
    """The text colour pairs, ``(foreground, background)``: every text the
    overlay draws uses one, on an opaque box of its background colour."""

    #: What to do next.
    INSTRUCTION = ((255, 255, 255), (0, 0, 0))
    #: A problem to fix (too dark, too far, ...): black on amber.
    PROBLEM = ((0, 0, 0), (255, 191, 0))
    #: The verdict when the check passed.
    PASSED = ((255, 255, 255), (0, 100, 0))
    #: The verdict when it did not.
    FAILED = ((255, 255, 255), (160, 0, 0))
    #: The digits to read.
    DIGITS = ((0, 0, 0), (255, 255, 255))
    #: Seconds left.
    COUNTDOWN = ((0, 0, 0), (255, 215, 0))

    @property
    def fg(self) -> RGB:
        fg: RGB = self.value[0]
        return fg

    @property
    def bg(self) -> RGB:
        bg: RGB = self.value[1]
        return bg


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black to 1 white)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21 (4.5 is the AA minimum for text)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@functools.cache
def find_cjk_font() -> Path | None:
    """A font with Chinese glyphs on this machine, or None: a sans-serif bold one
    that ``fc-list :lang=zh`` names if possible, else one of the usual paths."""
    listed = _fc_list_cjk()
    for candidate in (*listed, *map(Path, _CJK_FONT_CANDIDATES)):
        if candidate.is_file():
            return candidate
    return None


def _fc_list_cjk() -> list[Path]:
    """Fonts ``fc-list`` says cover Chinese, best first (sans before serif, bold before regular, no mono)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "file", "family", "style"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    scored: dict[Path, int] = {}
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        if not path.lower().endswith((".ttf", ".ttc", ".otf", ".otc")):
            continue
        text = rest.lower()
        score = ("sans" in text or "hei" in text) * 4 + ("bold" in text) * 2 - ("mono" in text) * 8
        scored[Path(path)] = max(scored.get(Path(path), -99), score)
    return sorted(scored, key=lambda p: (-scored[p], str(p)))


@functools.cache
def _face_index(path: Path) -> int:
    """The face of a font collection to use: Simplified Chinese (``SC``) if there is one."""
    from PIL import ImageFont

    for index in range(12):
        try:
            family = ImageFont.truetype(str(path), 12, index=index).getname()[0] or ""
        except OSError:
            break
        if " SC" in family and "Mono" not in family:
            return index
    return 0


@dataclass(frozen=True)
class _Block:
    """Wrapped text laid out at one font size."""

    lines: tuple[str, ...]
    font: Any
    line_h: int
    width: int


class Overlay:
    """Draws a :class:`~livecert.session.steps.SessionUpdate` onto frames.

    Parameters
    ----------
    lang : {"zh", "en"}
        Language of the instruction; ``"zh"`` falls back to ``"en"`` (logged
        once) when no CJK font is found.
    history_s : float
        Length of the eye or mouth signal strip, seconds.
    font : str or Path, optional
        A TrueType/OpenType font file for every text (for Chinese it must
        have CJK glyphs); default: a CJK font found on the machine
        (:func:`find_cjk_font`) for Chinese, DejaVu Sans Bold for English.

    Raises
    ------
    InputError
        ``FILE_NOT_FOUND`` or ``BAD_ARGUMENT`` when ``font`` is missing or not a font.
    """

    def __init__(self, lang: str = "zh", history_s: float = 4.0, font: str | Path | None = None) -> None:
        self.lang = lang
        self._font_path = _font_path(lang, font)
        if lang == "zh" and self._font_path is None:
            log.warning("no CJK font found (install fonts-noto-cjk, or give --font); showing English instead")
            self.lang = "en"
        if self._font_path is None:
            self._font_path = next((Path(p) for p in _LATIN_FONT_CANDIDATES if Path(p).is_file()), None)
        self._fonts: dict[int, Any] = {}
        self._font(12)  # a bad --font fails now, not on the first frame
        self._sizes: dict[int, int] = {}
        self._history: deque[tuple[float, float]] = deque()
        self._history_s = history_s

    @property
    def font_path(self) -> Path | None:
        """The font file in use (None: Pillow's built-in font)."""
        return self._font_path

    def _font(self, size: int) -> Any:
        if size not in self._fonts:
            from PIL import ImageFont

            if self._font_path is not None:
                try:
                    index = _face_index(self._font_path) if self._font_path.suffix.lower() == ".ttc" else 0
                    self._fonts[size] = ImageFont.truetype(str(self._font_path), size, index=index)
                except OSError as exc:
                    raise InputError(
                        f"{self._font_path} is not a font Pillow can read ({exc}); give a .ttf, .otf or .ttc file",
                        code=ErrorCode.BAD_ARGUMENT,
                    ) from exc
            else:
                self._fonts[size] = ImageFont.load_default(size=size)
        return self._fonts[size]

    def text_size(self, frame_height: int) -> int:
        """The font size at which a line's ink (from the top of "A" to the foot
        of "g"; a whole Chinese character, "眨") spans at least
        :data:`MIN_TEXT_FRACTION` of ``frame_height``."""
        if frame_height not in self._sizes:
            need = math.ceil(MIN_TEXT_FRACTION * frame_height)
            size = max(8, need)
            while _ink_height(self._font(size), "眨" if self.lang == "zh" else "Ag") < need and size < 4 * need:
                size += 1
            self._sizes[frame_height] = size
        return self._sizes[frame_height]

    def draw(self, rgb: arrays.Image, update: SessionUpdate, t_s: float, *, passed: bool | None = None) -> arrays.Image:
        """An annotated copy of ``rgb`` (uint8, shape (H, W, 3)).

        Parameters
        ----------
        rgb : ndarray of uint8, shape (H, W, 3)
        update : SessionUpdate
            What the session said about this frame.
        t_s : float
            The frame's time (for the signal strip).
        passed : bool, optional
            The verdict, once known: the message is then drawn in green (passed) or red.
        """
        import cv2
        from PIL import Image, ImageDraw

        out = np.ascontiguousarray(rgb.copy())
        h, w = out.shape[:2]
        if update.points is not None:
            for idx, colour in ((_EYE_POINTS, _EYE_DOTS), (_MOUTH_POINTS, _MOUTH_DOTS)):
                for x, y in update.points[idx, :2]:
                    cv2.circle(out, (int(round(x)), int(round(y))), max(1, w // 320), colour, -1, cv2.LINE_AA)
        signal = update.mouth_aperture if update.prompt else update.eye_aperture
        self._history.append((t_s, signal))
        while self._history and t_s - self._history[0][0] > self._history_s:
            self._history.popleft()
        img = Image.fromarray(out)
        pen = ImageDraw.Draw(img)
        margin = max(4, h // 60)
        # The instruction: wrapped, at the bottom, on an opaque box.
        style = _message_style(update, passed)
        size = self.text_size(h)
        # The verdict may cover the face; the instruction leaves most of it in view.
        room = 0.95 if update.finished or passed is not None else 0.55
        max_lines = max(2, int(room * h) // _line_height(self._font(size)))
        block = self._wrap(update.message(self.lang), size, w - 4 * margin, max_lines)
        bar_h = len(block.lines) * block.line_h + 2 * margin
        pen.rectangle((0, h - bar_h, w, h), fill=style.bg)
        for i, line in enumerate(block.lines):
            pen.text((2 * margin, h - bar_h + margin + i * block.line_h), line, font=block.font, fill=style.fg)
        # Progress just above it.
        bar_top = h - bar_h - max(6, h // 40)
        pen.rectangle((0, bar_top, w, h - bar_h), fill=_TRACK)
        pen.rectangle((0, bar_top, int(w * max(0.0, min(1.0, update.progress))), h - bar_h), fill=_PROGRESS)
        top = margin
        if math.isfinite(update.seconds_left) and not update.finished:
            top = self._countdown(pen, update.seconds_left, w, h, margin) + margin
        if update.prompt:
            self._digits(pen, update.prompt, w, h, top, bar_top)
        elif update.step is Step.ACTION and w >= MIN_STRIP_WIDTH_PX:
            self._strip(pen, t_s, margin, margin, w // 3, max(24, h // 10))
        return np.asarray(img)

    def _wrap(self, text: str, size: int, width: int, max_lines: int) -> _Block:
        """``text`` broken into lines no wider than ``width`` (between words, or
        anywhere in Chinese); past ``max_lines`` the last line ends in "…"."""
        font = self._font(size)
        tokens = _tokens(text)
        lines: list[str] = []
        line = ""
        for token in tokens:
            candidate = (line + token) if line else token.lstrip()
            if line and font.getlength(candidate) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = candidate
        if line.strip():
            lines.append(line.rstrip())
        if len(lines) > max_lines:
            last = lines[max_lines - 1]
            while last and font.getlength(last + "…") > width:
                last = last[:-1]
            lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
        line_h = _line_height(font)
        widest = max((int(font.getlength(s)) for s in lines), default=0)
        return _Block(tuple(lines) or ("",), font, line_h, widest)

    def _countdown(self, pen: Any, seconds_left: float, w: int, h: int, margin: int) -> int:
        """Seconds left, top right; returns the box's bottom edge."""
        font = self._font(self.text_size(h))
        text = f"{max(0, math.ceil(seconds_left))}s" if self.lang == "en" else f"{max(0, math.ceil(seconds_left))}秒"
        tw, th = int(font.getlength(text)), _line_height(font)
        box = (w - tw - 3 * margin, margin, w - margin, margin + th + margin)
        pen.rectangle(box, fill=Style.COUNTDOWN.bg)
        pen.text((box[0] + margin, margin + margin // 2), text, font=font, fill=Style.COUNTDOWN.fg)
        return box[3]

    def _digits(self, pen: Any, prompt: str, w: int, h: int, top: int, bottom: int) -> None:
        """The digits to read, as large as fits between ``top`` and ``bottom``, centred."""
        text = " ".join(prompt)
        size = max(self.text_size(h), h // 4)
        font = self._font(size)
        while size > self.text_size(h) and (font.getlength(text) > 0.9 * w or _line_height(font) > bottom - top):
            size -= 2
            font = self._font(size)
        tw, th = int(font.getlength(text)), _line_height(font)
        pad = max(6, size // 6)
        x, y = (w - tw) // 2, top + pad
        pen.rectangle((x - pad, y - pad, x + tw + pad, y + th + pad // 2), fill=Style.DIGITS.bg)
        pen.text((x, y), text, font=font, fill=Style.DIGITS.fg)

    def _strip(self, pen: Any, t_s: float, x0: int, y0: int, bw: int, bh: int) -> None:
        """The eye (blink) or mouth (digits) signal of the last seconds, scaled to its own
        recent range, so a blink is a clear dip and speech a row of peaks; nothing when
        the face was not seen."""
        pts = [(t, v) for t, v in self._history if math.isfinite(v)]
        if len(pts) < 2:
            return
        values = np.array([v for _, v in pts])
        low, high = float(values.min()), float(values.max())
        span = max(high - low, 1e-6, 0.25 * high)
        window = max(t_s - pts[0][0], 1e-6)  # the line fills the box from the first second on
        pen.rectangle((x0, y0, x0 + bw, y0 + bh), fill=Style.INSTRUCTION.bg)
        xy = [(x0 + bw * (1 - (t_s - t) / window), y0 + bh - 2 - (bh - 4) * (v - low) / span) for t, v in pts]
        pen.line(xy, fill=_EYE_DOTS, width=max(2, bh // 12))


def _font_path(lang: str, font: str | Path | None) -> Path | None:
    if font is not None:
        path = Path(font)
        if not path.is_file():
            raise InputError(
                f"font file {path} not found; give a .ttf/.otf/.ttc file (for Chinese, e.g. NotoSansCJK-Bold.ttc)",
                code=ErrorCode.FILE_NOT_FOUND,
            )
        return path
    return find_cjk_font() if lang == "zh" else None


def _message_style(update: SessionUpdate, passed: bool | None) -> Style:
    if passed is not None:
        return Style.PASSED if passed else Style.FAILED
    if update.finished:
        return Style.INSTRUCTION
    # A quality problem (a ReasonCode, not a Guidance) is something to fix.
    return Style.INSTRUCTION if isinstance(update.guidance, Guidance) else Style.PROBLEM


_NO_LINE_START = frozenset("，。；：！？、）》」』”,.;:!?)")


def _tokens(text: str) -> list[str]:
    """The pieces a line may break between: words of spaced text (each with the
    space before it) and single CJK characters; punctuation stays with what it follows."""
    tokens: list[str] = []
    for ch in text:
        if tokens and ch in _NO_LINE_START:
            tokens[-1] += ch
        elif not tokens or ch == " " or _is_cjk(ch) or _is_cjk(tokens[-1][-1]):
            tokens.append(ch)
        else:
            tokens[-1] += ch
    return tokens


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _ink_height(font: Any, sample: str) -> int:
    box = font.getbbox(sample)
    return int(box[3] - box[1])


def _line_height(font: Any) -> int:
    ascent, descent = font.getmetrics()
    return int(ascent + descent)
