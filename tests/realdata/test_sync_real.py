"""Lip-voice sync (:func:`livecert.liveness.sync.av_sync`) on GRID s1: matched against swapped audio.

The 30 GRID s1 clips sorted by name: the even-indexed 15 are the tuning half,
the odd-indexed 15 are held out.  Each clip's outer-lip height
(:func:`livecert.face.geometry.mouth_height`) is scored against its own audio
(matched) and against the audio of the clips 1, 2, 3 and 5 places later in
the same half (swapped, 60 per half): same speaker, same six-word grammar,
often the same first words, so these are hard negatives.

Every setting (bands, band weights, lag window and penalty, threshold) was
chosen on the tuning half only: the band weights are the least-squares fit
of :func:`_fit_band_weights` on the tuning clips, and the threshold the
equal-error point of tuning scores with the weights refitted leaving the
scored clip out.  Held-out figures below were measured once, after that.

Tuning half (leave-one-clip-out weights), equal error rate / AUC:

* plain loudness 100-4000 Hz, lags ±0.1 s (the old rule): 0.13 / 0.91;
  lags ±0.3 s: 0.15 / 0.88
* ten band weights, lags -0.04..0.08 s: 0.07 / 0.96; ±0.3 s unpenalised:
  0.13 / 0.91; ±0.3 s with 4 per second outside -0.04..0.08 s: 0.07 / 0.96
  (shipped; threshold 0.55, the tuning equal-error point 0.556 rounded)

Held out, shipped settings: matched median 0.64 (0.46-0.86), swapped median
0.32 (0.04-0.65); 13 of 15 matched pass, 58 of 60 swapped fail, EER 0.067
(the old rule: 14/15, 45/60, EER 0.12).  The issue's target, every swapped
clip failing, is NOT met: 2 of 60 pass (``test_av_sync_target``).  All 30 clips are one male
speaker: the band weights are untested on other voices and microphones.

Tried afterwards on the tuning half, every fit leaving out both clips of the
scored pair, all 210 ordered swaps (AUC of matched over swapped; the
shipped rule scores 0.967 there): canonical correlation between 20 mel band
energies and the 40 lip landmarks, 1-10 components, 0.993 at best; adding
mouth width to the height, 0.981; mouth-region appearance (DCT of the
crop), cavity darkness or motion energy, 0.74-0.99; formant-region
centroids, 0.92; audio context of ±2 frames, sliding-window minimum,
soft maximum over lags, cohort normalisation by circular shifts: no gain.
The best of these, canonical correlation with 4 components, scored once on
the held-out half: 13 of 15 matched pass, 57 of 60 swapped fail, AUC 0.977,
against 0.981 for the shipped rule, so the shipped rule stays.  What does
separate better is more speech: held-out clips joined into one 6 or 9 s
recording separate fully at the shipped threshold
(``test_longer_reads_separate_better``); a longer read is the lever, not a
richer linear model of 15 clips.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from livecert.config import DigitsConfig
from livecert.evaluation.metrics import eer
from livecert.io.audio import AudioTrack
from livecert.liveness.sync import SYNC_BAND_WEIGHTS, SYNC_THRESHOLD, _detrend, av_sync, band_envelopes

log = logging.getLogger(__name__)

SWAP_OFFSETS = (1, 2, 3, 5)  # audio of the clip this many places later (within the same half)
DETREND_FRAMES = 5  # av_sync's 0.2 s at 25 fps


@pytest.fixture(scope="module")
def mouth_traces(data_dir: Path, grid_clips: list[dict[str, str]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(frame times (N,), outer-lip height (N,)) per GRID clip, nan where no face."""
    from livecert.face.geometry import mouth_height
    from livecert.face.landmarks import FaceLandmarker
    from livecert.io.sources import open_source

    traces = {}
    for row in grid_clips:
        times, mouth = [], []
        with FaceLandmarker() as marker, open_source(data_dir / row["local_path"]) as source:
            for frame in source:
                obs = marker.process(frame.rgb, frame.t_s)
                times.append(frame.t_s)
                mouth.append(mouth_height(obs.points) if obs.points is not None else np.nan)
        traces[row["local_path"]] = (np.array(times), np.array(mouth))
    return traces


