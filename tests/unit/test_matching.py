"""Face matching: enrollment, persistence, frame selection and aggregation.

Tests that need a real face use ``skimage.data.astronaut()`` (scikit-image
is a test dependency) and the models shipped in mediapipe and
face_recognition_models; the rest use synthetic data and a fake embedder.
"""

from __future__ import annotations

import importlib.util
import io
import math
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from livecert.config import MATCH_POLICY_MARGINS, MATCH_POLICY_THRESHOLDS, MatchConfig, MatchPolicy
from livecert.errors import InputError, ModelError
from livecert.face.quality import FrameQuality
from livecert.identity.embedding import (
    DLIB_RESNET_FILE,
    DLIB_SHAPE5_FILE,
    DlibEmbedder,
    Embedder,
    align_face,
    dlib_model_file,
    embed_faces,
    face_distance,
    mesh_to_five,
    template_distance,
)
from livecert.identity.enrollment import ENROLLMENT_FORMAT_VERSION, Enrollment, EnrollmentError, enroll
from livecert.identity.matching import FramePool, MatchResult, enroll_video, frame_score, match_faces
from livecert.results import ReasonCode

SRC = Path(__file__).resolve().parents[2] / "src" / "livecert"


# ----------------------------------------------------------------------------
# helpers


def synthetic_mesh(scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A (478, 3) array with only the points used for alignment placed like a face in a 200 px frame."""
    pts = np.full((478, 3), 100.0, dtype=np.float32)
    places = {263: (130, 90), 362: (110, 90), 398: (110, 90), 33: (70, 90), 155: (90, 90), 173: (90, 90)}
    places.update({2: (100, 125), 164: (100, 130)})
    for i, (x, y) in places.items():
        pts[i, :2] = (100 + (x - 100) * scale + shift[0], 100 + (y - 100) * scale + shift[1])
    return pts


def textured_image(h: int = 200, w: int = 200, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(img, (0, 0), 3)


class FakeEmbedder:
    """Returns queued vectors; counts calls."""

    model_id = "fake-v1"

    def __init__(self, vectors: list[np.ndarray]) -> None:
        self.vectors = list(vectors)
        self.calls = 0

    def embed(self, aligned_face: np.ndarray) -> np.ndarray:
        assert aligned_face.shape == (150, 150, 3) and aligned_face.dtype == np.uint8
        self.calls += 1
        return np.asarray(self.vectors.pop(0), dtype=np.float32)


def make_enrollment(model_id: str = DlibEmbedder.model_id, vector: np.ndarray | None = None) -> Enrollment:
    rng = np.random.default_rng(1)
    emb = vector if vector is not None else rng.normal(0, 0.1, 128).astype(np.float32)
    q = FrameQuality(120.0, 130.0, 200.0, 1.5, 8.0, 0)
    return Enrollment(emb.astype(np.float32), synthetic_mesh(), q, model_id)


def unit(i: int, length: float = 1.0) -> np.ndarray:
    v = np.zeros(128, dtype=np.float32)
    v[i] = length
    return v


# ----------------------------------------------------------------------------
# configuration and small pure functions


def test_match_config_defaults_are_documented_ranges() -> None:
    cfg = MatchConfig()
    assert 0.0 < cfg.threshold < 0.6  # stricter than dlib's LFW value
    assert 1 <= cfg.max_frames <= 5
    for bad in (
        {"threshold": -0.1},
        {"max_frames": 0},
        {"max_frames": 100},
        {"enroll_max_yaw_deg": 120.0},
        {"enroll_max_photos": 0},
        {"enroll_max_spread": -1.0},
    ):
        with pytest.raises(InputError) as err:
            MatchConfig(**bad)  # type: ignore[arg-type]
        assert err.value.code == "BAD_CONFIG"


def test_match_policies_are_ordered_and_named() -> None:
    strict, default, lenient = (MatchConfig.for_policy(p) for p in (MatchPolicy.STRICT, "default", "lenient"))
    assert strict.threshold < default.threshold < lenient.threshold
    # the wider the margin below the closest tuning impostor, the stricter the policy
    assert MATCH_POLICY_MARGINS[MatchPolicy.STRICT] > MATCH_POLICY_MARGINS[MatchPolicy.DEFAULT]
    assert MATCH_POLICY_MARGINS[MatchPolicy.DEFAULT] > MATCH_POLICY_MARGINS[MatchPolicy.LENIENT]
    assert MatchConfig().threshold == MATCH_POLICY_THRESHOLDS[MatchPolicy.DEFAULT]
    assert (MatchConfig().policy, strict.policy, lenient.policy) == (
        MatchPolicy.DEFAULT,
        MatchPolicy.STRICT,
        MatchPolicy.LENIENT,
    )
    assert MatchConfig(threshold=0.3).policy is None
    assert str(MatchPolicy.STRICT) == "strict"
    with pytest.raises(InputError) as err:
        MatchConfig.for_policy("loose")
    assert err.value.code == "BAD_CONFIG" and "strict, default, lenient" in str(err.value)


def test_frame_score_prefers_frontal_sharp_open_eyes() -> None:
    best = frame_score(0.0, 0.0, 300.0, 0.28)
    assert 0.8 < best <= 1.0
    assert frame_score(30.0, 0.0, 300.0, 0.28) < 0.5 * best
    assert frame_score(0.0, 30.0, 300.0, 0.28) < 0.7 * best
    assert frame_score(0.0, 0.0, 10.0, 0.28) < 0.3 * best
    assert frame_score(0.0, 0.0, 300.0, 0.05) == 0.0  # eyes shut
    assert frame_score(math.nan, 0.0, 300.0, 0.28) == 0.0
    assert frame_score(0.0, 0.0, 300.0, math.nan) == 0.0


def test_frame_pool_bounded_spread_best_first() -> None:
    pool = FramePool(size=2, min_gap_s=0.3)
    rgb = np.zeros((32, 32, 3), np.uint8)
    pts = synthetic_mesh()
    assert not pool.offer(rgb, pts, 0.0, 0.0)  # unusable frame
    assert pool.offer(rgb, pts, 0.0, 0.5)
    assert not pool.offer(rgb, pts, 0.1, 0.4)  # near a better frame
    assert pool.offer(rgb, pts, 0.2, 0.6)  # near a worse one: replaces it
    assert pool.times() == [0.2]
    assert pool.offer(rgb + 1, pts, 1.0, 0.3)
    assert not pool.offer(rgb, pts, 2.0, 0.2)  # full, worse than the worst
    assert pool.offer(rgb + 2, pts, 3.0, 0.9)  # full, replaces the worst
    assert len(pool) == 2 and pool.times() == [3.0, 0.2]
    cands = pool.candidates()
    assert int(cands[0][0][0, 0, 0]) == 2
    rgb[:] = 77  # the pool keeps copies
    assert int(cands[1][0][0, 0, 0]) == 0
    with pytest.raises(InputError):
        FramePool(size=0)


def test_match_result_to_dict() -> None:
    r = MatchResult(True, 0.31234567, 0.365, 3, (0.3, 0.31, 0.33), policy=MatchPolicy.DEFAULT)
    assert r.to_dict() == {
        "passed": True,
        "distance": 0.3123,
        "threshold": 0.365,
        "policy": "default",
        "frames_used": 3,
    }
    assert MatchResult(False, math.nan, 0.365, 0).to_dict()["distance"] is None


def test_template_distance_mean_and_outlier() -> None:
    ref = np.zeros(128)
    frames = np.stack([unit(0, 0.3), unit(0, 0.3), unit(0, 0.3), unit(1, 1.5)])  # last: another face
    d, per = template_distance(frames, ref)
    assert d == pytest.approx(0.3)
    assert per.tolist() == pytest.approx([0.3, 0.3, 0.3, 1.5])
    d2, _ = template_distance(np.stack([unit(0, 0.2), unit(1, 0.2)]), ref)
    assert d2 == pytest.approx(math.hypot(0.1, 0.1))  # mean of the descriptors, not of distances
    assert math.isnan(template_distance(np.empty((0, 128)), ref)[0])


def test_mesh_to_five_order_and_validation() -> None:
    five = mesh_to_five(synthetic_mesh())
    assert five.shape == (5, 2)
    # dlib order: image-right eye outer, inner; image-left eye outer, inner; nose bottom
    assert five[0, 0] > five[1, 0] > five[3, 0] > five[2, 0]
    assert five[4, 1] > five[0, 1]
    with pytest.raises(InputError):
        mesh_to_five(np.zeros((68, 2)))
    bad = synthetic_mesh()
    bad[33, 0] = np.nan
    with pytest.raises(InputError):
        mesh_to_five(bad)


def test_align_face_is_a_similarity_transform() -> None:
    """The chip of a rotated, scaled and shifted picture equals the original's chip."""
    import cv2

    img = textured_image(240, 240)
    pts = synthetic_mesh(scale=1.2, shift=(20, 20))
    five = mesh_to_five(pts)
    m = cv2.getRotationMatrix2D((120.0, 120.0), 25.0, 0.8)
    m[:, 2] += (10.0, -5.0)
    moved = cv2.warpAffine(img, m, (240, 240))
    five_moved = np.c_[five, np.ones(5)] @ m.T
    a, b = align_face(img, five), align_face(moved, five_moved)
    assert a.shape == b.shape == (150, 150, 3)
    assert float(np.mean(np.abs(a[20:130, 20:130].astype(int) - b[20:130, 20:130]))) < 8.0
    # a stretched copy does not give the same chip: alignment never resamples anisotropically
    stretched = cv2.resize(img, (360, 240))
    c = align_face(stretched, five * (1.5, 1.0))
    assert float(np.mean(np.abs(a.astype(int) - c))) > 8.0


def test_match_faces_with_fake_embedder() -> None:
    enrollment = make_enrollment("fake-v1", np.zeros(128, np.float32))
    rgb = textured_image()
    cands = [(rgb, synthetic_mesh())] * 7
    fake = FakeEmbedder([unit(0, 0.2)] * 7)
    result = match_faces(enrollment, cands, MatchConfig(threshold=0.3, max_frames=4), embedder=fake)
    assert fake.calls == 4  # bounded by max_frames
    assert result.passed and result.frames_used == 4
    assert result.distance == pytest.approx(0.2, abs=1e-6)
    far = match_faces(enrollment, cands[:2], MatchConfig(threshold=0.3), embedder=FakeEmbedder([unit(0, 0.5)] * 2))
    assert not far.passed and far.distance == pytest.approx(0.5, abs=1e-6)
    none = match_faces(enrollment, [], embedder=FakeEmbedder([]))
    assert (none.passed, none.frames_used) == (False, 0) and math.isnan(none.distance)
    with pytest.raises(InputError) as err:
        match_faces(make_enrollment(), cands, embedder=FakeEmbedder([unit(0)]))
    assert err.value.code == "ENROLLMENT_MODEL_MISMATCH"
    with pytest.raises(InputError):
        embed_faces([(rgb.astype(np.float32), synthetic_mesh())], FakeEmbedder([unit(0)]))


# ----------------------------------------------------------------------------
# enrollment files


def test_enrollment_save_load_round_trip(tmp_path: Path) -> None:
    e = make_enrollment()
    path = tmp_path / "person.npz"
    e.save(path)
    assert path.stat().st_size < 20_000
    with np.load(path, allow_pickle=False) as z:  # no pickled objects inside
        assert str(z["model_id"]) == DlibEmbedder.model_id
    back = Enrollment.load(path)
    assert np.array_equal(back.embedding, e.embedding) and back.embedding.dtype == np.float32
    assert np.array_equal(back.landmarks, e.landmarks) and back.landmarks.shape == (478, 3)
    assert back.quality == e.quality
    assert (back.model_id, back.version) == (e.model_id, ENROLLMENT_FORMAT_VERSION)
    assert not back.embedding.flags.writeable
    e.save(tmp_path / "no_suffix")  # written exactly where asked
    assert (tmp_path / "no_suffix").is_file()


def _rewrite(path: Path, out: Path, **changes: object) -> None:
    with np.load(path, allow_pickle=False) as z:
        fields = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            fields.pop(k)
        else:
            fields[k] = np.asarray(v)
    buf = io.BytesIO()
    np.savez(buf, **fields)
    out.write_bytes(buf.getvalue())


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"model_id": "some_other_model_v2"}, "ENROLLMENT_MODEL_MISMATCH"),
        ({"version": 99}, "ENROLLMENT_VERSION"),
        ({"format": "something-else"}, "BAD_ENROLLMENT"),
        ({"embedding": None}, "BAD_ENROLLMENT"),
        ({"embedding": np.zeros(64, np.float32)}, "BAD_ENROLLMENT"),
        ({"embedding": np.full(128, np.nan, np.float32)}, "BAD_ENROLLMENT"),
    ],
)
def test_enrollment_load_refuses_foreign_files(tmp_path: Path, changes: dict[str, object], code: str) -> None:
    good = tmp_path / "good.npz"
    make_enrollment().save(good)
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, **changes)
    with pytest.raises(InputError) as err:
        Enrollment.load(bad)
    assert err.value.code == code
    assert str(bad) in str(err.value)


