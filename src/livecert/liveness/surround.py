"""The held-picture cue: does the face carry its surroundings with it?

A photo, a print or a phone held up to the camera is one rigid plane: what
lies beside the face on it (the photo's own background, the paper's or the
screen's edge, the fingers holding it) moves exactly as the face does, while
the room around it does not.  Beside a living head is the room itself, which
keeps still (or moves with the camera) while the head sways.

Every ``PAIR_EVERY_S`` seconds, corner points are tracked (pyramidal
Lucas-Kanade, checked forwards and backwards) from one frame to the frame
``PAIR_S`` later, on a copy of the frame scaled so that the face is
``FACE_PX`` wide.  The face's motion between the two frames is the
similarity fitted to the mesh's rigid landmarks; the room is the points
farther than ``ROOM_GAP`` face widths from the face.  Points *beside* the
face (``RING`` face widths left or right of it, between the eyes and the
chin: clear of ears and of most hair, above the shoulders) are counted as
following the face or the room when their motion is three times closer to
one than to the other.

Not everything beyond the face is the room: someone may move behind the
person (a relative standing behind the chair), and a held print may reach
past ``ROOM_GAP``.  Room points are therefore picked evenly over the room's
area (one per square of ``ROOM_CELL`` face widths, so that a patterned
shirt does not take them all), and each pair is measured twice:

- *the camera is still*: so is the room, and whatever moves in it (a
  person, a print reaching past ``ROOM_GAP``) is not the room;
- *the camera moved*: a camera turning in the hand moves the whole image by
  one homography (whatever the depths), different beside the face than far
  from it, so the room's motion is the homography fitted (RANSAC) to the
  room's points, evaluated beside the face; or, when none holds
  ``ROOM_GROUP_SHARE`` of them, the motion of the largest group that moved
  alike, or their median.

The clip decides which: the camera is still when in at least
``STILL_CAMERA_SHARE`` of the pairs at least ``MIN_STILL_POINTS`` room
points did not move (within ``ROOM_GROUP_RADIUS`` face widths).  A few
still points over the whole clip (a door frame, a skirting board) show a
still camera even when most of what is in view moves; a camera in the hand
leaves none still for long.

The cue needs the surroundings in view: it is measured only when the face
is narrower than ``MAX_FACE_SHARE`` of the frame (a selfie filled by the face
has no ring beside it) and decided only by frame pairs in which the face
moved against the room (``SpoofConfig.min_surround_motion``).  A photo that
fills the whole frame, with the camera held still, is the stillness cue's;
with the camera moving it is out of any image cue's reach
(``benchmarks/notes/spoof.md``).
"""

from __future__ import annotations

import math

import numpy as np

from livecert.arrays import BoolArray, FloatArray, Image, IntArray
from livecert.config import SpoofConfig
from livecert.results import Cue, CueScore