@pytest.fixture(scope="module")
def halves(grid_clips: list[dict[str, str]]) -> dict[str, list[str]]:
    paths = [r["local_path"] for r in grid_clips]
    return {"tuning": paths[0::2], "held_out": paths[1::2]}


def _fit_band_weights(
    paths: list[str], traces: dict[str, tuple[np.ndarray, np.ndarray]], tracks: dict[str, AudioTrack]
) -> np.ndarray:
    """Ridge fit (1e-2, standardised bands) of the detrended mouth on the detrended
    log band energies at lag 0, pooled over ``paths``; shape (B,), largest weight 1."""
    xs, ys = [], []
    for p in paths:
        t, mouth = traces[p]
        e = band_envelopes(tracks[p], t)
        xs.append(np.stack([_detrend(col, DETREND_FRAMES) for col in e.T], axis=1))
        ys.append(_detrend(mouth, DETREND_FRAMES))
    x, y = np.concatenate(xs), np.concatenate(ys)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(axis=0), y[ok] - y[ok].mean()
    scale = x.std(axis=0)
    xs_ = x / scale
    w = np.linalg.solve(xs_.T @ xs_ / len(y) + 1e-2 * np.eye(x.shape[1]), xs_.T @ y / len(y)) / scale
    return w / np.abs(w).max()


