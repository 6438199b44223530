"""Presentation-attack cues: is this a live face, or a photo, a screen or a render?

Each cue follows from physics, not from one attack tool's traces:

- **planar motion**: a photo or a screen moves as one plane, so its landmarks
  obey one homography from frame to frame; a head that turns shows depth
  parallax (the nose moves against the cheeks).
- **background lock**: a held photo or screen carries its own background with
  it; a real head moves relative to the room.  Only with a fixed camera: a
  phone shaking in the hand moves a live face and the room together.
- **stillness**: a living head is never perfectly still (breathing, postural
  sway); a photo or a render on a stand is, but for its eyelids and lips.
  Measured on the pixels (sub-pixel registration of the face, eyes and mouth
  masked), which landmark jitter does not blur.
- **lid motion**: in a real blink the upper lid does most of the travel and
  the lower lid stays; squeezing the eye region of a picture moves both.
- **blink shape**: a blink moves the lids, not the skull: the outline of the
  rigid landmarks keeps its shape; a photo tilted away or squashed so that
  its eyes look shut flattens the whole face.
- **tone**: screens and prints compress the contrast of a face and clip its
  highlights.
- **held picture** (:mod:`livecert.liveness.surround`): what lies beside the
  face on a held photo or phone moves with the face, not with the room.

:class:`SpoofRecorder` keeps a few numbers per frame (cheap: a subset of
landmarks, the face's image shift, background patch shifts, and every few
frames the face's tone);
:func:`assess` scores the clip.  A cue with too little evidence (the head
did not turn, no textured background, no blink, a short clip) is
*undecided*: it neither passes nor fails the clip.  The clip is rejected
when any decided cue scores below its threshold (:class:`~livecert.config.SpoofConfig`).
With every cue undecided the blink or read-digits check decides alone.
"""

from __future__ import annotations

import math

import numpy as np

from livecert.arrays import BoolArray, FloatArray, Image, IntArray
from livecert.config import SpoofConfig
from livecert.liveness.surround import SurroundRecorder, held_picture
from livecert.results import BlinkEvent, Cue, CueScore, SpoofEvidence

#: Mesh landmarks that move rigidly with the skull: nose, bridge, forehead,
#: temples, cheek outline, eye corners (no jaw, lips, brows or lids).
RIGID_POINTS = np.array(
    [1, 4, 5, 6, 195, 197, 168, 9, 10, 151, 109, 338, 67, 297, 21, 251, 54, 284, 103, 332, 127, 356, 234, 454]
    + [93, 323, 132, 361, 33, 133, 263, 362, 98, 327, 50, 280, 116, 345, 123, 352, 2, 94]
)
#: Eye landmarks kept: (corner, corner, upper lid middle, lower lid middle) per eye.
EYES = ((33, 133, 159, 145), (263, 362, 386, 374))
_KEPT = np.concatenate([RIGID_POINTS, np.array([i for eye in EYES for i in eye])])
_ROW = {int(k): i for i, k in enumerate(_KEPT)}
_N_RIGID = RIGID_POINTS.shape[0]

#: Background patches (x0, y0, x1, y1) as fractions of the frame, used when clear of the face.
_BACKGROUND_PATCHES = (
    (0.0, 0.0, 0.22, 0.3),
    (0.78, 0.0, 1.0, 0.3),
    (0.0, 0.3, 0.18, 0.65),
    (0.82, 0.3, 1.0, 0.65),
    (0.35, 0.0, 0.65, 0.12),
)
_PATCH_PX = 32
_TONE_EVERY = 5
#: Face registration: side of the downsampled face crop, the crop's size relative to the
#: landmarks' box, how often the reference crop is renewed, how far (fraction of the crop)
#: the face may move before it is, and the lowest phase-correlation peak accepted.
_SHIFT_PX = 96
_SHIFT_BOX = 0.8
_SHIFT_REFRESH_S = 2.0
_SHIFT_FAR = 0.1
_SHIFT_MIN_RESPONSE = 0.05
#: The shift is measured on every second frame with a face (the sway is smoothed over
#: ``SpoofConfig.sway_window_s`` anyway): half the cost.
_SHIFT_EVERY = 2
#: Eye boxes (half width, half height in eye widths) masked out of the registration.
_EYE_MASK = (0.85, 0.6)
_NOSE_LIP = 164  # the point between nose and upper lip: the mask's mouth region starts here