#: Seconds between the two frames of a pair, and between the starts of two pairs.
PAIR_S = 0.2
PAIR_EVERY_S = 0.4
#: The face's width, in pixels, in the scaled copy the points are tracked on.
FACE_PX = 96.0
#: Measured only when the face is narrower than this share of the frame's width.
MAX_FACE_SHARE = 0.3
#: The ring beside the face, in face widths from its side.
RING = (0.45, 1.0)
#: Points farther than this (face widths) from the face box are the room.
ROOM_GAP = 1.2
#: Pairs in which the face jumped more than this (face widths) are a cut or a lost track.
MAX_JUMP = 0.15
#: Room points: one per square of this side (face widths), evenly picked over the room.
ROOM_CELL = 0.5
#: Room points within this distance (face widths) of one another's motion moved alike; the still
#: points, or a group, count when they hold at least this share of the room points.
ROOM_GROUP_RADIUS = 0.01
ROOM_GROUP_SHARE = 0.1
#: A pair with this many still room points, in this share of the pairs, shows a still camera.
MIN_STILL_POINTS = 2
STILL_CAMERA_SHARE = 0.5
#: Columns of :meth:`SurroundRecorder.pairs`.
STILL_POINTS, STILL_CAMERA, MOVING_CAMERA = 0, slice(1, 4), slice(4, 7)
#: Fewest room points and ring points a pair needs.
MIN_ROOM_POINTS = 5
MIN_RING_POINTS = 3
#: Fewest room points a homography of the room's motion is fitted to (RANSAC needs 4, and
#: twice that leaves it some to disagree with).
MIN_HOMOGRAPHY_POINTS = 8
#: Fewest deciding pairs, and fewest ring points classified over them, the cue needs.
MIN_PAIRS = 5
MIN_CLASSIFIED = 40
#: Mesh landmarks that move rigidly with the skull: a subset of the spoof module's 42, without
#: most of the face's outline, which the mesh slides over a picture (with all 42, one tuning
#: print's share with the room rose from 0.01 to 0.29).
_RIGID = np.array([1, 4, 6, 168, 10, 151, 109, 338, 234, 454, 93, 323, 33, 133, 263, 362, 98, 327, 50, 280, 2])
#: Corner quality, relative to the strongest: low, as a plain wall's faint texture is the room.
QUALITY = 0.002
#: Most corner points tracked per pair.
MAX_POINTS = 80
#: Lucas-Kanade window (pixels of the scaled copy) and pyramid levels.
_LK_WINDOW = (15, 15)
_LK_LEVELS = 2


class SurroundRecorder:
    """Frame pairs for :func:`held_picture`; call :meth:`observe` once per frame, in time order."""

    def __init__(self) -> None:
        self._start: tuple[float, float, Image, FloatArray] | None = None  # t, scale, grey, points
        self._next_t = -math.inf
        self._pairs: list[tuple[float, ...]] = []

    def observe(self, rgb: Image, points: FloatArray | None, t_s: float) -> None:
        """Record one frame: the RGB frame, its face mesh in pixels (478, 3) or ``None``, and
        its time, as :meth:`livecert.liveness.spoof.SpoofRecorder.observe` receives them."""
        if points is None or not np.all(np.isfinite(points[_RIGID, :2])):
            self._start = None
            return
        width = float(np.ptp(points[:, 0]))
        if width < 8 or width > MAX_FACE_SHARE * rgb.shape[1]:
            self._start = None
            return
        if self._start is not None and t_s - self._start[0] > 2 * PAIR_S:
            self._start = None  # a gap: begin again
        start = self._start
        if start is None:
            if t_s < self._next_t:
                return
            self._next_t = t_s + PAIR_EVERY_S
            scale = min(1.0, FACE_PX / width)
            self._start = (t_s, scale, _grey(rgb, scale), points[:, :2] * scale)
            return
        if t_s - start[0] < PAIR_S - 1e-3:
            return
        _, scale, grey0, points0 = start
        self._start = None
        pair = _measure(grey0, _grey(rgb, scale), points0, points[:, :2] * scale)
        if pair is not None:
            self._pairs.append(pair)

    def pairs(self) -> FloatArray:
        """Per measured pair, shape (P, 7): the room points that kept still (column
        ``STILL_POINTS``), then for a still camera (columns ``STILL_CAMERA``) and for a moving
        one (``MOVING_CAMERA``): the face's motion against the room (face widths), the ring
        points that followed the face, the ring points that followed the room."""
        return np.array(self._pairs, dtype=np.float64).reshape(-1, 7)