def test_enrollment_version_1_files_are_still_read(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    e = make_enrollment()
    e.save(good)
    old = tmp_path / "old.npz"
    _rewrite(good, old, version=1, template=None)
    back = Enrollment.load(old)
    assert back.version == 1 and back.template.shape == (1, 128)
    assert np.array_equal(back.template[0], e.embedding)
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, template=np.zeros((11, 128), np.float32))
    with pytest.raises(InputError) as err:
        Enrollment.load(bad)
    assert err.value.code == "BAD_ENROLLMENT"


def test_enrollment_load_wrong_model_for_the_embedder(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    make_enrollment("fake-v1").save(path)
    with pytest.raises(InputError, match="enroll the photo again"):
        Enrollment.load(path)
    assert Enrollment.load(path, model_id="fake-v1").model_id == "fake-v1"


@pytest.mark.parametrize("content", [b"", b"hello, not an enrollment", b"PK\x03\x04broken zip"])
def test_enrollment_load_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        Enrollment.load(path)
    assert err.value.code == "BAD_ENROLLMENT"


def test_enrollment_load_truncated_and_missing(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    make_enrollment().save(good)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:700])
    with pytest.raises(InputError):
        Enrollment.load(cut)
    with pytest.raises(InputError) as err:
        Enrollment.load(tmp_path / "missing.npz")
    assert err.value.code == "FILE_NOT_FOUND"
    # a zip without the fields
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(InputError):
        Enrollment.load(other)


