"""The demo overlay is readable for old eyes: big wrapped text, high contrast, a font of one's choice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from livecert.app import draw
from livecert.app.draw import MIN_TEXT_FRACTION, Overlay, Style, contrast_ratio, find_cjk_font
from livecert.errors import InputError
from livecert.results import ReasonCode
from livecert.session.steps import Guidance, SessionUpdate, Step

SIZES = ((320, 240), (640, 480), (1280, 720))


def _update(guidance: Guidance | ReasonCode, prompt: str = "", step: Step = Step.ACTION) -> SessionUpdate:
    return SessionUpdate(step, guidance, guidance.message_en, guidance.message_zh, 0.5, False, prompt, 12.0)


def test_every_text_colour_pair_passes_wcag_aa() -> None:
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    ratios = {s.name: round(contrast_ratio(s.fg, s.bg), 1) for s in Style}
    assert all(r >= 4.5 for r in ratios.values()), ratios
    assert set(ratios) == {"INSTRUCTION", "PROBLEM", "PASSED", "FAILED", "DIGITS", "COUNTDOWN"}


@pytest.mark.parametrize("size", SIZES)
def test_instruction_is_wrapped_big_and_on_its_own_colours(size: tuple[int, int]) -> None:
    w, h = size
    overlay = Overlay("en")
    text_size = overlay.text_size(h)
    glyphs = overlay._font(text_size).getbbox("Ag")
    assert glyphs[3] - glyphs[1] >= MIN_TEXT_FRACTION * h
    message = ReasonCode.FACE_TOO_SMALL.message_en
    block = overlay._wrap(message, text_size, w - 20, 10)
    assert all(overlay._font(text_size).getlength(line) <= w - 20 for line in block.lines)
    assert " ".join(block.lines) == message  # wrapped, nothing cut
    # On a light picture (the old yellow countdown vanished on one) every text keeps its own box.
    frame = np.full((h, w, 3), 200, np.uint8)
    out = overlay.draw(frame, _update(ReasonCode.FACE_TOO_SMALL, step=Step.FACE), 1.0)
    assert np.all(out[-3, 3] == Style.PROBLEM.bg)
    # "Please blink your eyes slowly." has a capital and a descender: its first line's ink is >= 8% tall.
    out = overlay.draw(np.full((h, w, 3), 90, np.uint8), _update(Guidance.PLEASE_BLINK), 1.0)
    white = np.all(out[h // 2 :] > 200, axis=2)
    rows = np.flatnonzero(white.any(axis=1))
    first_line = rows[rows < rows[0] + _line_h(overlay, text_size)]
    assert first_line[-1] - first_line[0] + 1 >= MIN_TEXT_FRACTION * h


def _line_h(overlay: Overlay, size: int) -> int:
    ascent, descent = overlay._font(size).getmetrics()
    return int(ascent + descent)


def test_digits_and_countdown_are_drawn_in_their_styles() -> None:
    out = Overlay("en").draw(np.full((240, 320, 3), 128, np.uint8), _update(Guidance.READ_DIGITS, "4729"), 1.0)
    colours = {tuple(c) for c in out.reshape(-1, 3)[::7]}
    assert Style.DIGITS.bg in colours and Style.COUNTDOWN.bg in colours and Style.INSTRUCTION.bg in colours


def test_verdict_colours_and_long_messages_fit() -> None:
    overlay = Overlay("en")
    done = SessionUpdate(Step.DONE, Guidance.DONE, ReasonCode.FACE_MISMATCH.message_en, "", 1.0, True, "", math.inf)
    out = overlay.draw(np.full((240, 320, 3), 128, np.uint8), done, 1.0, passed=False)
    assert np.all(out[-5, 5] == Style.FAILED.bg)
    size = overlay.text_size(240)
    room = int(0.95 * 240) // _line_h(overlay, size)
    block = overlay._wrap(ReasonCode.FACE_MISMATCH.message_en, size, 320 - 16, room)
    assert not block.lines[-1].endswith("…"), block.lines  # the verdict says what to do in full, even at 320x240


def test_chinese_is_wrapped_between_characters_not_before_punctuation() -> None:
    tokens = draw._tokens("人脸太小。请靠近镜头。Move closer.")
    assert tokens[:4] == ["人", "脸", "太", "小。"] and tokens[-2:] == ["Move", " closer."]


def test_font_option() -> None:
    with pytest.raises(InputError) as err:
        Overlay("en", font="/no/such/font.ttf")
    assert err.value.code == "FILE_NOT_FOUND"
    not_a_font = Path(__file__)
    with pytest.raises(InputError) as err:
        Overlay("en", font=not_a_font)
    assert err.value.code == "BAD_ARGUMENT"


def test_chinese_needs_a_cjk_font() -> None:
    font = find_cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (scripts/test.sh installs fonts-noto-cjk where it can)")
    overlay = Overlay("zh", font=font)
    assert overlay.lang == "zh" and overlay.font_path == font
    for w, h in SIZES:
        glyph = overlay._font(overlay.text_size(h)).getbbox("眨")
        assert glyph[3] - glyph[1] >= MIN_TEXT_FRACTION * h
        out = overlay.draw(np.full((h, w, 3), 90, np.uint8), _update(Guidance.PLEASE_BLINK), 1.0)
        assert out.shape == (h, w, 3)


def test_without_a_cjk_font_chinese_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(draw, "find_cjk_font", lambda: None)
    assert Overlay("zh").lang == "en"