class SpoofRecorder:
    """Per-frame measurements for :func:`assess`, recorded by the session.

    Call :meth:`observe` once per frame, in time order.

    Parameters
    ----------
    background : bool
        Measure the background patches' motion (only worth its cost with a
        fixed camera, :attr:`SpoofConfig.fixed_camera`).
    """

    def __init__(self, *, background: bool = True) -> None:
        self._measure_background = background
        self._t: list[float] = []
        self._points: list[FloatArray] = []
        self._background: list[FloatArray] = []  # per frame, (len(patches), 2) shifts, nan unmeasured
        self._tone: list[tuple[float, float]] = []  # (contrast, clipped fraction) on sampled frames
        self._frame_size = (0, 0)
        self._previous_patches: dict[int, FloatArray] = {}
        self._faces = 0
        self._shift = _FaceShift()
        self._surround = SurroundRecorder()

    def __len__(self) -> int:
        return len(self._t)

    def observe(self, rgb: Image, points: FloatArray | None, t_s: float) -> None:
        """Record one frame.

        Parameters
        ----------
        rgb : ndarray of uint8, shape (H, W, 3)
        points : ndarray, shape (478, 3), or None
            The face mesh in pixels (``None`` without a face).
        t_s : float
        """
        self._t.append(t_s)
        self._frame_size = (rgb.shape[1], rgb.shape[0])
        shifts = np.full((len(_BACKGROUND_PATCHES), 2), np.nan)
        self._shift.observe(rgb, points, t_s)
        self._surround.observe(rgb, points, t_s)
        if points is None:
            self._points.append(np.full((_KEPT.shape[0], 3), np.nan))
            self._background.append(shifts)
            self._previous_patches = {}
            return
        self._points.append(np.asarray(points[_KEPT], dtype=np.float64))
        self._background.append(self._background_shifts(rgb, points, shifts) if self._measure_background else shifts)
        if self._faces % _TONE_EVERY == 0:
            tone = _face_tone(rgb, points)
            if tone is not None:
                self._tone.append(tone)
        self._faces += 1

    def _background_shifts(self, rgb: Image, points: FloatArray, shifts: FloatArray) -> FloatArray:
        """Phase-correlation shift of each textured patch clear of the face since the last frame."""
        import cv2

        h, w = rgb.shape[:2]
        fw = float(np.ptp(points[:, 0]))
        fx0, fx1 = points[:, 0].min() - 0.45 * fw, points[:, 0].max() + 0.45 * fw
        fy0 = points[:, 1].min() - 0.45 * fw
        patches: dict[int, FloatArray] = {}
        for k, (a, b, c, d) in enumerate(_BACKGROUND_PATCHES):
            x0, y0, x1, y1 = int(a * w), int(b * h), int(c * w), int(d * h)
            if (x1 > fx0 and x0 < fx1 and y1 > fy0) or x1 - x0 < 8 or y1 - y0 < 8:
                continue  # the face, or the body below it
            gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
            small = cv2.resize(gray, (_PATCH_PX, _PATCH_PX), interpolation=cv2.INTER_AREA).astype(np.float32)
            patches[k] = small
            previous = self._previous_patches.get(k)
            if previous is not None and float(small.std()) > 4.0:
                (dx, dy), response = cv2.phaseCorrelate(previous, small)
                if response > 0.1:
                    shifts[k] = (dx * (x1 - x0) / _PATCH_PX, dy * (y1 - y0) / _PATCH_PX)
        self._previous_patches = patches
        return shifts

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Times (N,), kept landmarks (N, K, 3) and background shifts (N, P, 2)."""
        if not self._t:
            return np.zeros(0), np.zeros((0, _KEPT.shape[0], 3)), np.zeros((0, len(_BACKGROUND_PATCHES), 2))
        return np.array(self._t), np.stack(self._points), np.stack(self._background)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return self._frame_size

    @property
    def tone(self) -> FloatArray:
        """(contrast, clipped fraction) of the sampled face frames, shape (M, 2)."""
        return np.array(self._tone).reshape(-1, 2)

    @property
    def face_shift(self) -> FloatArray:
        """Per frame: the face's image shift (x, y, pixels, chained from the first frame of
        its segment) and the segment (a run of frames whose shifts are comparable), shape
        (N, 3); all ``nan`` where unmeasured, the shift alone on the frames skipped between
        measurements (every ``_SHIFT_EVERY``-th face frame is measured)."""
        return self._shift.array()

    @property
    def surround(self) -> FloatArray:
        """The held-picture cue's frame pairs, :meth:`SurroundRecorder.pairs`."""
        return self._surround.pairs()