def _grey(rgb: Image, scale: float) -> Image:
    """The frame in grey, scaled by ``scale`` (halved by ``pyrDown`` while at least twice too
    large, then bilinear)."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    while grey.shape[1] >= 2 * size[0]:
        grey = cv2.pyrDown(grey)
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def _measure(grey0: Image, grey1: Image, points0: FloatArray, points1: FloatArray) -> tuple[float, ...] | None:
    """One frame pair: a row of :meth:`SurroundRecorder.pairs`."""
    import cv2

    x0, x1 = float(points0[:, 0].min()), float(points0[:, 0].max())
    y0, y1 = float(points0[:, 1].min()), float(points0[:, 1].max())
    fw = x1 - x0
    motion, _ = cv2.estimateAffinePartial2D(points0[_RIGID], points1[_RIGID], method=cv2.LMEDS)
    if motion is None:
        return None
    # Corners are picked on a half-size copy (a quarter of the cost) and tracked at full size.
    grid = _CornerGrid(np.asarray(cv2.cornerMinEigenVal(cv2.pyrDown(grey0), 3), dtype=np.float32), 2.0, 3)
    beside = np.maximum(x0 - grid.x, grid.x - x1) / fw
    eyes = float(points0[[33, 263], 1].mean())
    ring = (beside > RING[0]) & (beside < RING[1]) & (grid.y > eyes - 0.25 * (y1 - y0)) & (grid.y < y1)
    gap = ROOM_GAP * fw
    room = (grid.x < x0 - gap) | (grid.x > x1 + gap) | (grid.y < y0 - gap)
    ring_corners = grid.strongest(ring)
    room_corners = grid.spread(room, max(1, round(ROOM_CELL * fw / grid.square)))
    points, moved, good = _track(grey0, grey1, np.concatenate([ring_corners, room_corners]))
    is_ring = np.arange(good.shape[0]) < ring_corners.shape[0]
    ring_points, ring_moved = points[good & is_ring], moved[good & is_ring]
    room_moved = moved[good & ~is_ring]
    if room_moved.shape[0] < MIN_ROOM_POINTS or ring_points.shape[0] < MIN_RING_POINTS:
        return None
    radius = ROOM_GROUP_RADIUS * fw
    still = int(np.count_nonzero(np.linalg.norm(room_moved, axis=1) <= radius))
    with_face = ring_points @ motion[:, :2].T + motion[:, 2] - ring_points
    row: list[float] = [float(still)]
    for with_room in (
        np.zeros_like(ring_points),
        room_motion_at(points[good & ~is_ring], room_moved, ring_points, radius),
    ):
        separation = float(np.linalg.norm((with_face - with_room).mean(axis=0))) / fw
        off_face = np.linalg.norm(ring_moved - with_face, axis=1)
        off_room = np.linalg.norm(ring_moved - with_room, axis=1)
        row += [separation, np.count_nonzero(off_face < off_room / 3), np.count_nonzero(off_room < off_face / 3)]
    return tuple(row)


def room_motion_at(points: FloatArray, moved: FloatArray, at: FloatArray, radius: float) -> FloatArray:
    """The room's motion at the points ``at`` seen by a moving camera, from its points' motions.

    The homography fitted to the room's points by RANSAC (``radius`` pixels),
    evaluated at ``at``, when at least ``ROOM_GROUP_SHARE`` of them (and
    ``MIN_ROOM_POINTS``) are its inliers; otherwise :func:`room_motion_of`,
    the same everywhere.

    Parameters
    ----------
    points : ndarray of float, shape (N, 2)
        Room points in the first frame, pixels; N >= 1.
    moved : ndarray of float, shape (N, 2)
        Their motions, pixels.
    at : ndarray of float, shape (K, 2)
        Where the motion is wanted.
    radius : float
        Pixels.

    Returns
    -------
    ndarray of float, shape (K, 2)
    """
    import cv2

    share = ROOM_GROUP_SHARE * moved.shape[0]
    if points.shape[0] >= MIN_HOMOGRAPHY_POINTS:
        src, dst = points.astype(np.float32), (points + moved).astype(np.float32)
        hmat, inliers = cv2.findHomography(src, dst, cv2.RANSAC, radius, maxIters=500)
        if hmat is not None and inliers is not None and int(inliers.sum()) >= max(MIN_ROOM_POINTS, share):
            moved_at: FloatArray = cv2.perspectiveTransform(at[None].astype(np.float64), hmat)[0] - at
            return moved_at
    return np.broadcast_to(room_motion_of(moved, radius), at.shape).astype(np.float64)


def room_motion_of(moved: FloatArray, radius: float) -> FloatArray:
    """One motion for the room: the median of the largest group of points within ``radius``
    of one point's motion, when it holds ``ROOM_GROUP_SHARE`` of them (and
    ``MIN_ROOM_POINTS``); otherwise the median of all.

    Parameters
    ----------
    moved : ndarray of float, shape (N, 2)
        Room points' motions, pixels; N >= 1.
    radius : float
        Pixels.

    Returns
    -------
    ndarray of float, shape (2,)
    """
    share = ROOM_GROUP_SHARE * moved.shape[0]
    near = np.linalg.norm(moved[:, None, :] - moved[None, :, :], axis=2) <= radius
    counts = near.sum(axis=1)
    best = int(np.argmax(counts))
    members = near[best] if counts[best] >= max(MIN_ROOM_POINTS, share) else np.ones(moved.shape[0], dtype=bool)
    return np.asarray(np.median(moved[members], axis=0), dtype=np.float64)


class _CornerGrid:
    """The strongest pixel of every ``cell`` x ``cell`` square of a corner-strength map.

    Picking corners among these spreads them as ``cv2.goodFeaturesToTrack``'s minimum
    distance does, at a fraction of its cost.

    Parameters
    ----------
    strength : ndarray of float32, shape (H, W)
        The smaller eigenvalue of the gradients' covariance (Shi-Tomasi) per pixel.
    scale : float
        Size of the image the corners are for over the size of ``strength``.
    cell : int
    """

    def __init__(self, strength: FloatArray, scale: float, cell: int) -> None:
        rows, cols = strength.shape[0] // cell, strength.shape[1] // cell
        best, self.value = _block_best(strength[: rows * cell, : cols * cell], cell)
        self.y: FloatArray = (np.arange(rows)[:, None] * cell + best // cell + 0.5) * scale - 0.5
        self.x: FloatArray = (np.arange(cols)[None, :] * cell + best % cell + 0.5) * scale - 0.5
        #: Side of one square in the image the corners are for, pixels.
        self.square = cell * scale

    def strongest(self, region: BoolArray) -> FloatArray:
        """Up to half of ``MAX_POINTS`` of the squares' corners in ``region`` (rows, cols), at
        least ``QUALITY`` of the strongest there; float32 of shape (K, 1, 2)."""
        value, top = self._within(region)
        if top <= 0:
            return self._corners(np.zeros(0, int), np.zeros(0, int))
        r, c = np.nonzero(value > QUALITY * top)
        order = np.argsort(-value[r, c], kind="stable")[: MAX_POINTS // 2]
        return self._corners(r[order], c[order])

    def spread(self, region: BoolArray, block: int) -> FloatArray:
        """Up to half of ``MAX_POINTS`` corners spread evenly over ``region``: the strongest of
        every ``block`` x ``block`` squares (at least ``QUALITY`` of the strongest in the region),
        then every k-th of those in raster order; float32 of shape (K, 1, 2)."""
        value, top = self._within(region)
        if top <= 0:
            return self._corners(np.zeros(0, int), np.zeros(0, int))
        padded = np.zeros((-(-value.shape[0] // block) * block, -(-value.shape[1] // block) * block))
        padded[: value.shape[0], : value.shape[1]] = value
        best, strongest = _block_best(padded, block)
        br, bc = np.nonzero(strongest > QUALITY * top)
        r = br * block + best[br, bc] // block
        c = bc * block + best[br, bc] % block
        if r.shape[0] > MAX_POINTS // 2:
            keep = np.linspace(0, r.shape[0] - 1, MAX_POINTS // 2).round().astype(int)
            r, c = r[keep], c[keep]
        return self._corners(r, c)

    def _within(self, region: BoolArray) -> tuple[FloatArray, float]:
        """The squares' corner strengths, zero outside ``region``, and the strongest of them."""
        value: FloatArray = np.where(region, self.value, 0.0)
        return value, float(value.max(initial=0.0))

    def _corners(self, r: IntArray, c: IntArray) -> FloatArray:
        """The corners of squares (r, c) as float32 of shape (K, 1, 2)."""
        corners: FloatArray = np.stack([self.x[r, c], self.y[r, c]], axis=1).astype(np.float32)[:, None, :]
        return corners


