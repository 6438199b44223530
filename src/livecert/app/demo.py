"""``livecert demo``: a camera (or a recording played as one) through a
LivenessSession, with the guidance drawn on screen and optionally recorded.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from livecert.app.draw import Overlay
from livecert.arrays import Image
from livecert.config import Mode
from livecert.errors import ErrorCode, InputError
from livecert.io.audio import AudioTrack, read_audio
from livecert.io.sources import open_source
from livecert.liveness.challenge import (
    BLINK_PROMPTS_RANGE,
    MOUTH_PROMPTS_RANGE,
    TURN_PROMPTS_RANGE,
    Challenge,
    MemoryNonceStore,
    generate_key,
    new_blink_challenge,
    new_challenge,
)
from livecert.liveness.digits import ChallengeOptions
from livecert.results import VerificationResult
from livecert.session.live import LivenessSession
from livecert.session.steps import SessionUpdate
from livecert.speech.languages import content_check

log = logging.getLogger(__name__)

#: "Blink now" prompts the camera demo asks for in blink mode (with one "open your mouth" prompt among them).
DEFAULT_BLINK_PROMPTS = 2


_WINDOW = "livecert"

_SHOW_RESULT_S = 3.0  # a camera demo keeps showing the verdict this long


class _Recorder:
    """Writes annotated frames to an mp4 at their real timestamps."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        import av

        self._container = av.open(str(path), "w")
        self._stream = self._container.add_stream("libx264", rate=30)
        self._stream.width, self._stream.height = width - width % 2, height - height % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = self._stream.codec_context.time_base = Fraction(1, 1000)
        self._last_pts = -1
        self.frames = 0

    def write(self, rgb: Image, t_s: float) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(rgb[: self._stream.height, : self._stream.width], format="rgb24")
        frame.pts = max(self._last_pts + 1, round(t_s * 1000))
        self._last_pts = frame.pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


