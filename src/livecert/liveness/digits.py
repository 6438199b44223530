"""The read-digits decision: challenge, mouth movement, and (when the
recording has sound) the spoken digits and lip-voice sync.

Without an audio track the decision rests on the video alone: mouth
movement timed against the prompt.  That cannot tell which digits were
said, nor catch a person who mouths anything at the right moment, nor a
replayed video of the right person mouthing; the result then says
``"audio": false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from livecert.config import DigitsConfig
from livecert.io.audio import AudioTrack
from livecert.liveness.challenge import Challenge
from livecert.liveness.mouth import fits_prompt, mouth_events
from livecert.liveness.sync import av_sync
from livecert.results import Reason, ReasonCode
from livecert.speech.vad import voice_activity


@dataclass(frozen=True)
class DigitsEvidence:
    """What the read-digits check found (``"digits"`` in the JSON)."""

    expected: str
    heard: str | None
    speech_segments: tuple[tuple[float, float], ...]
    mouth_events: tuple[float, ...]
    av_sync: tuple[float, float] | None
    audio: bool
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "heard": self.heard,
            "speech_segments": [{"start_s": round(a, 3), "end_s": round(b, 3)} for a, b in self.speech_segments],
            "mouth_events": [round(x, 3) for x in self.mouth_events],
            "av_sync": None
            if self.av_sync is None
            else {"score": round(self.av_sync[0], 4), "lag_s": round(self.av_sync[1], 3)},
            "audio": self.audio,
            "passed": self.passed,
        }


def check_digits(
    challenge: Challenge,
    t: np.ndarray,
    mouth: np.ndarray,
    track: AudioTrack | None,
    config: DigitsConfig,
    recogniser: Any,
    *,
    mouth_height: np.ndarray,
    prompt_at_s: float = 0.0,
) -> tuple[DigitsEvidence, list[Reason]]:
    """Judge one recording against its challenge.

    Parameters
    ----------
    challenge : Challenge
        Already checked for signature, expiry and reuse.
    t, mouth : ndarray, shape (N,)
        Frame times and mouth aperture (``nan`` where unusable).
    track : AudioTrack or None
    recogniser : DigitRecogniser
        Used when there is a track (:class:`livecert.session.live.LivenessSession`
        passes the default :class:`~livecert.speech.english.EnglishDigitRecogniser`
        unless given another).
    prompt_at_s : float
        When the prompt schedule started, on the frames' timeline.
    mouth_height : ndarray, shape (N,)
        Outer-lip height per frame (:func:`livecert.face.geometry.mouth_height`,
        ``nan`` where unusable), correlated with the voice for lip-voice sync:
        the sync band weights were fitted to it, not to the inner-lip gap.
    """
    reasons: list[Reason] = []
    n = len(challenge.digits)
    analysis = mouth_events(t, mouth, config)
    prompt_at = prompt_at_s + (challenge.schedule[0].show_at_s if challenge.schedule else 0.0)
    ok, detail = fits_prompt(analysis.events, n, prompt_at, config)
    if not ok:
        reasons.append(Reason(ReasonCode.NO_SPEECH_MOVEMENT, detail))
    heard: str | None = None
    sync: tuple[float, float] | None = None
    segments = analysis.segments
    if track is not None:
        speech = voice_activity(track)
        if speech:
            segments = tuple(speech)
            a, b = max(track.start_s, speech[0][0] - 0.3), speech[-1][1] + 0.3
        else:
            a, b = track.start_s, track.end_s
        heard = recogniser.recognise(track.between(a, b), track.sample_rate, n)
        if heard != challenge.digits:
            reasons.append(Reason(ReasonCode.DIGITS_MISMATCH, f"heard {heard or 'nothing'!r}"))
        score = av_sync(
            t,
            mouth_height,
            track,
            max_lag_s=config.max_lag_s,
            lag_prior_s=config.sync_lag_prior_s,
        )
        sync = (float(score.score), float(score.lag_s))
        if not np.isfinite(sync[0]) or sync[0] < config.sync_threshold:
            reasons.append(Reason(ReasonCode.AV_OUT_OF_SYNC, f"lip-voice correlation {sync[0]:.2f}"))
    evidence = DigitsEvidence(
        expected=challenge.digits,
        heard=heard,
        speech_segments=tuple(segments),
        mouth_events=analysis.events,
        av_sync=sync,
        audio=track is not None,
        passed=not reasons,
    )
    return evidence, reasons