def _block_best(a: FloatArray, block: int) -> tuple[IntArray, FloatArray]:
    """The position (raster order within the block) and value of the largest element of every
    ``block`` x ``block`` block of ``a``, whose sides are multiples of ``block``; two arrays of
    shape (rows, cols) of blocks."""
    rows, cols = a.shape[0] // block, a.shape[1] // block
    blocks = a.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows, cols, block * block)
    best: IntArray = blocks.argmax(axis=2)
    value: FloatArray = np.take_along_axis(blocks, best[..., None], axis=2)[..., 0]
    return best, value


def _track(grey0: Image, grey1: Image, corners: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Corners (K, 1, 2) tracked from ``grey0`` to ``grey1``: their positions (K, 2), their
    motions (K, 2) and whether they tracked back to within half a pixel (K,)."""
    import cv2

    if corners.shape[0] == 0:
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, dtype=bool)
    ahead, status, _ = cv2.calcOpticalFlowPyrLK(
        grey0, grey1, corners, corners.copy(), winSize=_LK_WINDOW, maxLevel=_LK_LEVELS
    )
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(
        grey1, grey0, np.asarray(ahead), corners.copy(), winSize=_LK_WINDOW, maxLevel=_LK_LEVELS
    )
    returned = np.linalg.norm(np.asarray(back) - corners, axis=2)[:, 0] < 0.5
    good = (np.asarray(status)[:, 0] == 1) & (np.asarray(status_back)[:, 0] == 1) & returned
    p0 = corners[:, 0].astype(np.float64)
    return p0, np.asarray(ahead)[:, 0].astype(np.float64) - p0, good


def held_picture(pairs: FloatArray, config: SpoofConfig) -> CueScore:
    """Does what lies beside the face move with the room, or with the face?

    The camera is taken as still when ``MIN_STILL_POINTS`` room points kept
    still in ``STILL_CAMERA_SHARE`` of the pairs, else as moving; the pairs
    are read for that camera.  Score: of the ring points classified in the
    pairs where the face moved against the room by
    ``config.min_surround_motion`` to ``MAX_JUMP`` face widths, the share
    that followed the room.  A head in a room scores near 1, a held picture
    near 0.  Undecided with fewer than ``MIN_PAIRS`` such pairs or
    ``MIN_CLASSIFIED`` classified points.

    Parameters
    ----------
    pairs : ndarray, shape (P, 7)
        :meth:`SurroundRecorder.pairs`.
    config : SpoofConfig
    """
    threshold = config.held_picture_threshold
    still_camera = pairs.shape[0] > 0 and np.mean(pairs[:, STILL_POINTS] >= MIN_STILL_POINTS) >= STILL_CAMERA_SHARE
    pairs = pairs[:, STILL_CAMERA if still_camera else MOVING_CAMERA]
    deciding = pairs[(pairs[:, 0] >= config.min_surround_motion) & (pairs[:, 0] <= MAX_JUMP)]
    if deciding.shape[0] < MIN_PAIRS:
        return CueScore(Cue.HELD_PICTURE, None, threshold, "the face did not move against a room in view")
    with_face, with_room = float(deciding[:, 1].sum()), float(deciding[:, 2].sum())
    if with_face + with_room < MIN_CLASSIFIED:
        return CueScore(Cue.HELD_PICTURE, None, threshold, "too few textured points beside the face")
    share = with_room / (with_face + with_room)
    detail = (
        f"{share * 100:.0f}% of {with_face + with_room:.0f} points beside the face stayed with the room "
        f"over {deciding.shape[0]} moments the face moved ({'still' if still_camera else 'moving'} camera)"
    )
    return CueScore(Cue.HELD_PICTURE, share if math.isfinite(share) else None, threshold, detail)
