"""The read-digits decision: challenge, mouth movement, and (when the
recording has sound) the spoken digits and lip-voice sync.

Two decisions, combined (both must pass) when both apply:

* prompt timing and sync (``one_by_one`` challenges,
  :mod:`livecert.liveness.prompts`): each digit answered in time, mouth and
  voice together.  It needs no recogniser, so it is what decides when none
  hears the reader's language (``"content": "not_checked"``);
* content (``"content": "recognised"``): a recogniser heard the challenge's
  digits (and, for digits shown all at once, the clip's lip-voice sync).

Without an audio track the decision rests on the video alone: mouth
movement timed against the prompts.  That cannot tell which digits were
said, nor catch a person who mouths anything at the right moment, nor a
replayed video of the right person mouthing; the result then says
``"audio": false``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from livecert.arrays import FloatArray
from livecert.config import MIN_HEARD_RIGHT, DigitsConfig
from livecert.errors import ErrorCode, InputError
from livecert.io.audio import AudioTrack
from livecert.liveness.challenge import Challenge, NonceStore, ScheduleKind
from livecert.liveness.mouth import fits_prompt, mouth_events
from livecert.liveness.prompts import PromptTiming, answer_prompts
from livecert.liveness.sync import av_sync
from livecert.results import Content, DigitsEvidence, PromptAnswer, Reason, ReasonCode
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
    check_content : bool
        False when no recogniser hears the reader's language: the digits
        said are not checked (``"content": "not_checked"``) and a
        ``one_by_one`` challenge is decided on prompt timing and lip-voice
        sync alone (what that does and does not stop: the README's "Digits
        read one by one").  No ``recogniser`` may be given then.

    Raises
    ------
    InputError
        ``NO_CHALLENGE`` when ``challenge`` is neither, ``NO_KEY`` for a
        token without its key, ``BAD_ARGUMENT`` for a recogniser without
        ``recognise``, a ``check_content`` that is not a bool, or a
        recogniser with ``check_content=False``.  These are programming mistakes, so they raise
        instead of telling the pensioner that the code was invalid.
    """

    challenge: Challenge | str
    key: bytes | None = None
    nonce_store: NonceStore | None = None
    recogniser: DigitRecogniser | None = None
    check_content: bool = True

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
        if self.nonce_store is not None and not callable(getattr(self.nonce_store, "consume", None)):
            raise InputError(
                "nonce_store must have a consume(nonce, expires_at, now) method (livecert.SQLiteNonceStore or "
                f"livecert.MemoryNonceStore), got {type(self.nonce_store).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )
        if self.recogniser is not None and not callable(getattr(self.recogniser, "recognise", None)):
            raise InputError(
                "recogniser must have a recognise(samples, sample_rate, n_digits) method, "
                f"got {type(self.recogniser).__name__}",
                code=ErrorCode.BAD_ARGUMENT,
            )
        if not isinstance(self.check_content, bool):
            raise InputError(
                f"check_content must be True or False, not {self.check_content!r}", code=ErrorCode.BAD_ARGUMENT
            )
        if self.recogniser is not None and not self.check_content:
            raise InputError(
                "check_content=False means no recogniser hears the reader's language: pass recogniser=None, "
                "or check_content=True to use the recogniser",
                code=ErrorCode.BAD_ARGUMENT,
            )


def check_digits(
    challenge: Challenge,
    t: FloatArray,
    mouth: FloatArray,
    track: AudioTrack | None,
    config: DigitsConfig,
    recogniser: DigitRecogniser | None,
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
    recogniser : DigitRecogniser or None
        Used when there is a track (:class:`livecert.session.live.LivenessSession`
        passes the default :class:`~livecert.speech.english.EnglishDigitRecogniser`
        unless given another); None: no recogniser for the reader's
        language, the words are not checked.  With a ``one_by_one``
        challenge each answer is recognised on its own, as one digit
        (:func:`_recognise_answer`).
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
    one_by_one = challenge.schedule_kind is ScheduleKind.ONE_BY_ONE
    speech = tuple(voice_activity(track)) if track is not None else ()
    timing: PromptTiming | None = None
    if one_by_one:
        timing = answer_prompts(challenge, t, mouth, mouth_height, track, speech, config, prompt_at_s=prompt_at_s)
        reasons.extend(timing.reasons)
    else:
        prompt_at = prompt_at_s + (challenge.schedule[0].show_at_s if challenge.schedule else 0.0)
        ok, detail = fits_prompt(analysis.events, n, prompt_at, config)
        if not ok:
            reasons.append(Reason(ReasonCode.NO_SPEECH_MOVEMENT, detail))
    heard: str | None = None
    misheard: int | None = None
    sync: tuple[float, float] | None = None
    segments = speech or analysis.segments
    answers = timing.answers if timing is not None else ()
    if track is not None:
        if recogniser is not None and timing is not None:
            answers = tuple(_recognise_answer(a, track, recogniser) for a in answers)
            heard = "".join(a.heard or "" for a in answers)
        elif recogniser is not None:
            a, b = (
                (max(track.start_s, speech[0][0] - 0.3), speech[-1][1] + 0.3)
                if speech
                else (track.start_s, track.end_s)
            )
            heard = recogniser.recognise(track.between(a, b), track.sample_rate, n)
        if heard is not None:
            misheard = edit_distance(heard, challenge.digits)
            allowed = min(config.max_misheard, max(0, n - MIN_HEARD_RIGHT))
            if misheard > allowed:
                reasons.append(
                    Reason(
                        ReasonCode.DIGITS_MISMATCH,
                        f"heard {heard or 'nothing'!r}: {misheard} of {n} digits wrong, {allowed} allowed",
                    )
                )
        score = av_sync(
            t,
            mouth_height,
            track,
            max_lag_s=config.max_lag_s,
            lag_prior_s=config.sync_lag_prior_s,
        )
        sync = (float(score.score), float(score.lag_s))
        # One by one, the score over the answers alone decides (answer_prompts); the pauses between
        # them would only add chance agreement of silence with a closed mouth.
        if not one_by_one and (not np.isfinite(sync[0]) or sync[0] < config.sync_threshold):
            reasons.append(Reason(ReasonCode.AV_OUT_OF_SYNC, f"lip-voice correlation {sync[0]:.2f}"))
    evidence = DigitsEvidence(
        expected=challenge.digits,
        heard=heard,
        misheard=misheard,
        speech_segments=tuple(segments),
        mouth_events=analysis.events,
        av_sync=sync,
        audio=track is not None,
        passed=not reasons,
        content=Content.RECOGNISED if heard is not None else Content.NOT_CHECKED,
        prompts=answers,
        prompt_sync=timing.sync if timing is not None and track is not None else None,
    )
    return evidence, reasons


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest digits replaced, dropped or added to turn ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


#: Sound kept before an answer's voice onset and after its end when it is
#: recognised on its own (the detector clips soft word edges).
ANSWER_PAD_S: tuple[float, float] = (0.2, 0.3)


def _recognise_answer(answer: PromptAnswer, track: AudioTrack, recogniser: DigitRecogniser) -> PromptAnswer:
    """``answer`` with the digit ``recogniser`` hears in its voice (``""`` when unanswered).

    The voice segment, widened by :data:`ANSWER_PAD_S`, is recognised as
    one digit.  Decoding all answers at once with an n-digit grammar was
    tried and heard far fewer readings exactly (a fixed-count grammar
    trades a real digit for one inserted over a breath or a word's edge);
    PocketSphinx instead allows a garbage phone on either side of the one
    digit (:data:`livecert.speech.recogniser.GARBAGE_PHONES`).
    """
    if answer.voice_onset_s is None or answer.voice_end_s is None:
        return replace(answer, heard="")
    samples = track.between(answer.voice_onset_s - ANSWER_PAD_S[0], answer.voice_end_s + ANSWER_PAD_S[1])
    return replace(answer, heard=recogniser.recognise(samples, track.sample_rate, 1))
