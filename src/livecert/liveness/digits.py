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

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import DigitsConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.audio import AudioTrack
from livecert.liveness.challenge import Challenge, NonceStore
from livecert.liveness.mouth import fits_prompt, mouth_events
from livecert.liveness.sync import av_sync
from livecert.results import DigitsEvidence, Reason, ReasonCode
from livecert.speech.recogniser import DigitRecogniser
from livecert.speech.vad import voice_activity


@dataclass(frozen=True)
class ChallengeOptions:
    """The read-digits arguments of :func:`livecert.verify` and
    :class:`~livecert.session.live.LivenessSession`, in one object.

    Parameters
    ----------
    challenge : Challenge or str
        The signed token given to the client (checked with ``key``), or a
        :class:`~livecert.liveness.challenge.Challenge` the server kept.
        ``Challenge.for_known_digits("4729")`` stands in for recorded test
        clips (testing aid: no signature, expiry or single-use check).
    key : bytes, optional
        The HMAC key the token was signed with; required with a token.
    nonce_store : NonceStore, optional
        Single-use store (``MemoryNonceStore`` or ``SQLiteNonceStore``);
        without one, reuse is not detected.
    recogniser : DigitRecogniser, optional
        Turns the recording's sound into digits; default the English
        :class:`~livecert.speech.english.EnglishDigitRecogniser`.  Reuse one
        instance across calls (one thread at a time) to load its model once.

    Raises
    ------
    InputError
        ``NO_CHALLENGE`` when ``challenge`` is neither, ``NO_KEY`` for a
        token without its key, ``BAD_ARGUMENT`` for a recogniser without
        ``recognise``.  These are programming mistakes, so they raise
        instead of telling the pensioner that the code was invalid.
    """

    challenge: Challenge | str
    key: bytes | None = None
    nonce_store: NonceStore | None = None
    recogniser: DigitRecogniser | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.challenge, (Challenge, str)):
            raise InputError(
                "digits mode needs a challenge: a token from livecert.new_challenge(...).to_token(key), a Challenge, "
                "or Challenge.for_known_digits('4729') for recorded test clips",
                code=ErrorCode.NO_CHALLENGE,
            )
        if isinstance(self.challenge, str) and self.key is None:
            raise InputError(
                "a challenge token is checked with the key it was signed with: pass ChallengeOptions(token, key=key)",
                code=ErrorCode.NO_KEY,
            )
        if self.recogniser is not None and not callable(getattr(self.recogniser, "recognise", None)):
            raise InputError(
                "recogniser must have a recognise(samples, sample_rate, n_digits) method, "
                f"got {type(self.recogniser).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )


def check_digits(
    challenge: Challenge,
    t: FloatArray,
    mouth: FloatArray,
    track: AudioTrack | None,
    config: DigitsConfig,
    recogniser: DigitRecogniser,
    *,
    mouth_height: FloatArray,
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
