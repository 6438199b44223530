"""Face matching on real recordings: the default threshold, ROC figures and
enrollment refusals.

Video/photo pairs are measured by :mod:`benchmarks.match_threshold` (``python -m
benchmarks match-threshold``, the code that chose ``MatchConfig.threshold``):
each video's live descriptors are the ones :func:`livecert.verify` made.  They
are cached in ``LIVECERT_MATCH_CACHE`` (default ``/tmp/livecert-match-cache``,
keyed by the code that produced them), so a rerun takes seconds and a cold
run a few minutes on two cores.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from benchmarks import match_threshold
from livecert.config import MATCH_POLICY_THRESHOLDS, MatchConfig, MatchPolicy
from livecert.errors import InputError
from livecert.identity.embedding import DlibEmbedder, face_distance, template_distance
from livecert.identity.enrollment import Enrollment, EnrollmentError, enroll
from livecert.identity.matching import FramePool, match_faces
from livecert.results import ReasonCode

# Bounds asserted below (measured values in brackets, see the benchmark's docstring).
MAX_PHOTO_PAIR_EER = 0.02  # deepface pairs [0.0: genuine <= 0.607 < 0.644 <= impostor]
MAX_VIDEO_PAIR_EER = 0.03  # video/photo pairs [0.0009]
MIN_GENUINE_ACCEPTED = 0.95  # video/photo pairs at the default threshold [62 of 65]
# Targets of issue #13 on held-out identities, at the default operating point.
HELD_OUT_MAX_FRR = 0.03  # overall [1 of 46]
HELD_OUT_MAX_FRR_PER_CONDITION = 0.05  # glasses [0/10], looking_up [0/5], low_resolution [1/33]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return match_threshold


@pytest.fixture(scope="module")
def measured(bench: ModuleType, data_dir: Path) -> Any:
    return bench.measure_all(data_dir, workers=min(2, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def video_pairs(bench: ModuleType, measured: Any) -> Any:
    return bench.video_pairs(measured.labels, measured.videos, measured.photos)


@pytest.fixture(scope="module")
def embedder() -> DlibEmbedder:
    return DlibEmbedder()


# ----------------------------------------------------------------------------
# labels


def test_identity_map_is_read_and_missing_rows_reported(measured: Any) -> None:
    lab = measured.labels
    # the TSV names two Obama photos that are not in the data: reported, not silently dropped
    assert sorted(m.split(" ")[0] for m in lab.missing) == [
        "pairs/face_recognition/obama/obama1.jpg",
        "pairs/face_recognition/obama/obama3.jpg",
    ]
    # 30 ZJU probes (FBN/FTN/UNN x 10) + 30 GRID s1 + Obama x 3 photos + Hamilton + LivePortrait d18
    assert len(lab.genuine) == 65
    assert sum(1 for _, c in lab.videos.values() if c == "FNN") == 10  # enrollment source: impostor probes only
    assert len(lab.deepface_pairs) == 300 and sum(s for *_, s in lab.deepface_pairs) == 38


def test_every_real_enrollment_photo_is_accepted(measured: Any) -> None:
    refused = {p: str(e["code"]) for p, e in measured.photos.items() if str(e["code"])}
    assert refused == {}, refused


# ----------------------------------------------------------------------------
# the default threshold


def test_no_impostor_video_photo_pair_accepted(video_pairs: Any) -> None:
    threshold = MatchConfig().threshold
    _, imp = video_pairs.arrays()
    assert imp.size > 3000
    accepted = [(v, p, round(d, 4)) for v, p, d in video_pairs.impostor if d <= threshold]
    assert accepted == []


def test_genuine_video_photo_pairs_accepted(video_pairs: Any) -> None:
    threshold = MatchConfig().threshold
    gen, _ = video_pairs.arrays()
    assert gen.size == 65
    rejected = sorted(((round(d, 4), v, p) for v, p, d in video_pairs.genuine if d > threshold), reverse=True)
    assert np.mean(gen <= threshold) >= MIN_GENUINE_ACCEPTED, rejected


def test_policy_thresholds_follow_the_tuning_rule(bench: ModuleType, measured: Any, video_pairs: Any) -> None:
    """Each named operating point is at or below what the rule (its margin below the closest
    tuning impostor) gives on the tuning identities alone.  For the default the rule gives
    0.375 on verify()'s descriptors, which would accept the data's closest impostor pair
    (0.3695: two people filmed by one webcam in one room, a pair across the two halves), so
    the stricter 0.365 is shipped; strict and lenient are the rule's own values."""
    lab = measured.labels
    tune = bench.photo_pairs(lab, measured.photos).extend(bench.split(lab, video_pairs, True))
    rule = bench.policy_thresholds(tune.arrays()[1])
    for policy, shipped in MATCH_POLICY_THRESHOLDS.items():
        assert shipped <= rule[str(policy)] <= shipped + 0.01, policy
    assert rule["strict"] == MATCH_POLICY_THRESHOLDS[MatchPolicy.STRICT]
    assert rule["lenient"] == MATCH_POLICY_THRESHOLDS[MatchPolicy.LENIENT]