def run_demo(
    *,
    camera: int | None = 0,
    video: str | None = None,
    mode: Mode | str = Mode.BLINK,
    enrolled: str | None = None,
    lang: str = "zh",
    record: Path | None = None,
    headless: bool = False,
    expect_digits: str | None = None,
    font: str | Path | None = None,
    speech_model: str | Path | None = None,
    blink_prompts: int | None = None,
    mouth_prompts: int | None = None,
    turn_prompts: int | None = None,
) -> VerificationResult:
    """Run the demo; returns the session's :class:`VerificationResult`.

    In blink mode the camera demo asks for ``blink_prompts`` blinks at random
    moments (default 2, as ``livecert serve``), ``mouth_prompts`` mouth
    openings (default 1, 0-3) and ``turn_prompts`` head turns (default 0,
    0-3) among them: a recording played into the camera answers them only
    by chance.  A ``video`` was recorded without
    them, so by default it blinks freely (0 prompts).

    In digits mode a video's own sound is recognised and checked against the
    lips, as :func:`livecert.verify` does.  The webcam demo records no sound
    (livecert has no microphone capture): its digits are judged on the video
    alone and the result says ``digits.audio`` is false.

    ``font`` is a font file for the text (default: a CJK font found on the
    machine for Chinese; see :class:`~livecert.app.draw.Overlay`).

    ``lang`` is also the language the digits are read in, and
    ``speech_model`` a speech model folder for it, as for ``livecert
    verify`` (:func:`~livecert.speech.languages.content_check`): Chinese
    without a model is judged on when and how the digits were read, not on
    which digits were said.

    Raises
    ------
    InputError
        Camera missing, busy or lost, unreadable video, no display, a
        missing or unreadable font file, a speech model outside digits mode,
        blink, mouth or turn prompts outside blink mode, blink prompts
        outside 0-5, mouth or turn prompts outside 0-3.
    ModelError
        A missing or incomplete ``speech_model`` folder.
    """

    if headless and record is None:
        log.warning("--headless without --record: nothing will be shown or written, only the result")
    if (
        not headless
        and sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        raise InputError("no display to open a window on; use --headless --record OUT.mp4", code=ErrorCode.NO_DISPLAY)
    mode = Mode.parse(mode)
    if any(n is not None for n in (blink_prompts, mouth_prompts, turn_prompts)) and mode is not Mode.BLINK:
        raise InputError("blink prompts are for blink mode; digits mode shows digits", code=ErrorCode.BAD_ARGUMENT)
    mouth_prompts = 1 if mouth_prompts is None else mouth_prompts
    turn_prompts = 0 if turn_prompts is None else turn_prompts
    counts = (
        ("blink", blink_prompts, (0, BLINK_PROMPTS_RANGE[1])),  # 0: blink freely, no challenge
        ("mouth", mouth_prompts, MOUTH_PROMPTS_RANGE),
        ("turn", turn_prompts, TURN_PROMPTS_RANGE),
    )
    for what, n, (low, high) in counts:
        if n is None:  # blink prompts: the default below
            continue
        if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= high:
            raise InputError(f"{what} prompts must be {low} to {high}, not {n!r}", code=ErrorCode.BAD_ARGUMENT)
    if speech_model is not None and mode is not Mode.DIGITS:
        raise InputError(
            "a speech model recognises digits read aloud: it needs digits mode", code=ErrorCode.BAD_ARGUMENT
        )
    options: ChallengeOptions | None = None
    prompts = (0 if video is not None else DEFAULT_BLINK_PROMPTS) if blink_prompts is None else blink_prompts
    if mode is Mode.BLINK and prompts:
        key = generate_key()
        challenge = new_blink_challenge(prompts, mouth_prompts=mouth_prompts, turn_prompts=turn_prompts)
        options = ChallengeOptions(challenge.to_token(key), key=key, nonce_store=MemoryNonceStore())
    if mode is Mode.DIGITS:
        recogniser, check_content = content_check(lang, speech_model)
        if expect_digits is not None:
            options = ChallengeOptions(
                Challenge.for_known_digits(expect_digits), recogniser=recogniser, check_content=check_content
            )
        else:
            key = generate_key()
            options = ChallengeOptions(
                new_challenge(4).to_token(key),
                key=key,
                nonce_store=MemoryNonceStore(),
                recogniser=recogniser,
                check_content=check_content,
            )
    overlay = Overlay(lang, font=font)  # a bad font fails before the camera opens
    source = open_source(video) if video is not None else open_source(camera if camera is not None else 0)
    recorder: _Recorder | None = None
    wall0 = time.monotonic()
    try:
        with source as frames, LivenessSession(mode=mode, enrolled=enrolled, challenge=options) as session:
            sound = _sound_of(video) if mode is Mode.DIGITS else None
            update: SessionUpdate | None = None
            passed: bool | None = None
            finished_at: float | None = None
            for frame in frames:
                if finished_at is None:
                    update = session.push(frame.rgb, frame.t_s, decode_ms=frame.decode_ms)
                    if update.finished:
                        finished_at = frame.t_s
                        verdict = session.result(audio=sound)
                        update, passed = _with_verdict(update, verdict), verdict.passed
                elif video is None and frame.t_s - finished_at > _SHOW_RESULT_S:
                    break  # camera: the verdict has been shown long enough
                if update is None:  # pragma: no cover - the first frame is always pushed
                    continue
                shown = overlay.draw(frame.rgb, update, frame.t_s, passed=passed)
                if record is not None:
                    if recorder is None:
                        recorder = _Recorder(record, shown.shape[1], shown.shape[0])
                    recorder.write(shown, frame.t_s)
                if not headless:
                    if video is not None:  # play at the recording's own pace
                        delay = frame.t_s - (time.monotonic() - wall0)
                        if delay > 0:
                            time.sleep(delay)
                    if _show(shown):
                        log.info("stopped by the user")
                        break
            result = session.result(audio=sound)
    finally:
        if recorder is not None:
            recorder.close()
        if not headless:
            _close_window()
    return result


def _sound_of(video: str | None) -> AudioTrack | None:
    """The video file's sound for a digits demo, or None (webcam, or no sound track)."""
    if video is None:
        log.info("the webcam demo records no sound: the digits are judged on the video alone")
        return None

    track = read_audio(video)
    if track is None:
        log.info("%s has no sound track: the digits are judged on the video alone", video)
    return track


def _with_verdict(update: SessionUpdate, result: VerificationResult) -> SessionUpdate:
    if result.passed:
        return replace(update, message_en="Passed. Thank you.", message_zh="认证通过，谢谢。")
    reason = result.reasons[0]
    return replace(update, message_en=reason.message("en"), message_zh=reason.message("zh"))


def _show(rgb: Image) -> bool:
    """Show a frame; True when the user pressed a key or closed the window."""
    import cv2

    cv2.imshow(_WINDOW, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    key = cv2.waitKey(1)
    closed = cv2.getWindowProperty(_WINDOW, cv2.WND_PROP_VISIBLE) < 1
    return key != -1 or closed


def _close_window() -> None:
    import cv2

    try:
        cv2.destroyWindow(_WINDOW)
        cv2.waitKey(1)
    except cv2.error:  # the window was already closed by the user
        pass
