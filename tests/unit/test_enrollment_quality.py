"""Enrollment eye checks (closed eyes, glare on glasses) and the named match policy on the
command line and in the result.

The eye measures run on synthetic faces drawn with a hand-placed mesh; :func:`enroll`
and the command line use ``skimage.data.astronaut()`` (scikit-image is a test
dependency) and the sample clip.  Real photos and frames are in
``tests/realdata/test_enrol_quality_real.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from livecert.app import cli
from livecert.config import MATCH_POLICY_THRESHOLDS, MatchConfig, MatchPolicy, VerifyConfig
from livecert.errors import ErrorCode, InputError
from livecert.face import geometry
from livecert.face.quality import FrameQuality
from livecert.identity import enrollment as enrollment_module
from livecert.identity.embedding import DlibEmbedder
from livecert.identity.enrollment import Enrollment, EnrollmentAdvice, EnrollmentError, check_eyes, enroll
from livecert.identity.matching import match_faces
from livecert.identity.photo_quality import LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE, EyeMeasures, measure_eyes
from livecert.results import MatchResult, QualityFlag, ReasonCode
from livecert.schemas import SchemaName, load_schema

from .paths import SAMPLE

EYE_WIDTH = 40.0
RIGHT_CENTRE = (80.0, 100.0)  # the subject's right eye, on the image's left
LEFT_CENTRE = (160.0, 100.0)


# ----------------------------------------------------------------------------
# synthetic faces


def _place_eye(
    pts: np.ndarray,
    centre: tuple[float, float],
    opening: float,
    lids: np.ndarray,
    corners: tuple[int, int],
    outline: tuple[int, ...],
) -> None:
    """Put one eye's corners, lid pairs and outline on an ellipse ``opening`` eye widths high."""
    cx, cy = centre
    half_w, half_h = EYE_WIDTH / 2, opening * EYE_WIDTH / 2
    angles = np.linspace(0, 2 * np.pi, len(outline), endpoint=False)
    for i, a in zip(outline, angles):
        pts[i, :2] = (cx + half_w * math.cos(a), cy + half_h * math.sin(a))
    outer_x = cx - half_w if corners == geometry.RIGHT_EYE_CORNERS else cx + half_w
    pts[corners[0], :2] = (outer_x, cy)
    pts[corners[1], :2] = (2 * cx - outer_x, cy)
    for k, (upper, lower) in enumerate(lids):  # the lid pairs, exactly ``opening`` apart
        x = cx + (k - 2) * EYE_WIDTH / 8
        pts[upper, :2] = (x, cy - half_h)
        pts[lower, :2] = (x, cy + half_h)