# ----------------------------------------------------------------------------
# models


def test_model_files_located_without_importing_the_package() -> None:
    imported_before = "face_recognition_models" in sys.modules
    resnet = dlib_model_file(DLIB_RESNET_FILE)
    shape5 = dlib_model_file(DLIB_SHAPE5_FILE)
    assert resnet.is_file() and shape5.is_file()
    assert ("face_recognition_models" in sys.modules) == imported_before  # its __init__ needs pkg_resources
    for source in sorted(SRC.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        assert "68_face_landmarks" not in text
        assert "import pkg_resources" not in text and "from pkg_resources" not in text


def test_missing_model_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "face_recognition_models" else real(name, *a)
    )
    with pytest.raises(ModelError, match="pip install face_recognition_models"):
        dlib_model_file(DLIB_RESNET_FILE)
    with pytest.raises(ModelError):
        DlibEmbedder().embed(np.zeros((150, 150, 3), np.uint8))


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        DlibEmbedder(tmp_path / "nope.dat").embed(np.zeros((150, 150, 3), np.uint8))
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        DlibEmbedder(junk).embed(np.zeros((150, 150, 3), np.uint8))


def test_nothing_heavy_loads_at_import() -> None:
    code = (
        "import sys, livecert.identity.matching, livecert.identity.embedding; "
        "print(sorted(m for m in ('dlib', 'mediapipe', 'cv2', 'face_recognition_models') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_embedder_protocol_and_chip_check() -> None:
    emb = DlibEmbedder()
    assert isinstance(emb, Embedder)
    assert emb._net is None  # noqa: SLF001 - lazily loaded
    with pytest.raises(InputError):
        emb.embed(np.zeros((160, 160, 3), np.uint8))
    assert emb._net is None  # noqa: SLF001
    v = emb.embed(np.full((150, 150, 3), 128, np.uint8))
    assert v.shape == (128,) and v.dtype == np.float32 and np.all(np.isfinite(v))


# ----------------------------------------------------------------------------
# enrollment of real faces (skimage's astronaut)


@pytest.fixture(scope="module")
def reference(astronaut: np.ndarray, embedder: DlibEmbedder) -> Enrollment:
    return enroll(astronaut, embedder=embedder)


def test_enroll_astronaut(reference: Enrollment) -> None:
    assert reference.embedding.shape == (128,) and reference.embedding.dtype == np.float32
    assert reference.landmarks.shape == (478, 3)
    assert reference.model_id == DlibEmbedder.model_id and reference.version == ENROLLMENT_FORMAT_VERSION
    assert reference.quality.flags == 0 and reference.quality.face_width_px > 80


def test_enroll_several_photos_makes_a_template(
    astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder, tmp_path: Path
) -> None:
    import cv2

    darker = np.ascontiguousarray(cv2.convertScaleAbs(astronaut, alpha=0.8))
    e = enroll([astronaut, darker], embedder=embedder)
    assert e.template.shape == (2, 128) and e.n_photos == 2 and reference.n_photos == 1
    assert np.allclose(e.embedding, e.template.mean(axis=0), atol=1e-6)
    assert np.allclose(e.template[0], reference.embedding, atol=1e-5)
    assert e.quality == reference.quality  # the first photo's
    e.save(tmp_path / "two.npz")
    back = Enrollment.load(tmp_path / "two.npz")
    assert np.array_equal(back.template, e.template) and not back.template.flags.writeable
    assert "photos=2" in repr(back)


def test_enroll_several_photos_refusals(astronaut: np.ndarray, embedder: DlibEmbedder) -> None:
    with pytest.raises(InputError) as err:
        enroll([], embedder=embedder)
    assert err.value.code == "BAD_ARGUMENT"
    with pytest.raises(InputError) as err:
        enroll([astronaut] * 3, config=replace(MatchConfig(), enroll_max_photos=2), embedder=embedder)
    assert err.value.code == "BAD_ARGUMENT"
    # the photo at fault is named
    with pytest.raises(EnrollmentError) as bad:
        enroll([astronaut, np.full((400, 400, 3), 90, np.uint8)], embedder=embedder)
    assert bad.value.code == ReasonCode.NO_FACE and "photo 2 of 2" in str(bad.value)
    # two different people (descriptors far apart) are refused, naming the odd one out
    fake = FakeEmbedder([unit(0, 0.0), unit(0, 0.05), unit(1, 0.9)])
    with pytest.raises(InputError) as err:
        enroll([astronaut, astronaut, astronaut], embedder=fake)
    assert err.value.code == "BAD_INPUT" and "photo 3" in str(err.value)
    same = enroll([astronaut, astronaut], embedder=FakeEmbedder([unit(0, 0.0), unit(0, 0.3)]))
    assert same.embedding[0] == pytest.approx(0.15)


def test_enroll_video_of_frames(astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder) -> None:
    frames = [(astronaut, t) for t in (0.0, 0.1, 0.5, 1.0)]  # 0.1 s is too close to 0.0: one of them is kept
    e = enroll_video(frames, embedder=embedder)
    assert e.template.shape == (3, 128) and e.n_photos == 3
    assert face_distance(e.embedding, reference.embedding) < 0.05
    assert e.quality.flags == 0 and e.landmarks.shape == (478, 3)
    blank = [(np.full((240, 320, 3), 90, np.uint8), t) for t in (0.0, 0.5)]
    with pytest.raises(EnrollmentError) as err:
        enroll_video(blank, embedder=embedder)
    assert err.value.code == ReasonCode.NO_FACE and "0 of 2 frames" in str(err.value)


def _save(img: object, path: Path, **kw: object) -> Path:
    img.save(path, **kw)  # type: ignore[attr-defined]
    return path


@pytest.mark.parametrize("kind", ["png", "jpeg", "gray", "cmyk", "alpha", "exif_rotated", "huge", "palette"])
def test_enroll_image_files(
    kind: str, astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder, tmp_path: Path
) -> None:
    from PIL import Image

    im = Image.fromarray(astronaut)
    if kind == "png":
        path = _save(im, tmp_path / "a.png")
    elif kind == "jpeg":
        path = _save(im, tmp_path / "a.jpg", quality=90)
    elif kind == "gray":
        path = _save(im.convert("L"), tmp_path / "a.jpg", quality=90)
    elif kind == "cmyk":
        path = _save(im.convert("CMYK"), tmp_path / "a.jpg", quality=90)
    elif kind == "alpha":
        rgba = im.convert("RGBA")
        alpha = np.full(astronaut.shape[:2], 255, np.uint8)
        alpha[:, :40] = 0  # transparent strip: composited on white
        rgba.putalpha(Image.fromarray(alpha))
        path = _save(rgba, tmp_path / "a.png")
    elif kind == "exif_rotated":
        # pixels stored lying on their side; EXIF orientation 6 says "rotate 90 deg clockwise to view"
        exif = Image.Exif()
        exif[0x0112] = 6
        path = _save(im.transpose(Image.Transpose.ROTATE_90), tmp_path / "a.jpg", exif=exif, quality=90)
    elif kind == "huge":
        path = _save(im.resize((6000, 6000), Image.Resampling.BICUBIC), tmp_path / "a.jpg", quality=85)
    else:
        path = _save(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=256), tmp_path / "a.png")
    e = enroll(path, embedder=embedder)
    # the same face: much closer than the threshold.  Grayscale costs more: the
    # descriptor moves by 0.12-0.19 when colour is removed (measured on real photos).
    # A 256-colour dithered palette adds noise too.
    limit = {"gray": 0.25, "palette": 0.2}.get(kind, 0.1)
    assert face_distance(e.embedding, reference.embedding) < limit, kind


