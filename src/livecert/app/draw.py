"""Overlays for the demo: face landmarks, eye-aperture sparkline, the
instruction in large type, the digits to read in very large type, and a
countdown.  Decision code never imports this module.

Chinese text needs a CJK font (Debian: ``fonts-noto-cjk``); without one the
overlay falls back to English and logs that once.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from livecert import arrays
from livecert.face.geometry import INNER_LIPS, LEFT_EYE_LIDS, RIGHT_EYE_LIDS
from livecert.session.steps import SessionUpdate

log = logging.getLogger(__name__)


_CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)

_LATIN_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

_EYE_POINTS = np.unique(np.concatenate([LEFT_EYE_LIDS.ravel(), RIGHT_EYE_LIDS.ravel(), [33, 133, 263, 362]]))

_MOUTH_POINTS = np.unique(np.concatenate([INNER_LIPS.ravel(), [61, 291, 0, 17]]))


def find_cjk_font() -> Path | None:
    """The first CJK font file found on this machine, or None."""
    for candidate in _CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


class Overlay:
    """Draws a :class:`~livecert.session.live.SessionUpdate` onto frames.

    Parameters
    ----------
    lang : {"zh", "en"}
        Language of the instruction; ``"zh"`` falls back to ``"en"`` (logged
        once) when no CJK font is installed.
    history_s : float
        Length of the eye-aperture sparkline.
    """

    def __init__(self, lang: str = "zh", history_s: float = 4.0) -> None:
        from PIL import ImageFont

        self.lang = lang
        font_path = find_cjk_font() if lang == "zh" else None
        if lang == "zh" and font_path is None:
            log.warning("no CJK font found (install fonts-noto-cjk); showing English instead of Chinese")
            self.lang = "en"
        if font_path is None:
            font_path = next((Path(p) for p in _LATIN_FONT_CANDIDATES if Path(p).is_file()), None)
        self._font_path = font_path
        self._fonts: dict[int, Any] = {}
        self._load_default = ImageFont.load_default
        self._history: deque[tuple[float, float]] = deque()
        self._history_s = history_s

    def _font(self, size: int) -> Any:
        if size not in self._fonts:
            from PIL import ImageFont

            if self._font_path is not None:
                self._fonts[size] = ImageFont.truetype(str(self._font_path), size)
            else:
                try:
                    self._fonts[size] = ImageFont.load_default(size=size)
                except TypeError:  # Pillow < 10.1
                    self._fonts[size] = ImageFont.load_default()
        return self._fonts[size]

    def draw(self, rgb: arrays.Image, update: SessionUpdate, t_s: float) -> arrays.Image:
        """Return an annotated copy of ``rgb`` (uint8, shape (H, W, 3))."""
        import cv2
        from PIL import Image, ImageDraw

        out = np.ascontiguousarray(rgb.copy())
        h, w = out.shape[:2]
        if update.points is not None:
            for idx, colour in ((_EYE_POINTS, (0, 255, 120)), (_MOUTH_POINTS, (255, 170, 0))):
                for x, y in update.points[idx, :2]:
                    cv2.circle(out, (int(round(x)), int(round(y))), max(1, w // 320), colour, -1, cv2.LINE_AA)
        self._history.append((t_s, update.eye_aperture))
        while self._history and t_s - self._history[0][0] > self._history_s:
            self._history.popleft()
        self._sparkline(out, t_s)
        # Text with Pillow (OpenCV cannot draw CJK glyphs).
        bar = max(40, h // 7)
        cv2.rectangle(out, (0, h - bar), (w, h), (0, 0, 0), -1)
        img = Image.fromarray(out)
        pen = ImageDraw.Draw(img)
        pen.text(
            (10, h - bar + bar // 6),
            update.message(self.lang),
            font=self._font(max(14, bar // 2)),
            fill=(255, 255, 255),
        )
        if update.prompt:
            size = max(32, h // 4)
            font = self._font(size)
            text = " ".join(update.prompt)
            box = pen.textbbox((0, 0), text, font=font)
            x = (w - (box[2] - box[0])) // 2
            pen.rectangle(
                (x - 12, h // 8 - 8, x + box[2] - box[0] + 12, h // 8 + box[3] - box[1] + 16), fill=(255, 255, 255)
            )
            pen.text((x, h // 8), text, font=font, fill=(0, 0, 0))
        if math.isfinite(update.seconds_left) and not update.finished:
            pen.text(
                (w - max(60, w // 6), 8),
                f"{max(0, math.ceil(update.seconds_left))}s",
                font=self._font(max(16, h // 14)),
                fill=(255, 255, 0),
            )
        pen.rectangle((0, h - bar - 6, int(w * update.progress), h - bar), fill=(0, 200, 0))
        return np.asarray(img)

    def _sparkline(self, out: arrays.Image, t_s: float) -> None:
        import cv2

        h, w = out.shape[:2]
        bw, bh = max(80, w // 4), max(30, h // 8)
        x0, y0 = 8, 8
        cv2.rectangle(out, (x0, y0), (x0 + bw, y0 + bh), (30, 30, 30), -1)
        pts = [(t, v) for t, v in self._history if math.isfinite(v)]
        if len(pts) < 2:
            return
        top = max(v for _, v in pts) or 1.0
        poly = np.array(
            [(x0 + int(bw * (1 - (t_s - t) / self._history_s)), y0 + bh - int(bh * min(1.0, v / top))) for t, v in pts],
            dtype=np.int32,
        )
        cv2.polylines(out, [poly], False, (0, 255, 120), 1, cv2.LINE_AA)
