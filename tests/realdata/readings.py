"""Digits read one by one, built from GRID s1 clips: sound and picture cut together.

A reading answers a ``one_by_one`` challenge as a live reader would: each
digit appears at the challenge's time, and after a reaction time the reader
says it; between answers the mouth is closed and the room quiet.  GRID has
no such recordings, so they are cut from its sentences:

* each answer is one GRID digit word (word timings from ``s1/align``, 1/25000 s
  units), its picture cut from ``WORD_PAD_S[0]`` before the word to
  ``WORD_PAD_S[1]`` after it (the lips move before the sound) and its sound
  from ``SOUND_PAD_S[0]`` before to ``SOUND_PAD_S[1]`` after (GRID's words
  run together: wider, the sound would carry the neighbouring words, which
  a reader of single digits does not say), with 10 ms fades, placed so
  that the word starts ``REACTION_S`` (drawn) after its digit appeared,
  to the nearest frame;
* everywhere else the picture is one still frame with the mouth closed (of
  the frames of the reading's first clip before its speaker starts, the one
  with the smallest inner-lip gap) and the sound is the room noise of that
  clip: noise with the power spectrum of the real pause before its first
  word and the median loudness of its 30 ms frames (GRID's pauses are about
  0.5 s and hold breaths; repeating one would put a breath, heard as voice,
  every half second);
* prompt times come from a challenge drawn as :func:`livecert.new_challenge`
  draws ``one_by_one`` schedules (:data:`~livecert.liveness.challenge.ONE_BY_ONE_STEP_S`),
  from a seeded generator, so the readings are the same on every run.

Frames are 25 fps on a 0-based timeline (the prompt appears at the first
frame), sound 16 kHz mono.  The attacks reuse the same parts: the picture
of one reading with the sound another reading would have made for the same
prompts (dubbed), a reading shifted in time, or a reading checked against
prompts from another challenge; :func:`other_takes` gives the same digits
said in other GRID clips, for a dub that says the right digits.
:func:`write_video` writes a reading as a phone would (H.264 + AAC mp4): the
benchmark suite's digits rows (``benchmarks/make_manifest.py``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livecert.face.geometry import mouth_aperture, mouth_height
from livecert.face.landmarks import FaceLandmarker
from livecert.io.audio import AudioTrack, read_audio, resample
from livecert.io.sources import open_source
from livecert.liveness.challenge import ONE_BY_ONE_STEP_S, Challenge, PromptAction, PromptStep, ScheduleKind
from livecert.liveness.digits import ChallengeOptions

FPS = 25.0
SAMPLE_RATE = 16000
#: Picture kept before and after each aligned digit word, seconds.
WORD_PAD_S = (0.05, 0.05)
#: Sound kept before and after each aligned digit word, seconds.
SOUND_PAD_S = (0.03, 0.05)
FADE_S = 0.01
#: Reaction times drawn per answer (voice onset after the digit appeared), seconds.
REACTION_S = (0.45, 1.2)
#: Recording kept after the last digit is hidden, seconds.
TAIL_S = 0.5
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Word:
    """One GRID clip's digit word: the clip, the digit and its aligned time (clip seconds)."""

    clip: Path
    digit: str
    start_s: float
    end_s: float
    speech_start_s: float  # the clip's first aligned word: the pause before it is real silence


@dataclass(frozen=True)
class Placement:
    """A word placed in a reading: its word starts at ``onset_s`` (reading seconds)."""

    word: Word
    onset_s: float

    @property
    def offset_s(self) -> float:
        """Reading time minus clip time for this cut, on the frame grid."""
        return round((self.onset_s - self.word.start_s) * FPS) / FPS

    def covers(self, t: float) -> bool:
        clip_t = t - self.offset_s
        return self.word.start_s - WORD_PAD_S[0] <= clip_t <= self.word.end_s + WORD_PAD_S[1]


@dataclass(frozen=True)
class Reading:
    """A built reading: the challenge it answers, where its picture and sound come from."""

    challenge: Challenge
    picture: tuple[Placement, ...]
    sound: tuple[Placement, ...]
    still: Word
    duration_s: float

    @property
    def times(self) -> np.ndarray:
        """Frame times, shape (F,)."""
        return np.arange(int(round(self.duration_s * FPS))) / FPS