def _held_out_rates(bench: ModuleType, measured: Any, video_pairs: Any, threshold: float) -> dict[str, Any]:
    lab = measured.labels
    held = bench.split(lab, video_pairs, False)
    widths = {v: float(e["face_width_px"]) for v, e in measured.videos.items()}
    rates_ = bench.condition_rates(lab, held.genuine, widths, threshold)
    print(f"\nheld-out FRR at {threshold:.3f} (errors/pairs, 95% upper bound):")
    for cond, r in rates_.items():
        if r["total"]:
            print(f"  {cond:15s} {r['errors']}/{r['total']}  <= {100 * r['upper_95']:.1f}%")
    return rates_


def test_held_out_frr_per_condition(bench: ModuleType, measured: Any, video_pairs: Any) -> None:
    """Issue #13's targets on identities no tuning has seen, at the default threshold:
    FRR at most 3 % overall and 5 % in each condition measured on several pairs, and no
    impostor accepted among all cross-identity pairs."""
    threshold = MatchConfig().threshold
    rates_ = _held_out_rates(bench, measured, video_pairs, threshold)
    assert rates_["all"]["total"] >= 40 and rates_["all"]["rate"] <= HELD_OUT_MAX_FRR
    for cond in ("glasses", "black_glasses", "looking_up", "low_resolution"):
        assert rates_[cond]["total"] >= 5, cond
        assert rates_[cond]["rate"] <= HELD_OUT_MAX_FRR_PER_CONDITION, (cond, rates_[cond])
    held = bench.split(measured.labels, video_pairs, False)
    assert len(held.impostor) >= 400 and all(d > threshold for *_, d in held.impostor)
    assert all(d > threshold for *_, d in video_pairs.impostor)


@pytest.mark.xfail(
    strict=True,
    reason="known shortfall: the one held-out pair with a photo from another session (Hamilton, "
    "80 px faces in a multi-shot clip) is refused; no frame choice, fusion or augmentation tried "
    "brought it under the threshold without accepting the closest impostor pair",
)
def test_held_out_frr_years_apart(bench: ModuleType, measured: Any, video_pairs: Any) -> None:
    rates_ = _held_out_rates(bench, measured, video_pairs, MatchConfig().threshold)
    assert rates_["years_apart"]["total"] >= 1
    assert rates_["years_apart"]["rate"] <= HELD_OUT_MAX_FRR_PER_CONDITION


def test_operating_points_trade_errors(bench: ModuleType, measured: Any, video_pairs: Any) -> None:
    """Strict refuses at least as many genuine pairs as the default and accepts no impostor;
    lenient refuses at most as many and accepts at most 0.2 % of all impostor pairs."""
    gen, imp = video_pairs.arrays()
    frr = {p: float(np.mean(gen > MatchConfig.for_policy(p).threshold)) for p in MatchPolicy}
    far = {p: float(np.mean(imp <= MatchConfig.for_policy(p).threshold)) for p in MatchPolicy}
    assert frr[MatchPolicy.STRICT] >= frr[MatchPolicy.DEFAULT] >= frr[MatchPolicy.LENIENT]
    assert far[MatchPolicy.STRICT] == far[MatchPolicy.DEFAULT] == 0.0
    assert far[MatchPolicy.LENIENT] <= 0.002


def test_several_photo_template_is_closer(data_dir: Path, measured: Any, embedder: DlibEmbedder) -> None:
    """Obama's three independent photos as one template: the live face lies closer to their mean
    than to the best single photo of them."""
    photos = ["photos/same_person/obama.jpg", "photos/same_person/obama2.jpg", "photos/same_person/obama_small.jpg"]
    template = enroll([data_dir / p for p in photos], embedder=embedder)
    assert template.template.shape == (3, 128)
    probe = measured.videos["videos/talking_heads/first-order-model/demo_old/00.mp4"]["probe"]
    single = [template_distance(probe, measured.photos[p]["embedding"])[0] for p in photos]
    both = template_distance(probe, template.embedding)[0]
    assert both < min(single) and both <= MatchConfig().threshold, (both, single)


def test_pair_set_eer(bench: ModuleType, measured: Any, video_pairs: Any) -> None:
    photo = bench.roc_summary(*bench.photo_pairs(measured.labels, measured.photos).arrays())
    assert (photo["n_genuine"], photo["n_impostor"]) == (38, 262)
    assert photo["eer"] <= MAX_PHOTO_PAIR_EER
    video = bench.roc_summary(*video_pairs.arrays())
    assert video["eer"] <= MAX_VIDEO_PAIR_EER
    assert video["frr_at_far_0.1pct"] is not None and video["frr_at_far_0.1pct"] <= 0.05