class _FaceShift:
    """The face's image shift frame by frame, by phase correlation of a fixed box.

    The reference is a grey crop of the face's box (``_SHIFT_BOX`` of the
    landmarks' box, inside the face so the static background does not hold
    it), downsampled to ``_SHIFT_PX``, with the eyes and the mouth region
    masked (a lid or lip that moves, real or warped, is not the head
    moving) under a Hanning window.  Each frame's same box is correlated
    with it; the reference is renewed every ``_SHIFT_REFRESH_S`` or when the
    face has moved far, chaining the offsets.  Without a face or a
    correlation peak the chain breaks and a new segment starts.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[float, float, float]] = []
        self._reference: FloatArray | None = None
        self._window: FloatArray = np.zeros((0, 0), np.float32)
        self._box = (0, 0, 0, 0)
        self._reference_t = 0.0
        self._offset = np.zeros(2)
        self._segment = -1
        self._faces = 0

    def array(self) -> FloatArray:
        return np.array(self._rows, dtype=np.float64).reshape(-1, 3)

    def observe(self, rgb: Image, points: FloatArray | None, t_s: float) -> None:
        if points is None or not np.all(np.isfinite(points[:, :2])):
            self._rows.append((math.nan, math.nan, math.nan))
            self._reference = None
            return
        self._faces += 1
        if self._reference is not None and self._faces % _SHIFT_EVERY:
            self._rows.append((math.nan, math.nan, float(self._segment)))  # skipped, not lost
            return
        h, w = rgb.shape[:2]
        shift = None
        if self._reference is not None:
            crop = _grey_crop(rgb, self._box)
            shift = self._correlate(crop)
        box = _face_box(points, w, h)
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:
            self._rows.append((math.nan, math.nan, math.nan))
            self._reference = None
            return
        if shift is None:
            self._segment += 1
            self._offset = np.zeros(2)
            self._renew(rgb, points, box, t_s)
            self._rows.append((0.0, 0.0, float(self._segment)))
            return
        self._rows.append((float(shift[0]), float(shift[1]), float(self._segment)))
        moved = math.hypot(box[0] - self._box[0], box[1] - self._box[1]) > _SHIFT_FAR * (self._box[2] - self._box[0])
        if moved or t_s - self._reference_t >= _SHIFT_REFRESH_S:
            self._offset = shift
            self._renew(rgb, points, box, t_s)

    def _correlate(self, crop: FloatArray) -> FloatArray | None:
        """The chained shift of ``crop`` against the reference in frame pixels, or None."""
        import cv2

        assert self._reference is not None
        (dx, dy), response = cv2.phaseCorrelate(self._reference, _weighted(crop, self._window))
        if not response >= _SHIFT_MIN_RESPONSE:
            return None
        x0, y0, x1, y1 = self._box
        return np.asarray(self._offset + [dx * (x1 - x0) / _SHIFT_PX, dy * (y1 - y0) / _SHIFT_PX], np.float64)

    def _renew(self, rgb: Image, points: FloatArray, box: tuple[int, int, int, int], t_s: float) -> None:
        self._box = box
        self._window = _shift_window(points, box)
        self._reference = _weighted(_grey_crop(rgb, box), self._window)
        self._reference_t = t_s


def _face_box(points: FloatArray, w: int, h: int) -> tuple[int, int, int, int]:
    """``_SHIFT_BOX`` of the landmarks' box about its centre, clipped to the frame."""
    x0, x1 = float(points[:, 0].min()), float(points[:, 0].max())
    y0, y1 = float(points[:, 1].min()), float(points[:, 1].max())
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) * _SHIFT_BOX / 2, (y1 - y0) * _SHIFT_BOX / 2
    return max(0, int(cx - hw)), max(0, int(cy - hh)), min(w, int(cx + hw)), min(h, int(cy + hh))