def synthetic_face(opening: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """A plain skin-coloured picture (240, 240, 3) with dark eye openings, and its mesh (478, 3)."""
    import cv2

    rgb = np.full((240, 240, 3), (170, 130, 110), np.uint8)
    pts = np.zeros((478, 3), np.float32)
    pts[:, :2] = 120.0
    _place_eye(pts, RIGHT_CENTRE, opening, geometry.RIGHT_EYE_LIDS, geometry.RIGHT_EYE_CORNERS, RIGHT_EYE_OUTLINE)
    _place_eye(pts, LEFT_CENTRE, opening, geometry.LEFT_EYE_LIDS, geometry.LEFT_EYE_CORNERS, LEFT_EYE_OUTLINE)
    for centre in (RIGHT_CENTRE, LEFT_CENTRE):
        axes = (round(EYE_WIDTH / 2), max(1, round(opening * EYE_WIDTH / 2)))
        cv2.ellipse(rgb, (round(centre[0]), round(centre[1])), axes, 0, 0, 360, (60, 40, 30), -1)
    return rgb, pts


def spot(rgb: np.ndarray, x: float, y: float, colour: tuple[int, int, int] = (255, 255, 255), r: int = 3) -> None:
    import cv2

    cv2.circle(rgb, (round(x), round(y)), r, colour, -1)


def test_open_and_closed_eyes() -> None:
    rgb, pts = synthetic_face(0.3)
    assert measure_eyes(rgb, pts).aperture == pytest.approx(0.3, abs=0.01)
    rgb, pts = synthetic_face(0.03)
    assert measure_eyes(rgb, pts).aperture == pytest.approx(0.03, abs=0.01)


def test_one_eye_closed_reads_as_open() -> None:
    """The wider-open eye counts: a wink or one eye the mesh misreads does not refuse a photo."""
    _, open_pts = synthetic_face(0.3)
    rgb, pts = synthetic_face(0.03)
    right = [*geometry.RIGHT_EYE_CORNERS, *geometry.RIGHT_EYE_LIDS.ravel(), *RIGHT_EYE_OUTLINE]
    pts[right] = open_pts[right]
    assert measure_eyes(rgb, pts).aperture == pytest.approx(0.3, abs=0.01)


def test_glare_spot_on_the_lens_is_measured() -> None:
    rgb, pts = synthetic_face()
    assert measure_eyes(rgb, pts).glare == 0.0
    spot(rgb, RIGHT_CENTRE[0] + 8, RIGHT_CENTRE[1] + 0.45 * EYE_WIDTH)  # below the eye, on the lens
    glare = measure_eyes(rgb, pts).glare
    assert 0.01 < glare < 0.05  # a 7 px spot on a 40 px eye: about 37 / 1600


def test_glare_is_the_eye_with_more() -> None:
    rgb, pts = synthetic_face()
    spot(rgb, RIGHT_CENTRE[0], RIGHT_CENTRE[1] - 0.45 * EYE_WIDTH, r=2)
    spot(rgb, LEFT_CENTRE[0], LEFT_CENTRE[1] + 0.45 * EYE_WIDTH, r=4)
    one = synthetic_face()[0]
    spot(one, LEFT_CENTRE[0], LEFT_CENTRE[1] + 0.45 * EYE_WIDTH, r=4)
    assert measure_eyes(rgb, pts).glare == pytest.approx(measure_eyes(one, pts).glare)


@pytest.mark.parametrize(
    "where",
    ["catchlight", "coloured", "far", "overexposed"],
)
def test_what_is_not_glare(where: str) -> None:
    """The cornea's own catchlight, a coloured light, a spot away from the eyes and a
    uniformly overexposed area are not glare on glasses."""
    rgb, pts = synthetic_face()
    x, y = RIGHT_CENTRE
    if where == "catchlight":
        spot(rgb, x + 3, y - 2, r=2)  # inside the eye opening
    elif where == "coloured":
        spot(rgb, x + 8, y + 0.45 * EYE_WIDTH, colour=(255, 190, 40))
    elif where == "far":
        spot(rgb, x, y + 2.0 * EYE_WIDTH)  # on the cheek, outside the lens area
    else:
        rgb[:, :, :] = 250
    assert measure_eyes(rgb, pts).glare == 0.0


def test_glare_does_not_depend_on_resolution() -> None:
    import cv2

    rgb, pts = synthetic_face()
    spot(rgb, RIGHT_CENTRE[0] + 8, RIGHT_CENTRE[1] + 0.45 * EYE_WIDTH)
    big = cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    big_pts = pts * np.float32(3)
    assert measure_eyes(big, big_pts).glare == pytest.approx(measure_eyes(rgb, pts).glare, rel=0.35)


def test_eye_region_outside_the_photo() -> None:
    rgb, pts = synthetic_face()
    pts[:, 0] -= 400  # the face lies left of the picture
    assert measure_eyes(rgb, pts).glare == 0.0


# ----------------------------------------------------------------------------
# the enrollment decision


def test_check_eyes_refuses_closed_eyes_in_both_languages() -> None:
    rgb, pts = synthetic_face(0.03)
    with pytest.raises(EnrollmentError) as err:
        check_eyes(rgb, pts, MatchConfig())
    assert err.value.code == ErrorCode.EYES_CLOSED == ReasonCode.EYES_CLOSED
    assert "eyes are open" in err.value.message and "0.03" in err.value.message
    assert "睁开" in err.value.message_in("zh")
    assert check_eyes(rgb, pts, MatchConfig(enroll_min_eye_aperture=0.0)) == ()


def test_check_eyes_advises_glare() -> None:
    rgb, pts = synthetic_face()
    assert check_eyes(rgb, pts, MatchConfig()) == ()
    spot(rgb, LEFT_CENTRE[0] - 6, LEFT_CENTRE[1] + 0.45 * EYE_WIDTH)
    (advice,) = check_eyes(rgb, pts, MatchConfig())
    assert advice.code == ReasonCode.GLASSES_GLARE
    assert "glasses" in advice.message() and "反光" in advice.message("zh") and "glare 0.0" in advice.detail
    assert check_eyes(rgb, pts, MatchConfig(enroll_max_glare=1.0)) == ()


@pytest.mark.parametrize("field", ["enroll_min_eye_aperture", "enroll_max_glare"])
def test_eye_thresholds_are_checked(field: str) -> None:
    with pytest.raises(InputError) as err:
        MatchConfig(**{field: -0.1})
    assert err.value.code == ErrorCode.BAD_CONFIG


def test_enroll_open_eyes_without_glasses(astronaut: np.ndarray, embedder: DlibEmbedder) -> None:
    e = enroll(astronaut, embedder=embedder)
    assert e.advice == ()
    eyes = measure_eyes(astronaut, e.landmarks)
    assert eyes.aperture > 0.2 and eyes.glare == 0.0


def test_enroll_reports_which_photo(
    astronaut: np.ndarray, embedder: DlibEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several photos the refusal and the advice name the photo."""
    measures = iter([EyeMeasures(0.3, 0.0), EyeMeasures(0.04, 0.0)])
    monkeypatch.setattr(enrollment_module, "measure_eyes", lambda rgb, points: next(measures))
    with pytest.raises(EnrollmentError) as err:
        enroll([astronaut, astronaut], embedder=embedder)
    assert err.value.code == ReasonCode.EYES_CLOSED and "photo 2 of 2, array 2" in str(err.value)

    measures = iter([EyeMeasures(0.3, 0.0), EyeMeasures(0.3, 0.02)])
    e = enroll([astronaut, astronaut], embedder=embedder)
    assert [(a.code, a.detail.split(":")[0]) for a in e.advice] == [(ReasonCode.GLASSES_GLARE, "photo 2 of 2, array 2")]


def test_advice_is_not_saved(astronaut: np.ndarray, embedder: DlibEmbedder, tmp_path: Path) -> None:
    e = enroll(astronaut, embedder=embedder)
    advised = Enrollment(
        e.embedding, e.landmarks, e.quality, e.model_id, advice=(EnrollmentAdvice(ReasonCode.GLASSES_GLARE),)
    )
    advised.save(tmp_path / "e.npz")
    assert Enrollment.load(tmp_path / "e.npz", model_id=e.model_id).advice == ()


def test_cli_enroll_prints_advice(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    astronaut: np.ndarray,
    embedder: DlibEmbedder,
) -> None:
    e = enroll(astronaut, embedder=embedder)
    advice = (EnrollmentAdvice(ReasonCode.GLASSES_GLARE, "glare 0.0200"),)
    advised = Enrollment(e.embedding, e.landmarks, e.quality, e.model_id, advice=advice)
    monkeypatch.setattr(cli, "enroll", lambda paths: advised)
    assert cli.main(["enroll", "photo.jpg", "--out", str(tmp_path / "p.npz"), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "GLASSES_GLARE" in out and "反光" in out and "glare 0.0200" in out


# ----------------------------------------------------------------------------
# the named match policy


def test_match_result_names_its_policy() -> None:
    r = MatchResult(True, 0.3, 0.335, 3, policy=MatchPolicy.STRICT)
    assert r.to_dict() == {"passed": True, "distance": 0.3, "threshold": 0.335, "policy": "strict", "frames_used": 3}
    assert MatchResult(False, math.nan, 0.4, 0).to_dict()["policy"] is None
    match = load_schema(SchemaName.RESULT)["properties"]["match"]
    Draft202012Validator(match).validate(r.to_dict())
    Draft202012Validator(match).validate(MatchResult(False, math.nan, 0.4, 0).to_dict())


@pytest.mark.parametrize("policy", list(MatchPolicy))
def test_match_faces_records_the_policy(policy: MatchPolicy) -> None:
    class Fixed:
        model_id = "fake-v1"

        def embed(self, aligned_face: np.ndarray) -> np.ndarray:
            return np.zeros(128, np.float32)

    rgb = np.full((200, 200, 3), 128, np.uint8)
    pts = np.full((478, 3), 100.0, np.float32)
    places = {263: (130, 90), 362: (110, 90), 398: (110, 90), 33: (70, 90), 155: (90, 90), 173: (90, 90)}
    places.update({2: (100, 125), 164: (100, 130)})
    for i, xy in places.items():
        pts[i, :2] = xy
    quality = FrameQuality(120.0, 120.0, 100.0, 0.0, 0.0, QualityFlag(0))
    e = Enrollment(np.zeros(128, np.float32), pts, quality, "fake-v1")
    result = match_faces(e, [(rgb, pts)], MatchConfig.for_policy(policy), embedder=Fixed())
    assert result.policy is policy and result.threshold == MATCH_POLICY_THRESHOLDS[policy]
    custom = match_faces(e, [(rgb, pts)], MatchConfig(threshold=0.3), embedder=Fixed())
    assert custom.policy is None


def test_cli_verify_policy_needs_an_enrollment(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["verify", "clip.mp4", "--policy", "strict", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "BAD_ARGUMENT" and "--enrolled" in error["message"]
    assert cli.main(["verify", "clip.mp4", "--policy", "lax", "--json"]) == 2


def test_cli_verify_help_states_the_rates(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for policy in MatchPolicy:
        assert f"{policy.value} " in text and str(policy.threshold) in text
    assert "of 46" in text and "of 3,193" in text


def test_cli_verify_with_policy_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], astronaut: np.ndarray
) -> None:
    """The sample clip against the astronaut's photo at the strict point: the JSON names the
    policy and its threshold, and follows the result schema."""
    from PIL import Image

    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(photo)
    cli.main(["verify", str(SAMPLE), "--enrolled", str(photo), "--policy", "strict", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["match"]["policy"] == "strict" and data["match"]["threshold"] == MatchPolicy.STRICT.threshold
    Draft202012Validator(load_schema(SchemaName.RESULT)).validate(data)


def test_verify_config_policy_default() -> None:
    assert VerifyConfig().match.policy is MatchPolicy.DEFAULT