def grid_words(data_dir: Path) -> list[Word]:
    """The 30 GRID s1 digit words, sorted by clip path (the order of the tuning / held-out halves)."""
    root = data_dir / "videos" / "grid"
    with open(root / "grid_transcripts.tsv", newline="") as fh:
        rows = sorted(csv.DictReader(fh, delimiter="\t"), key=lambda r: r["local_path"])
    words = []
    for row in rows:
        clip = data_dir / row["local_path"]
        aligned = []
        for line in (root / "s1" / "align" / f"{clip.stem}.align").read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                aligned.append((int(parts[0]) / 25000, int(parts[1]) / 25000, parts[2]))
        spoken = [(a, b) for a, b, w in aligned if w != "sil"]
        (a, b) = next((a, b) for a, b, w in aligned if w == row["digit_word"])
        words.append(Word(clip, str(DIGIT_WORDS.index(row["digit_word"])), a, b, spoken[0][0]))
    return words


def draw_schedule(digits: str, rng: np.random.Generator) -> Challenge:
    """A ``one_by_one`` challenge for ``digits`` with prompt times drawn as ``new_challenge`` draws them."""
    low, high = ONE_BY_ONE_STEP_S
    starts = [0.0]
    for _ in digits:
        starts.append(round(starts[-1] + low + int(rng.integers(0, round((high - low) * 100) + 1)) / 100, 2))
    steps = tuple(PromptStep(d, starts[i], starts[i + 1]) for i, d in enumerate(digits))
    return Challenge(digits, f"reading-{rng.integers(1 << 30)}", 0.0, math.inf, steps, ScheduleKind.ONE_BY_ONE, True)


def known_prompts(
    show_at_s: tuple[float, ...], actions: tuple[PromptAction, ...] | None = None, window_s: float = 2.5
) -> ChallengeOptions:
    """``verify()``'s options to judge a recording against blink-challenge prompts shown at
    ``show_at_s`` (seconds from its start), each up for ``window_s`` and asking for one of
    ``actions`` (default: a blink each); a new challenge, with its own nonce, on every call."""
    return ChallengeOptions(Challenge.for_known_blink_prompts(show_at_s, window_s, actions))


def place(
    words: list[Word], challenge: Challenge, rng: np.random.Generator, shift_s: float = 0.0
) -> tuple[Placement, ...]:
    """Each word said a drawn reaction time after its prompt (plus ``shift_s``)."""
    return tuple(
        Placement(w, step.show_at_s + float(rng.uniform(*REACTION_S)) + shift_s)
        for w, step in zip(words, challenge.schedule)
    )


def build_reading(words: list[Word], rng: np.random.Generator, shift_s: float = 0.0) -> Reading:
    """A genuine reading of ``words`` (picture and sound of the same answers).

    ``shift_s`` moves every answer later (a recording whose answers do not
    follow the prompts); the recording is lengthened to keep the last one.
    """
    challenge = draw_schedule("".join(w.digit for w in words), rng)
    placed = place(words, challenge, rng, shift_s)
    last = challenge.schedule[-1].hide_at_s or 0.0
    duration = max(last, placed[-1].onset_s + placed[-1].word.end_s - placed[-1].word.start_s + 0.5) + TAIL_S
    return Reading(challenge, placed, placed, words[0], duration)


def dubbed(reading: Reading, other_words: list[Word], rng: np.random.Generator) -> Reading:
    """``reading``'s picture with the sound another reader would make answering the same prompts."""
    sound = place(other_words, reading.challenge, rng)
    return Reading(reading.challenge, reading.picture, sound, reading.still, reading.duration_s)