def _grey_crop(rgb: Image, box: tuple[int, int, int, int]) -> FloatArray:
    """The box of the frame in grey, resampled to ``_SHIFT_PX`` square (halved by
    ``pyrDown`` first while at least twice that: an area resize of a large crop costs
    about 0.3 ms a frame)."""
    import cv2

    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    while min(grey.shape) >= 2 * _SHIFT_PX:
        grey = cv2.pyrDown(grey)
    return np.asarray(cv2.resize(grey, (_SHIFT_PX, _SHIFT_PX), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _weighted(crop: FloatArray, window: FloatArray) -> FloatArray:
    """The crop less its weighted mean, times the window."""
    mean = float((crop * window).sum() / max(float(window.sum()), 1e-6))
    return np.asarray((crop - mean) * window, dtype=np.float32)


def _shift_window(points: FloatArray, box: tuple[int, int, int, int]) -> FloatArray:
    """A Hanning window with the eyes and everything below the nose masked out."""
    import cv2

    x0, y0, x1, y1 = box
    sx, sy = _SHIFT_PX / (x1 - x0), _SHIFT_PX / (y1 - y0)
    mask = np.ones((_SHIFT_PX, _SHIFT_PX), np.float32)
    for c0, c1, _, _ in EYES:
        centre = (points[c0, :2] + points[c1, :2]) / 2
        eye = float(np.linalg.norm(points[c0, :2] - points[c1, :2]))
        ax, ay = _EYE_MASK[0] * eye, _EYE_MASK[1] * eye
        xa, xb = int((centre[0] - ax - x0) * sx), math.ceil((centre[0] + ax - x0) * sx)
        ya, yb = int((centre[1] - ay - y0) * sy), math.ceil((centre[1] + ay - y0) * sy)
        mask[max(0, ya) : max(0, yb), max(0, xa) : max(0, xb)] = 0
    mask[max(0, int((points[_NOSE_LIP, 1] - y0) * sy)) :, :] = 0
    window = cv2.createHanningWindow((_SHIFT_PX, _SHIFT_PX), cv2.CV_32F)
    return np.asarray(mask * window, dtype=np.float32)


def _face_tone(rgb: Image, points: FloatArray) -> tuple[float, float] | None:
    """Face contrast ``(p95 - p5) / p50`` of luma and the fraction clipped white."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0 = int(max(0, points[:, 0].min())), int(max(0, points[:, 1].min()))
    x1, y1 = int(min(w, points[:, 0].max())), int(min(h, points[:, 1].max()))
    if x1 - x0 <= 8 or y1 - y0 <= 8:
        return None
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1:3, x0:x1:3]), cv2.COLOR_RGB2GRAY)
    p5, p50, p95 = np.percentile(gray, (5, 50, 95))
    return float((p95 - p5) / max(float(p50), 1.0)), float(np.mean(gray >= 250))


# ----------------------------------------------------------------------------- clip level


def assess(recorder: SpoofRecorder, blinks: tuple[BlinkEvent, ...], config: SpoofConfig) -> SpoofEvidence:
    """Score every cue on a clip and fuse them.

    Parameters
    ----------
    recorder : SpoofRecorder
        What the session recorded.
    blinks : tuple of BlinkEvent
        The blinks the blink detector found (for the lid cue).
    config : SpoofConfig

    Returns
    -------
    SpoofEvidence
        ``passed`` unless a decided cue scores below its threshold.
    """
    t, points, background = recorder.arrays()
    cues = (
        planar_motion(points, config),
        background_lock(points, background, recorder.frame_size, config),
        stillness(t, points, blinks, config, recorder.face_shift),
        lid_motion(t, points, blinks, config),
        blink_shape(t, points, blinks, config),
        tone(recorder.tone, config),
        held_picture(recorder.surround, config),
    )
    relative = [c.score / c.threshold for c in cues if c.score is not None and c.threshold > 0]
    fused = min(relative) if relative else None
    return SpoofEvidence(cues=cues, fused=fused, passed=not any(c.rejects for c in cues))


def _rigid(points: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Rigid landmarks (N, R, 3) and the mask of frames with a face (N,)."""
    rigid = points[:, :_N_RIGID]
    return rigid, np.all(np.isfinite(rigid[:, :, 0]), axis=1)


def _out_of_plane_turns(sets: FloatArray, first: IntArray, second: IntArray) -> FloatArray:
    """Out-of-plane rotation (radians) from ``sets[first[p]]`` to ``sets[second[p]]`` for every
    pair ``p`` (Kabsch, all pairs in one batched SVD).

    Parameters
    ----------
    sets : ndarray of float, shape (S, K, 3)
        3-D point sets.
    first, second : ndarray of int, shape (P,)
        Indices into ``sets``.

    Returns
    -------
    ndarray of float, shape (P,)
        In the dtype of ``sets``.
    """
    c = sets - sets.mean(axis=1, keepdims=True)
    c = c / (np.sqrt((c**2).sum(axis=(1, 2)) / sets.shape[1])[:, None, None] + 1e-9)
    u, _, vt = np.linalg.svd(np.einsum("pki,pkj->pij", c[first], c[second]))
    d = np.sign(np.linalg.det(u @ vt))
    # r = (u diag(1, 1, d) vt)^T; its [2, 2] entry is the cosine of the turn out of the image plane.
    r22 = u[:, 2, 0] * vt[:, 0, 2] + u[:, 2, 1] * vt[:, 1, 2] + d * u[:, 2, 2] * vt[:, 2, 2]
    turns: FloatArray = np.arccos(np.clip(r22, -1.0, 1.0))
    return turns


def _depth_parallax(a: FloatArray, b: FloatArray) -> float:
    """The part of the homography residual between two frames that follows landmark depth,
    as a fraction of the face width; ``nan`` when no homography fits.  ``a, b``: (K, 3)."""
    import cv2

    width = float(np.ptp(a[:, 0])) + 1e-6
    hmat, _ = cv2.findHomography(a[:, :2], b[:, :2], 0)
    if hmat is None:
        return math.nan
    projected = cv2.perspectiveTransform(a[None, :, :2], hmat)[0]
    residual = b[:, :2] - projected
    z = a[:, 2] - a[:, 2].mean()
    along_depth = (z @ residual) / max(float(z @ z), 1e-9)
    return float(np.linalg.norm(along_depth) * z.std() / width)


def planar_motion(points: FloatArray, config: SpoofConfig) -> CueScore:
    """Does the face show the depth parallax of a head when it turns?

    For pairs of frames (about 24 sampled) between which the 3-D mesh turned
    out of the image plane by at least ``config.min_turn_deg``, the part of the
    rigid landmarks' homography residual that follows their depth is divided
    by what a rigid head shows for that turn (angle x depth spread).  Score:
    the median ratio, clipped to [0, 1].  Undecided with fewer than 3 pairs.
    """
    rigid, ok = _rigid(points)
    frames = np.flatnonzero(ok)
    threshold = config.planar_motion_threshold
    if frames.size < 10:
        return CueScore(Cue.PLANAR_MOTION, None, threshold, "too few frames with a face")
    sample = frames[:: max(1, frames.size // 24)]
    first, second = np.triu_indices(sample.size, k=1)
    pair_turns = _out_of_plane_turns(rigid[sample], first, second)
    ratios, turns = [], []
    for i, j, turn in zip(sample[first], sample[second], pair_turns.tolist()):
        if math.degrees(turn) < config.min_turn_deg:
            continue
        observed = _depth_parallax(rigid[i], rigid[j])
        z = rigid[i, :, 2] - rigid[i, :, 2].mean()
        expected = turn * float(z.std()) / (float(np.ptp(rigid[i, :, 0])) + 1e-6)
        if math.isfinite(observed) and expected > 0:
            ratios.append(observed / expected)
            turns.append(turn)
    if len(ratios) < 3:
        return CueScore(
            Cue.PLANAR_MOTION, None, threshold, f"the head turned less than {config.min_turn_deg:.0f} degrees"
        )
    ratio = float(np.median(ratios))
    turn = math.degrees(max(turns))
    detail = f"parallax {ratio:.2f} of a head's over {len(ratios)} frame pairs, turns up to {turn:.0f} deg"
    return CueScore(Cue.PLANAR_MOTION, float(np.clip(ratio, 0.0, 1.0)), threshold, detail)


def _background_motion_at(background: FloatArray, frame_size: tuple[int, int], xy: FloatArray) -> FloatArray:
    """Per-frame background motion predicted at points ``xy`` (N, 2): the patch shifts fitted
    with a similarity motion (translation with one patch); ``nan`` where none was measured."""
    w, h = frame_size
    centres = np.array([((a + c) / 2 * w - w / 2, (b + d) / 2 * h - h / 2) for a, b, c, d in _BACKGROUND_PATCHES])
    out = np.full((background.shape[0], 2), np.nan)
    for i in range(background.shape[0]):
        seen = np.isfinite(background[i, :, 0])
        if not seen.any():
            continue
        if seen.sum() < 2:
            out[i] = background[i, seen][0]
            continue
        x, y = centres[seen, 0], centres[seen, 1]
        one, zero = np.ones_like(x), np.zeros_like(x)
        design = np.concatenate([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])
        rhs = np.concatenate([background[i, seen, 0], background[i, seen, 1]])
        p, *_ = np.linalg.lstsq(design, rhs, rcond=None)
        px, py = xy[i, 0] - w / 2, xy[i, 1] - h / 2
        out[i] = (p[0] * px - p[1] * py + p[2], p[1] * px + p[0] * py + p[3])
    return out


def background_lock(
    points: FloatArray, background: FloatArray, frame_size: tuple[int, int], config: SpoofConfig
) -> CueScore:
    """Does the face move relative to the background?

    The face's path (centroid of the rigid landmarks) is compared with the
    motion the background predicts at the face.  Score: the face's motion
    relative to the background over its motion in the frame, clipped to
    [0, 1].  Undecided when the face moved less than
    ``config.min_face_motion`` face widths or the background was measurable
    in fewer than 60 % of the face frames, and always without
    ``config.fixed_camera`` (the recorder then does not measure it).
    """
    rigid, has_face = _rigid(points)
    threshold = config.background_lock_threshold
    if not config.fixed_camera:
        return CueScore(Cue.BACKGROUND_LOCK, None, threshold, "only with a fixed camera (SpoofConfig.fixed_camera)")
    centre = rigid[:, :, :2].mean(axis=1)
    previous = np.vstack([centre[:1], centre[:-1]])
    moved = _background_motion_at(background, frame_size, previous)
    measured = has_face & np.isfinite(moved[:, 0])
    if np.count_nonzero(measured) < max(10.0, 0.6 * np.count_nonzero(has_face)):
        return CueScore(Cue.BACKGROUND_LOCK, None, threshold, "no textured background clear of the face")
    width = float(np.nanmedian(np.ptp(rigid[:, :, 0], axis=1)))
    frames = np.flatnonzero(has_face)
    steps = frames[1:][np.diff(frames) == 1]
    steps = steps[np.isfinite(moved[steps, 0])]
    face_step = centre[steps] - centre[steps - 1]
    face_path = np.cumsum(face_step, axis=0)
    relative_path = np.cumsum(face_step - moved[steps], axis=0)
    face_motion = _rms_spread(face_path) / width
    if face_motion < config.min_face_motion:
        return CueScore(
            Cue.BACKGROUND_LOCK, None, threshold, f"the face moved {face_motion:.3f} face widths, too little to tell"
        )
    relative = _rms_spread(relative_path) / width
    ratio = relative / face_motion
    detail = f"the face moved {face_motion:.3f} face widths, {relative:.3f} against the background"
    return CueScore(Cue.BACKGROUND_LOCK, float(np.clip(ratio, 0.0, 1.0)), threshold, detail)


def _rms_spread(path: FloatArray) -> float:
    """RMS distance of the points of a path (M, 2) from their mean."""
    if path.shape[0] == 0:
        return 0.0
    return float(np.sqrt(((path - path.mean(axis=0)) ** 2).sum(axis=1).mean()))


def stillness(
    t: FloatArray,
    points: FloatArray,
    blinks: tuple[BlinkEvent, ...],
    config: SpoofConfig,
    face_shift: FloatArray | None = None,
) -> CueScore:
    """Does the head sway, or is it still but for its lids and lips?

    Frames near blinks are left out (a lid that moves, real or warped,
    drags the mesh a little).  The head's path is the face's image shift
    (``face_shift``, from :attr:`SpoofRecorder.face_shift`: eyes and mouth
    masked) when it was measured on at least 80 % of the remaining frames,
    else the rigid landmarks' centroid.  It is smoothed over
    ``config.sway_window_s`` (jitter averages out, the slow sway of a living
    head remains) and its RMS spread about its mean, within each unbroken
    stretch, over the face width, is divided by twice the threshold,
    ``config.min_face_shift`` for the pixels or ``config.min_head_motion``
    for the landmarks (score 0.5 at it, 1 at twice it).  A photo or a
    render on a stand does not sway.  Undecided with less than
    ``config.min_still_s`` seconds of face away from blinks.
    """
    rigid, has_face = _rigid(points)
    threshold = 0.5
    calm = has_face.copy()
    for b in blinks:
        calm &= ~((t > b.start_s - 0.25) & (t < b.end_s + 0.25))
    if np.count_nonzero(calm) < 10 or float(np.ptp(t[calm])) < config.min_still_s:
        return CueScore(Cue.STILLNESS, None, threshold, f"less than {config.min_still_s:.0f} s of face between blinks")
    width = max(float(np.median(np.ptp(rigid[calm, :, 0], axis=1))), 1e-6)
    motion = _image_sway(t, calm, face_shift, config.sway_window_s) / width
    limit, what = config.min_face_shift, "face image"
    if not math.isfinite(motion):
        centre = rigid[calm, :, :2].mean(axis=1)
        spread = _smoothed_spread(t[calm], centre, np.zeros(centre.shape[0]), config.sway_window_s)
        motion, limit, what = spread / width, config.min_head_motion, "landmarks"
    score = float(np.clip(motion / (2 * limit), 0.0, 1.0))
    return CueScore(Cue.STILLNESS, score, threshold, f"the head swayed {motion * 100:.2f}% of the face width ({what})")


def _image_sway(t: FloatArray, calm: BoolArray, face_shift: FloatArray | None, window_s: float) -> float:
    """Smoothed spread of the face's image shift over the ``calm`` frames, in pixels; ``nan``
    unless the shift was tracked on at least 80 % of them."""
    if face_shift is None or face_shift.shape[0] != t.shape[0]:
        return math.nan
    if np.count_nonzero(calm & np.isfinite(face_shift[:, 2])) < 0.8 * np.count_nonzero(calm):
        return math.nan
    measured = calm & np.isfinite(face_shift[:, 0])  # the frames skipped between measurements left out
    return _smoothed_spread(t[measured], face_shift[measured, :2], face_shift[measured, 2], window_s)


def _smoothed_spread(times: FloatArray, path: FloatArray, segments: FloatArray, window_s: float) -> float:
    """RMS spread of the path (M, 2) moving-averaged over ``window_s``, about each segment's mean
    (segments of fewer than 5 frames left out; ``nan`` with fewer than 10 frames in all)."""
    squares, count = 0.0, 0
    half = window_s / 2
    for segment in np.unique(segments):
        keep = segments == segment
        if np.count_nonzero(keep) < 5:
            continue
        ts, ps = times[keep], path[keep]
        lo = np.searchsorted(ts, ts - half, side="left")
        hi = np.searchsorted(ts, ts + half, side="right")
        sums = np.vstack([np.zeros((1, 2)), np.cumsum(ps, axis=0)])
        smooth = (sums[hi] - sums[lo]) / (hi - lo)[:, None]
        squares += float(((smooth - smooth.mean(axis=0)) ** 2).sum())
        count += smooth.shape[0]
    return math.sqrt(squares / count) if count >= 10 else math.nan


def _lid_gap(points: FloatArray) -> FloatArray:
    """Mean lid gap over eye width of both eyes, shape (N,)."""
    gaps = []
    for c0, c1, up, lo in EYES:
        width = np.linalg.norm(points[:, _ROW[c0], :2] - points[:, _ROW[c1], :2], axis=1)
        gap = np.linalg.norm(points[:, _ROW[up], :2] - points[:, _ROW[lo], :2], axis=1)
        gaps.append(gap / np.maximum(width, 1e-6))
    return np.asarray(np.mean(gaps, axis=0), dtype=np.float64)


def lid_motion(t: FloatArray, points: FloatArray, blinks: tuple[BlinkEvent, ...], config: SpoofConfig) -> CueScore:
    """In each blink, how much of the closing is done by the upper lid?

    At the most closed frame of each blink, the upper and lower lid middles'
    displacements perpendicular to the eye-corner line (from their open-eye
    medians, over eye width) give the upper lid's share.  A real upper lid
    does 80-90 %; squeezing a picture's eye region moves both lids equally
    (50 %).  Score: the median share mapped from 0.5 (0) to 0.75 (1).
    Undecided with fewer than 2 lid closings (eyes x blinks) that close by
    at least 5 % of the eye width: one shallow closing in a poor picture is
    too little to go on.
    """
    threshold = config.lid_motion_threshold
    if not blinks:
        return CueScore(Cue.LID_MOTION, None, threshold, "no blink")
    gap = _lid_gap(points)
    inside = [np.flatnonzero((t > b.start_s) & (t < b.end_s)) for b in blinks]
    away = np.ones(t.shape[0], dtype=bool)
    for b in blinks:
        away &= ~((t > b.start_s - 0.25) & (t < b.end_s + 0.25))
    shares = []
    for c0, c1, up, lo in EYES:
        a, b_ = points[:, _ROW[c0], :2], points[:, _ROW[c1], :2]
        axis = (b_ - a) / np.maximum(np.linalg.norm(b_ - a, axis=1, keepdims=True), 1e-6)
        normal = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
        middle = (a + b_) / 2
        width = np.linalg.norm(b_ - a, axis=1)
        upper = ((points[:, _ROW[up], :2] - middle) * normal).sum(axis=1) / width
        lower = ((points[:, _ROW[lo], :2] - middle) * normal).sum(axis=1) / width
        if not np.any(away & np.isfinite(upper)):
            continue
        upper0, lower0 = np.nanmedian(upper[away]), np.nanmedian(lower[away])
        for frames in inside:
            frames = frames[np.isfinite(gap[frames])]
            if frames.size == 0:
                continue
            k = frames[np.argmin(gap[frames])]
            du, dl = abs(upper[k] - upper0), abs(lower[k] - lower0)
            if du + dl > 0.05:
                shares.append(du / (du + dl))
    if len(shares) < 2:
        return CueScore(Cue.LID_MOTION, None, threshold, "fewer than 2 lid closings far enough to measure")
    share = float(np.median(shares))
    detail = f"the upper lid did {share * 100:.0f}% of the closing ({len(shares)} lid closings)"
    return CueScore(Cue.LID_MOTION, float(np.clip((share - 0.5) / 0.25, 0.0, 1.0)), threshold, detail)


def blink_shape(t: FloatArray, points: FloatArray, blinks: tuple[BlinkEvent, ...], config: SpoofConfig) -> CueScore:
    """Does the face keep its shape through each blink?

    The aspect (height over width) of the rigid landmarks' outline during
    each blink is compared with its median away from blinks; the largest
    relative change over the blinks, ``d``, gives the score ``1 - d / (2 *
    config.max_blink_shape_change)`` (0.5 at that change).  Undecided
    without a blink.
    """
    threshold = 0.5
    rigid, has_face = _rigid(points)
    if not blinks or np.count_nonzero(has_face) < 10:
        return CueScore(Cue.BLINK_SHAPE, None, threshold, "no blink")
    aspect = np.ptp(rigid[:, :, 1], axis=1) / np.maximum(np.ptp(rigid[:, :, 0], axis=1), 1e-6)
    away = has_face.copy()
    for b in blinks:
        away &= ~((t > b.start_s - 0.25) & (t < b.end_s + 0.25))
    if np.count_nonzero(away) < 5:
        return CueScore(Cue.BLINK_SHAPE, None, threshold, "no open-eye frames away from the blinks")
    base = float(np.median(aspect[away]))
    changes = []
    for b in blinks:
        inside = has_face & (t >= b.start_s) & (t <= b.end_s)
        if inside.any():
            changes.append(float(np.max(np.abs(aspect[inside] / base - 1.0))))
    if not changes:
        return CueScore(Cue.BLINK_SHAPE, None, threshold, "no face during the blinks")
    change = max(changes)
    score = float(np.clip(1.0 - change / (2 * config.max_blink_shape_change), 0.0, 1.0))
    return CueScore(Cue.BLINK_SHAPE, score, threshold, f"the face's outline changed {change * 100:.0f}% in a blink")


def tone(samples: FloatArray, config: SpoofConfig) -> CueScore:
    """Screen or print tone: low face contrast or highlights clipped white.

    Score: the lower of the median contrast ``(p95 - p5) / p50`` mapped from
    0.25 (0) to 0.5 (1) and the median clipped fraction mapped from 10 % (0)
    to 5 % (1).  Undecided with fewer than 3 sampled frames.
    """
    threshold = config.tone_threshold
    if samples.shape[0] < 3:
        return CueScore(Cue.TONE, None, threshold, "too few face frames")
    contrast, clipped = float(np.median(samples[:, 0])), float(np.median(samples[:, 1]))
    score = min(float(np.clip((contrast - 0.25) / 0.25, 0, 1)), float(np.clip((0.10 - clipped) / 0.05, 0, 1)))
    return CueScore(Cue.TONE, score, threshold, f"face contrast {contrast:.2f}, {clipped * 100:.1f}% clipped white")