def test_enroll_array_variants(astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder) -> None:
    gray = np.asarray(np.mean(astronaut, axis=2), np.uint8)
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert face_distance(enroll(gray, embedder=embedder).embedding, reference.embedding) < 0.25
    assert face_distance(enroll(rgba, embedder=embedder).embedding, reference.embedding) < 1e-6
    with pytest.raises(InputError):
        enroll(astronaut.astype(np.float32), embedder=embedder)


def _canvas(img: np.ndarray, size: tuple[int, int], scale: float, at: tuple[int, int] = (0, 0)) -> np.ndarray:
    import cv2

    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = np.full((size[0], size[1], 3), 200, np.uint8)
    h, w = small.shape[:2]
    y = (size[0] - h) // 2 + at[0]
    x = (size[1] - w) // 2 + at[1]
    out[y : y + h, x : x + w] = small
    return out


def test_enroll_refusals(astronaut: np.ndarray, embedder: DlibEmbedder) -> None:
    import cv2

    def code(img: np.ndarray, cfg: MatchConfig | None = None) -> ReasonCode:
        with pytest.raises(EnrollmentError) as err:
            enroll(img, config=cfg, embedder=embedder)
        assert isinstance(err.value, InputError)
        assert err.value.code in ReasonCode.__members__.values()
        assert "enrollment photo" in str(err.value) and "登记照片" in err.value.message_in("zh")
        assert err.value.message == str(err.value) == err.value.message_in("en")
        return err.value.code

    assert code(np.full((480, 640, 3), 128, np.uint8)) == ReasonCode.NO_FACE
    skdata = pytest.importorskip("skimage.data")
    assert code(np.ascontiguousarray(skdata.coffee())) == ReasonCode.NO_FACE  # a scene without a person
    assert code(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)) == ReasonCode.MULTIPLE_FACES
    # a small face in a large picture: found by the HOG fallback, then refused for size
    assert code(_canvas(astronaut, (1024, 1024), 0.6)) == ReasonCode.FACE_TOO_SMALL
    assert code(cv2.GaussianBlur(astronaut, (0, 0), 4)) == ReasonCode.BLURRY
    assert code(astronaut // 8) == ReasonCode.TOO_DARK


def test_enroll_small_portrait_on_a_big_page(
    astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder
) -> None:
    """MediaPipe misses a face that fills little of the picture; the HOG fallback finds it."""
    from livecert.face.landmarks import FaceLandmarker, RunningMode

    page = _canvas(astronaut, (1400, 1100), 1.0, (-300, 150))
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        assert lm.process(page).points is None
    e = enroll(page, embedder=embedder)
    assert face_distance(e.embedding, reference.embedding) < 0.1
    assert e.landmarks[:, 0].min() > 150  # points are in the page's pixels


def test_enroll_turned_face(astronaut: np.ndarray, embedder: DlibEmbedder) -> None:
    """A yaw warp (image-left half of the face squeezed) reads as a turned head."""
    import cv2

    from livecert.face import geometry
    from livecert.face.landmarks import FaceLandmarker, RunningMode

    big = cv2.resize(astronaut, (768, 768), interpolation=cv2.INTER_CUBIC)  # the squeeze narrows the face
    h, w = big.shape[:2]
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        nose_x = float(lm.process(big).points[1, 0])
        xs = np.arange(w, dtype=np.float32)
        left = nose_x * 0.5
        src = np.where(xs < left, -1.0, np.where(xs < nose_x, (xs - left) / 0.5, xs)).astype(np.float32)
        warped = cv2.remap(
            big,
            np.tile(src, (h, 1)),
            np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w)),
            cv2.INTER_LINEAR,
            borderValue=(200, 200, 200),
        )
        yaw, _ = geometry.head_pose_deg(lm.process(warped).points)
    assert abs(yaw) > 10  # the warp turned the head as the mesh sees it
    strict = replace(MatchConfig(), enroll_max_yaw_deg=abs(yaw) - 3)
    with pytest.raises(EnrollmentError) as err:
        enroll(warped, config=strict, embedder=embedder)
    assert err.value.code == ReasonCode.FACE_TURNED
    # (a real 32-degree turn is refused with the default config in tests/realdata)