def mesh_lips(frames: Iterable[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame times, inner-lip gap and outer-lip height of frames meshed in order, each shape (F,).

    Measured as :class:`~livecert.session.live.LivenessSession` measures them
    (:func:`~livecert.face.geometry.mouth_aperture`, :func:`~livecert.face.geometry.mouth_height`),
    ``nan`` without a face.
    """
    t, inner, outer = [], [], []
    with FaceLandmarker() as marker:
        for rgb, t_s in frames:
            points = marker.process(rgb, t_s).points
            inner.append(mouth_aperture(points) if points is not None else np.nan)
            outer.append(mouth_height(points) if points is not None else np.nan)
            t.append(t_s)
    return np.array(t), np.array(inner), np.array(outer)


class Clips:
    """GRID frames, lip measurements and sound, cached per clip."""

    def __init__(self) -> None:
        self._frames: dict[Path, list[np.ndarray]] = {}
        self._lips: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
        self._sound: dict[Path, AudioTrack] = {}

    def frames(self, clip: Path) -> list[np.ndarray]:
        """The clip's decoded frames, each (H, W, 3) uint8."""
        if clip not in self._frames:
            with open_source(clip) as source:
                self._frames[clip] = [f.rgb for f in source]
        return self._frames[clip]

    def lips(self, clip: Path) -> tuple[np.ndarray, np.ndarray]:
        """Inner-lip gap and outer-lip height per frame of the clip, each shape (F,), nan without a face.

        Measured as :class:`~livecert.session.live.LivenessSession` measures
        them (:func:`~livecert.face.geometry.mouth_aperture`,
        :func:`~livecert.face.geometry.mouth_height`), the clip's frames in order.
        """
        if clip not in self._lips:
            with open_source(clip) as source:
                _, inner, outer = mesh_lips((frame.rgb, frame.t_s) for frame in source)
            self._lips[clip] = (inner, outer)
        return self._lips[clip]

    def still_index(self, word: Word) -> int:
        """The frame before ``word``'s speaker starts with the mouth most closed."""
        inner = self.lips(word.clip)[0][: max(1, int((word.speech_start_s - 0.1) * FPS))]
        return int(np.nanargmin(inner))

    def room(self, word: Word, n: int, seed: int) -> np.ndarray:
        """``n`` samples of the room noise of ``word``'s clip (see the module docstring), shape (n,)."""
        x = self.sound(word.clip).between(0.0, word.speech_start_s - 0.05).astype(np.float64)
        frame = int(0.03 * SAMPLE_RATE)
        level = float(np.median([np.sqrt(np.mean(x[k : k + frame] ** 2)) for k in range(0, len(x) - frame, frame)]))
        magnitude = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        magnitude = np.convolve(magnitude, np.ones(9) / 9, mode="same")  # a smooth spectrum, not the pause's lines
        noise = np.fft.rfft(np.random.default_rng(seed).normal(size=n))
        shaped = np.interp(np.linspace(0, 1, len(noise)), np.linspace(0, 1, len(magnitude)), magnitude)
        y = np.fft.irfft(noise * shaped, n)
        return (y * level / max(float(np.sqrt(np.mean(y**2))), 1e-12)).astype(np.float32)

    def sound(self, clip: Path) -> AudioTrack:
        """The clip's sound, 16 kHz mono."""
        if clip not in self._sound:
            track = read_audio(clip, SAMPLE_RATE)
            assert track is not None, clip
            self._sound[clip] = track
        return self._sound[clip]


def _sources(reading: Reading, clips: Clips) -> list[tuple[Path, int]]:
    """Which clip frame each of the reading's frames shows: (clip, frame index)."""
    still = (reading.still.clip, clips.still_index(reading.still))
    out = []
    for t in reading.times:
        source = still
        for p in reading.picture:
            if p.covers(float(t)):
                source = (p.word.clip, int(round((t - p.offset_s) * FPS)))
                break
        out.append(source)
    return out


def picture(reading: Reading, clips: Clips) -> Iterator[tuple[np.ndarray, float]]:
    """The reading's frames, ``(rgb (H, W, 3) uint8, t_s)``."""
    for (clip, k), t in zip(_sources(reading, clips), reading.times):
        frames = clips.frames(clip)
        yield frames[min(max(k, 0), len(frames) - 1)], float(t)


def lip_trace(reading: Reading, clips: Clips) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reading's frame times, inner-lip gap and outer-lip height, each shape (F,).

    The frames' lip measurements are taken once per GRID frame (landmarks
    found with the clip's frames in order) and laid out as :func:`picture`
    lays out the frames: what landmarking the joined video gives, except that
    the face tracker does not carry its state across a cut.
    """
    inner, outer = [], []
    for clip, k in _sources(reading, clips):
        gap, height = clips.lips(clip)
        k = min(max(k, 0), len(gap) - 1)
        inner.append(gap[k])
        outer.append(height[k])
    return reading.times, np.array(inner), np.array(outer)


def sound(reading: Reading, clips: Clips) -> AudioTrack:
    """The reading's sound: the answers' cuts over the still clip's real pause, repeated."""
    n = int(round(reading.duration_s * SAMPLE_RATE))
    out = clips.room(reading.still, n, seed=len(reading.challenge.digits))
    for p in reading.sound:
        track = clips.sound(p.word.clip)
        a, b = p.word.start_s - SOUND_PAD_S[0], p.word.end_s + SOUND_PAD_S[1]
        cut = track.between(a, b)
        fade = min(int(FADE_S * SAMPLE_RATE), len(cut) // 2)
        weight = np.ones(len(cut), dtype=np.float32)  # cross-fade from the room noise to the cut and back
        weight[:fade] = np.linspace(0.0, 1.0, fade)
        weight[len(cut) - fade :] = np.linspace(1.0, 0.0, fade)
        i0 = int(round((a + p.offset_s) * SAMPLE_RATE))
        if i0 < 0:
            cut, weight, i0 = cut[-i0:], weight[-i0:], 0
        cut, weight = cut[: max(0, n - i0)], weight[: max(0, n - i0)]
        span = slice(i0, i0 + len(cut))
        out[span] = out[span] * (1.0 - weight) + cut * weight
    return AudioTrack(out, SAMPLE_RATE, 0.0)


def write_video(
    path: Path, frames: Iterator[tuple[np.ndarray, float]], track: AudioTrack, crf: int = 18, fps: float = FPS
) -> None:
    """Write frames and sound as a phone would: H.264 (``crf``) at ``fps`` plus 48 kHz mono AAC, mp4.

    Parameters
    ----------
    path : Path
        The ``.mp4`` to write.
    frames : iterator of (rgb (H, W, 3) uint8, t_s)
        As :func:`picture` gives them (frame ``k`` at ``k / fps`` seconds).
    track : AudioTrack
        The sound, starting with the first frame.
    crf : int
        H.264 quality (18: visually lossless; x264's own default is 23).
    fps : float
        Frame rate (default :data:`FPS`, that of the readings).
    """
    import fractions

    import av

    rate = 48000
    audio = resample(track.samples.astype(np.float32), track.sample_rate, rate)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=int(fps), options={"crf": str(crf)})
        video.pix_fmt = "yuv420p"
        voice = container.add_stream("aac", rate=rate)
        voice.layout = "mono"
        for k, (rgb, _) in enumerate(frames):
            if k == 0:
                video.height, video.width = rgb.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = k
            for packet in video.encode(frame):
                container.mux(packet)
        for i in range(0, len(audio), 1024):
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio[None, i : i + 1024]), format="flt", layout="mono"
            )
            chunk.sample_rate = rate
            chunk.time_base = fractions.Fraction(1, rate)
            chunk.pts = i
            for packet in voice.encode(chunk):
                container.mux(packet)
        for stream in (video, voice):
            for packet in stream.encode(None):
                container.mux(packet)


def draw_readings(pool: list[Word], n: int, rng: np.random.Generator) -> list[Reading]:
    """``n`` genuine readings of 4, 5, 6, 4, ... words of ``pool`` (no word twice in one reading).

    The draw of ``benchmarks/digits.py`` and ``test_readings_real.py``: the
    same ``pool`` and seed give the same readings.
    """
    built = []
    for i in range(n):
        picked = rng.choice(len(pool), 4 + i % 3, replace=False)
        built.append(build_reading([pool[j] for j in picked], rng))
    return built


def other_takes(reading: Reading, words: list[Word], rng: np.random.Generator) -> list[Word]:
    """For each answer of ``reading``, the same digit said in another GRID clip (drawn from ``words``).

    With these, a dubbed reading says the right digits at the right times:
    only the lips can tell the sound was not made by the face shown.
    """
    out = []
    for p in reading.picture:
        takes = [w for w in words if w.digit == p.word.digit and w.clip != p.word.clip]
        out.append(takes[int(rng.integers(len(takes)))])
    return out