def _scores(
    half: list[str],
    traces: dict[str, tuple[np.ndarray, np.ndarray]],
    tracks: dict[str, AudioTrack],
    weights: dict[str, tuple[float, ...]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(matched (15,), swapped (60,)) scores, nan as -1; ``weights`` per probe clip."""

    def score(p: str, audio: str) -> float:
        kw = {} if weights is None else {"band_weights": weights[p]}
        return av_sync(*traces[p], tracks[audio], **kw).score

    matched = [score(p, p) for p in half]
    swapped = [score(p, half[(i + k) % len(half)]) for i, p in enumerate(half) for k in SWAP_OFFSETS]
    return np.nan_to_num(np.array(matched), nan=-1.0), np.nan_to_num(np.array(swapped), nan=-1.0)


@pytest.fixture(scope="module")
def sync_scores(
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"tuning" | "held_out": (matched scores (15,), swapped scores (60,))} with the shipped settings."""
    return {name: _scores(half, mouth_traces, grid_tracks) for name, half in halves.items()}


def _eer(matched: np.ndarray, swapped: np.ndarray) -> float:
    """EER of sync scores (similarities: a clip passes when its score is at least the threshold)."""
    return eer(matched, swapped, similarity=True)[0]


def _summary(name: str, matched: np.ndarray, swapped: np.ndarray) -> str:
    return (
        f"{name}: matched median {np.median(matched):.2f} [{matched.min():.2f}, {matched.max():.2f}], "
        f"swapped median {np.median(swapped):.2f} [{swapped.min():.2f}, {swapped.max():.2f}]; "
        f"matched pass {int(np.sum(matched >= SYNC_THRESHOLD))}/{len(matched)}, "
        f"swapped fail {int(np.sum(swapped < SYNC_THRESHOLD))}/{len(swapped)}, EER {_eer(matched, swapped):.3f}"
    )


# ----------------------------------------------------------------------------
# settings come from the tuning half


def test_defaults_agree() -> None:
    assert SYNC_THRESHOLD == DigitsConfig().sync_threshold
    assert DigitsConfig().max_lag_s == pytest.approx(0.3)


def test_band_weights_refit_on_the_tuning_clips(
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    w = _fit_band_weights(halves["tuning"], mouth_traces, grid_tracks)
    log.info("refitted band weights %s", np.round(w, 2))
    np.testing.assert_allclose(w, SYNC_BAND_WEIGHTS, atol=0.02)


def test_threshold_from_tuning_scores_left_out(
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """The threshold separates tuning scores whose weights never saw the scored clip.

    Measured: EER 0.067 (matched 14/15 pass, swapped 56/60 fail at the threshold).
    """
    half = halves["tuning"]
    weights = {p: tuple(_fit_band_weights([q for q in half if q != p], mouth_traces, grid_tracks)) for p in half}
    matched, swapped = _scores(half, mouth_traces, grid_tracks, weights)
    log.info(_summary("AV sync tuning, leave-one-out weights", matched, swapped))
    cuts = np.sort(np.concatenate([matched, swapped]))
    cuts = (cuts[1:] + cuts[:-1]) / 2
    errors = np.array([max(np.mean(matched < c), np.mean(swapped >= c)) for c in cuts])
    log.info("tuning equal-error thresholds: %s", np.round(cuts[errors == errors.min()], 3))
    assert _eer(matched, swapped) <= 0.1
    assert np.mean(matched >= SYNC_THRESHOLD) >= 0.85 and np.mean(swapped < SYNC_THRESHOLD) >= 0.9


# ----------------------------------------------------------------------------
# held out


def test_av_sync_held_out(sync_scores: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Held-out clips with every setting chosen on the tuning clips.

    Measured: matched pass 13/15, swapped fail 58/60, EER 0.067.
    """
    for name, (matched, swapped) in sync_scores.items():
        log.info(_summary(f"AV sync {name}", matched, swapped))
    matched, swapped = sync_scores["held_out"]
    assert np.median(matched) >= np.median(swapped) + 0.2
    assert np.mean(matched >= SYNC_THRESHOLD) >= 0.8
    assert np.mean(swapped < SYNC_THRESHOLD) >= 0.9
    assert _eer(matched, swapped) <= 0.1


@pytest.mark.xfail(
    reason="issue #3 target not met: held out, 2 of 60 swapped pairings pass (58 fail) while 13 of 15 matched "
    "pass; EER 0.067 on 3 s clips of one speaker and one sentence grammar. Joined into 6-9 s recordings, every "
    "swapped one fails (test_longer_reads_separate_better)",
    strict=True,
)
def test_av_sync_target(sync_scores: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Issue #3: each clip with its audio swapped for another clip's audio fails
    the sync check (held out), while genuine clips still pass (at least 90%)."""
    matched, swapped = sync_scores["held_out"]
    assert np.all(swapped < SYNC_THRESHOLD) and np.mean(matched >= SYNC_THRESHOLD) >= 0.9


def test_av_sync_lag_of_matched_audio(
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """GRID's own audio is found within the lag prior (0-0.04 s on most clips)."""
    lags = [av_sync(*mouth_traces[p], grid_tracks[p]).lag_s for p in halves["held_out"]]
    log.info("held-out matched lags %s", lags)
    assert np.median(np.abs(lags)) <= 0.04


# ----------------------------------------------------------------------------
# longer reads


def _joined(
    paths: list[str],
    sounds: list[str],
    traces: dict[str, tuple[np.ndarray, np.ndarray]],
    tracks: dict[str, AudioTrack],
    lags: dict[str, float],
    clip_s: float = 3.0,
) -> float:
    """Score the clips ``paths`` joined end to end into one recording, with the
    sounds of ``sounds`` joined the same way.  Each sound is first moved by its
    own clip's matched lag: GRID's clips were encoded one by one and their
    offsets differ by a frame or two, while one recording has one offset."""
    rate = tracks[sounds[0]].sample_rate
    n = int(round(clip_s * rate))
    parts = []
    for s in sounds:
        x = np.pad(tracks[s].samples.astype(np.float32), (n, 2 * n))
        shift = int(round(lags[s] * rate))
        parts.append(x[n + shift : 2 * n + shift])
    track = AudioTrack(np.concatenate(parts), rate, 0.0)
    times = np.concatenate([traces[p][0] + k * clip_s for k, p in enumerate(paths)])
    mouth = np.concatenate([traces[p][1] for p in paths])
    return av_sync(times, mouth, track).score


@pytest.mark.parametrize("n_clips", [2, 3])
def test_longer_reads_separate_better(
    n_clips: int,
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Held-out clips joined into 6 or 9 s recordings (100 random draws each,
    the swapped sound joined from clips outside the draw): shipped settings,
    nothing refitted.

    Measured: two clips, 97 of 100 matched pass and 100 of 100 swapped fail
    (swapped at most 0.43), EER 0; three clips, 99 and 100 of 100 (swapped at
    most 0.38), EER 0.  One clip: 13/15 and 58/60, EER 0.067.  With another
    200 draws the tuning half gave EER 0.015 (two clips) and 0 (three).
    """
    half = halves["held_out"]
    lags = {p: av_sync(*mouth_traces[p], grid_tracks[p]).lag_s for p in half}
    rng = np.random.default_rng(3)
    matched, swapped = [], []
    for _ in range(100):
        draw = [str(p) for p in rng.choice(half, n_clips, replace=False)]
        other = [str(p) for p in rng.choice([p for p in half if p not in draw], n_clips, replace=False)]
        matched.append(_joined(draw, draw, mouth_traces, grid_tracks, lags))
        swapped.append(_joined(draw, other, mouth_traces, grid_tracks, lags))
    m, s = np.nan_to_num(np.array(matched), nan=-1.0), np.nan_to_num(np.array(swapped), nan=-1.0)
    log.info(_summary(f"AV sync, {n_clips} held-out clips joined", m, s))
    assert _eer(m, s) <= 0.02
    assert np.mean(s < SYNC_THRESHOLD) >= 0.99
    assert np.mean(m >= SYNC_THRESHOLD) >= 0.9


# ----------------------------------------------------------------------------
# degraded sound


def _degraded(track: AudioTrack, kind: str, rng: np.random.Generator) -> AudioTrack:
    from livecert.io.audio import resample

    x = track.samples.astype(np.float32)
    if kind == "telephone":
        x = resample(resample(x, track.sample_rate, 8000), 8000, track.sample_rate)[: len(x)]
    elif kind.startswith("snr"):
        power = float(np.mean(x.astype(np.float64) ** 2))
        x = x + rng.normal(0.0, np.sqrt(power / 10 ** (float(kind[3:]) / 10)), len(x)).astype(np.float32)
    return AudioTrack(x.astype(np.float32), track.sample_rate, track.start_s)


@pytest.mark.parametrize(("kind", "max_lost"), [("telephone", 1), ("snr20", 2), ("snr10", 4)])
def test_sync_with_telephone_band_or_noisy_sound(
    kind: str,
    max_lost: int,
    halves: dict[str, list[str]],
    grid_tracks: dict[str, AudioTrack],
    mouth_traces: dict[str, tuple[np.ndarray, np.ndarray]],
    sync_scores: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """Held-out clips with their sound cut to 8 kHz, or under white noise at 20
    or 10 dB SNR: matched clips lost against clean sound, and swapped ones
    still failing.

    Measured: telephone band 13/15 pass (none lost), 58/60 fail; 20 dB 12/15,
    58/60 (EER 0.10); 10 dB 11/15, 59/60 (EER 0.13).
    """
    rng = np.random.default_rng(5)
    half = halves["held_out"]
    tracks = {p: _degraded(grid_tracks[p], kind, rng) for p in half}
    matched, swapped = _scores(half, mouth_traces, tracks)
    log.info(_summary(f"AV sync held out, {kind}", matched, swapped))
    clean_matched, clean_swapped = sync_scores["held_out"]
    assert np.sum(matched >= SYNC_THRESHOLD) >= np.sum(clean_matched >= SYNC_THRESHOLD) - max_lost
    assert np.mean(swapped < SYNC_THRESHOLD) >= 0.9