def test_enroll_unreadable_files(tmp_path: Path) -> None:
    garbage = tmp_path / "photo.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path in (garbage, empty, tmp_path / "missing.jpg", tmp_path):
        with pytest.raises(InputError) as err:
            enroll(path)
        assert not isinstance(err.value, EnrollmentError)


def test_match_same_face_passes(astronaut: np.ndarray, reference: Enrollment, embedder: DlibEmbedder) -> None:
    """The live frames of the enrolled face (shifted, brighter, smaller) match; arrays are not stretched."""
    from livecert.face.landmarks import FaceLandmarker, RunningMode

    frames = [
        _canvas(astronaut, (600, 700), 1.0, (0, -50)),
        np.clip(astronaut.astype(int) + 25, 0, 255).astype(np.uint8),
        _canvas(astronaut, (480, 640), 0.8),
    ]
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        cands = [(f, lm.process(f).points) for f in frames]
    assert all(p is not None for _, p in cands)
    result = match_faces(reference, cands, embedder=embedder)
    assert result.passed and result.frames_used == 3
    assert result.distance < 0.15


def test_reading_a_photo_leaves_pillows_pixel_limit_alone(astronaut: np.ndarray, tmp_path: Path) -> None:
    """Pillow's decompression-bomb limit is process-wide; the host application's value must survive."""
    from PIL import Image

    from livecert.io.images import read_image_rgb

    path = _save(Image.fromarray(astronaut), tmp_path / "a.png")
    before = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 1234567
        assert read_image_rgb(path).shape == astronaut.shape
        assert Image.MAX_IMAGE_PIXELS == 1234567
        (tmp_path / "bad.png").write_bytes(b"not a png")
        with pytest.raises(InputError):
            read_image_rgb(tmp_path / "bad.png")
        assert Image.MAX_IMAGE_PIXELS == 1234567
    finally:
        Image.MAX_IMAGE_PIXELS = before