def test_glasses_and_looking_up(measured: Any, video_pairs: Any) -> None:
    """Glasses (FTN thin, FBN black) do not cost acceptance; looking up (UNN) costs the most."""
    threshold = MatchConfig().threshold
    by_cond: dict[str, list[float]] = {}
    for v, _, d in video_pairs.genuine:
        by_cond.setdefault(measured.labels.videos[v][1], []).append(d)
    for cond in ("FTN", "FBN"):
        assert len(by_cond[cond]) == 10 and max(by_cond[cond]) <= threshold, cond
    assert len(by_cond["UNN"]) == 10 and sum(d <= threshold for d in by_cond["UNN"]) >= 9
    assert np.median(by_cond["UNN"]) >= np.median(by_cond["FTN"])


# ----------------------------------------------------------------------------
# the public API end to end, without the benchmark's cache


def _pool_from_video(path: Path, config: MatchConfig) -> FramePool:
    from livecert.config import QualityConfig
    from livecert.face import geometry
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.face.quality import measure
    from livecert.io.sources import open_source

    pool = FramePool(config.max_frames, config.min_frame_gap_s)
    with open_source(path) as src, FaceLandmarker(mode=RunningMode.VIDEO) as lm:
        for frame in src:
            obs = lm.process(frame.rgb, frame.t_s)
            if obs.points is None:
                continue
            q = measure(frame.rgb, obs.points, obs.n_faces, QualityConfig())
            left, right = geometry.eye_apertures(obs.points)
            pool.offer_frame(frame.rgb, obs.points, frame.t_s, q, (left + right) / 2)  # as LivenessSession
    return pool


def test_match_faces_end_to_end(data_dir: Path, embedder: DlibEmbedder, tmp_path: Path) -> None:
    cfg = MatchConfig()
    grid = enroll(data_dir / "photos/same_person/derived_frames/grid_s1_from_lgif3a_frame0.png", embedder=embedder)
    grid.save(tmp_path / "grid.npz")
    obama = enroll(data_dir / "photos/same_person/obama.jpg", embedder=embedder)
    pool = _pool_from_video(data_dir / "videos/grid/s1/bbaf3s.mpg", cfg)
    same = match_faces(Enrollment.load(tmp_path / "grid.npz"), pool.candidates(), cfg, embedder=embedder)
    other = match_faces(obama, pool.candidates(), cfg, embedder=embedder)
    assert same.passed and same.frames_used == cfg.max_frames and same.distance < 0.3
    assert not other.passed and other.distance > 0.6
    assert set(same.to_dict()) == {"passed", "distance", "threshold", "policy", "frames_used"}
    assert same.policy is MatchPolicy.DEFAULT


# ----------------------------------------------------------------------------
# enrollment refusals and formats on real photos


def test_enrollment_refusals_real(data_dir: Path, embedder: DlibEmbedder) -> None:
    import cv2

    from livecert.io.images import read_image_rgb

    def code(photo: Any) -> ReasonCode:
        with pytest.raises(EnrollmentError) as err:
            enroll(photo, embedder=embedder)
        return err.value.code

    assert code(data_dir / "photos/impostors/two_people.jpg") == ReasonCode.MULTIPLE_FACES
    assert code(data_dir / "spoof/silent_face/image_F1.jpg") == ReasonCode.FACE_TURNED  # yaw about 32 deg
    obama = read_image_rgb(data_dir / "photos/same_person/obama.jpg")
    assert code(cv2.GaussianBlur(obama, (0, 0), 6)) == ReasonCode.BLURRY
    small = cv2.resize(obama, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)  # face about 60 px
    canvas = np.full((1400, 1400, 3), 230, np.uint8)
    canvas[500 : 500 + small.shape[0], 600 : 600 + small.shape[1]] = small
    assert code(canvas) == ReasonCode.FACE_TOO_SMALL
    assert code(np.full((600, 800, 3), 90, np.uint8)) == ReasonCode.NO_FACE
    bad = data_dir / "photos/video_photo_identity_map.tsv"  # exists, not an image
    with pytest.raises(InputError):
        enroll(bad, embedder=embedder)


@pytest.mark.parametrize("kind", ["exif_rotated", "cmyk", "gray", "alpha_png", "huge"])
def test_real_photo_formats(kind: str, data_dir: Path, embedder: DlibEmbedder, tmp_path: Path) -> None:
    from PIL import Image

    src = data_dir / "photos/same_person/obama.jpg"
    ref = enroll(src, embedder=embedder)
    im = Image.open(src).convert("RGB")
    path = tmp_path / "photo.jpg"
    if kind == "exif_rotated":
        exif = Image.Exif()
        exif[0x0112] = 8  # stored rotated 90 deg clockwise; viewer rotates it back
        im.transpose(Image.Transpose.ROTATE_270).save(path, exif=exif, quality=92)
    elif kind == "cmyk":
        im.convert("CMYK").save(path, quality=92)
    elif kind == "gray":
        im.convert("L").save(path, quality=92)
    elif kind == "alpha_png":
        path = tmp_path / "photo.png"
        rgba = im.convert("RGBA")
        rgba.putalpha(200)
        rgba.save(path)
    else:
        im.resize((im.width * 6, im.height * 6), Image.Resampling.BICUBIC).save(path, quality=85)
    e = enroll(path, embedder=embedder)
    limit = 0.25 if kind == "gray" else 0.1
    assert face_distance(e.embedding, ref.embedding) < limit
