"""Deterministic presentation-attack video generators (our own; the project is also
judged on generators it has not seen, so the cues they test follow from physics).

Every generator is seeded and yields ``(rgb, t_s)`` pairs (``rgb`` uint8 of
shape (H, W, 3), ``t_s`` increasing seconds), the input ``livecert.verify``
accepts.  Photos are RGB uint8 arrays; face meshes come from
``livecert.face.landmarks.FaceLandmarker`` in image mode.

Generators
----------
eyelid_warp_photo
    One photo whose eyelids are made to blink by a warp (three mechanisms),
    optionally moved as if hand-held, with sensor noise and H.264 re-encode.
mouth_animated_photo
    One photo whose jaw/lips open and close with a real voice's envelope.
screen_replay
    A genuine clip shown on a simulated LCD (subpixel grid, gamma, glare,
    bezel, refresh banding) and filmed by a moving camera.
bent_print
    A printed photo bent into a cylinder and rotated in 3-D in front of a
    static room.
puppet_photo
    Piecewise-affine warp of a photo's face mesh driven by another person's
    real landmark track (shares no helper with the generators above).
turned_photo
    A photo turned in 3-D about its vertical axis and back, as an attacker
    answers a "turn your head" prompt.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from livecert.face.landmarks import FaceLandmarker, RunningMode

Frames = list[tuple[np.ndarray, float]]

# Eye contours (subject's right eye is on the image's left).
R_EYE = {"corners": (33, 133), "upper": (246, 161, 160, 159, 158, 157, 173), "lower": (7, 163, 144, 145, 153, 154, 155)}
L_EYE = {
    "corners": (263, 362),
    "upper": (466, 388, 387, 386, 385, 384, 398),
    "lower": (249, 390, 373, 374, 380, 381, 382),
}
WARP_SHAPES = ("squash", "slide", "band")


# --------------------------------------------------------------------------- common helpers


def fit(rgb: np.ndarray, max_side: int = 640) -> np.ndarray:
    """Scale down (aspect kept) so the longer side is at most ``max_side``; even sizes.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)

    Returns
    -------
    ndarray of uint8, shape (H', W', 3)
    """
    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    nw, nh = int(round(w * s)) // 2 * 2, int(round(h * s)) // 2 * 2
    if (nw, nh) == (w, h):
        return rgb
    return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8, shape (H, W, 3)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@lru_cache(maxsize=1)
def _image_landmarker():  # type: ignore[no-untyped-def]
    return FaceLandmarker(mode=RunningMode.IMAGE, max_faces=3)


def photo_mesh(rgb: np.ndarray) -> np.ndarray:
    """Face mesh of the largest face in a photo.

    Returns
    -------
    ndarray of float32, shape (478, 3)
        Pixel ``x, y`` and MediaPipe's ``z``.

    Raises
    ------
    ValueError
        No face found.
    """
    obs = _image_landmarker().process(rgb)
    if obs.points is None:
        raise ValueError("no face in photo")
    return obs.points


def crop_face(rgb: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """Crop a photo to its largest face plus ``margin`` face sizes on each side (as an attacker prints it).

    Returns
    -------
    ndarray of uint8, shape (h, w, 3)
        The photo itself when no face is found.
    """
    try:
        pts = photo_mesh(rgb)
    except ValueError:
        return rgb
    h, w = rgb.shape[:2]
    (x0, y0), (x1, y1) = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
    s = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = s * (0.5 + margin)
    xa, xb = int(max(0, cx - half * 0.8)), int(min(w, cx + half * 0.8))
    ya, yb = int(max(0, cy - half)), int(min(h, cy + half))
    return np.ascontiguousarray(rgb[ya:yb, xa:xb])


def add_noise(rgb: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian sensor noise of standard deviation ``sigma`` (0-255 scale)."""
    noisy = rgb.astype(np.float32) + rng.normal(0.0, sigma, rgb.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def h264_roundtrip(frames: Sequence[np.ndarray], fps: float, crf: int = 26) -> list[np.ndarray]:
    """Encode frames with libx264 in memory and decode them again.

    Deterministic: x264's lookahead and macroblock tree (``rc-lookahead``,
    ``mbtree``) made its output differ from one run to the next on the same
    frames (3 different encodings in 15 runs of one clip, even on one
    thread), and with it the verdicts of the tests on them; they are off,
    with one thread and every frame's timestamp given.

    Parameters
    ----------
    frames : sequence of ndarray of uint8, shape (H, W, 3)
        H and W even.

    Returns
    -------
    list of ndarray of uint8, shape (H, W, 3)
    """
    buf = io.BytesIO()
    h, w = frames[0].shape[:2]
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "threads=1:rc-lookahead=0:mbtree=0"}
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, int(round(fps)))
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf, "r") as inp:
        decoded = [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]
    return decoded[: len(frames)]


def _smooth_walk(rng: np.random.Generator, n: int, dims: int, width: int = 9) -> np.ndarray:
    """Random walk smoothed and scaled to [-1, 1] per column, shape (n, dims)."""
    walk = np.cumsum(rng.normal(0, 1, size=(n + 2 * width, dims)), axis=0)
    kernel = np.ones(width) / width
    walk = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(dims)], axis=1)[width:-width]
    walk -= walk.mean(axis=0)
    return walk / np.maximum(np.abs(walk).max(axis=0), 1e-6)


def _pose_homography(
    w: int, h: int, yaw: float, pitch: float, roll: float, scale: float, tx: float, ty: float
) -> np.ndarray:
    """Homography of the image turned by angles (degrees) about the camera's centre, scaled, shifted (pixels).

    This is ``K R K^-1`` composed with a zoom and a shift: what a camera turning in the hand
    records, of a flat picture or of a still 3-D scene alike (no parallax either way; see
    ``benchmarks/notes/spoof.md``).

    Returns
    -------
    ndarray, shape (3, 3)
    """
    f = 1.2 * max(w, h)
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
    a, b, c = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    r = rz @ ry @ rx
    # plane z = f (image plane distance), points (x - cx, y - cy, f)
    hom = (
        k
        @ np.column_stack([r[:, 0], r[:, 1], r @ np.array([0, 0, f])])
        @ np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1.0]])
    )
    hom /= hom[2, 2]
    s = np.array([[scale, 0, (1 - scale) * w / 2 + tx], [0, scale, (1 - scale) * h / 2 + ty], [0, 0, 1]])
    return s @ hom


def handheld_homographies(rng: np.random.Generator, n: int, w: int, h: int, strength: float = 1.0) -> np.ndarray:
    """Per-frame homographies of a hand-held picture, as a turning camera would see it.

    The turns are about the camera's centre (:func:`_pose_homography`): the same motion a
    phone turning in the hand gives a still real face, which is why no image cue can
    refuse these clips on their motion alone.  A smoothed random walk of tilt (+-8 deg about x and y), roll (+-4 deg),
    scale (+-5 %) and shift (+-4 % of the size), with 0.5 px jitter.

    Returns
    -------
    ndarray, shape (n, 3, 3)
    """
    walk = _smooth_walk(rng, n, 6)
    jit = rng.normal(0, 0.5, size=(n, 2))
    out = np.empty((n, 3, 3))
    for i in range(n):
        yaw, pitch, roll = strength * 8 * walk[i, 0], strength * 8 * walk[i, 1], strength * 4 * walk[i, 2]
        scale = 1 + strength * 0.05 * walk[i, 3]
        tx = strength * 0.04 * w * walk[i, 4] + jit[i, 0]
        ty = strength * 0.04 * h * walk[i, 5] + jit[i, 1]
        out[i] = _pose_homography(w, h, yaw, pitch, roll, scale, tx, ty)
    return out


# --------------------------------------------------------------------------- eyelid warps


def blink_profile(
    t: np.ndarray, rng: np.random.Generator, duration: float, period_s: float | None = None
) -> np.ndarray:
    """Closure amount in [0, 1] per frame time for 2-3 blinks at random times
    (or, with ``period_s``, one every ``period_s`` seconds from 1 s on).

    Half the seeds use a symmetric profile (opening as fast as closing), the
    other half a physiological one (opening 1.5-2.5 times slower).

    Parameters
    ----------
    t : ndarray, shape (N,)

    Returns
    -------
    ndarray, shape (N,)
    """
    a = np.zeros_like(t)
    if period_s is not None:
        starts = np.arange(1.0, duration - 0.7, period_s)
    else:
        n_blinks = int(rng.integers(2, 4))
        starts = np.sort(rng.uniform(1.0, duration - 0.7, size=n_blinks))
        for k in range(1, n_blinks):  # keep blinks at least 0.7 s apart
            starts[k] = max(starts[k], starts[k - 1] + 0.7)
    symmetric = rng.random() < 0.5
    for s in starts:
        close = rng.uniform(0.07, 0.15)
        hold = rng.uniform(0.0, 0.08)
        opening = close if symmetric else close * rng.uniform(1.5, 2.5)
        peak = rng.uniform(0.9, 1.0)
        x = t - s
        up = np.clip(x / close, 0, 1)
        down = np.clip((x - close - hold) / opening, 0, 1)
        shape = np.where(x < close + hold, 0.5 - 0.5 * np.cos(np.pi * up), 0.5 + 0.5 * np.cos(np.pi * down))
        a = np.maximum(a, np.where((x >= 0) & (x <= close + hold + opening), peak * shape, 0.0))
    return a


class _EyeFrame:
    """An eye's local coordinates: ``u`` along the corner line, ``v`` across
    (down positive), both in half eye-widths; lid profiles ``v_up(u)``, ``v_lo(u)``."""

    def __init__(self, pts: np.ndarray, eye: dict[str, tuple[int, ...]], shape: tuple[int, int]) -> None:
        c0, c1 = pts[eye["corners"][0], :2].astype(np.float64), pts[eye["corners"][1], :2].astype(np.float64)
        if c0[0] > c1[0]:
            c0, c1 = c1, c0
        self.c = (c0 + c1) / 2
        self.hw = max(float(np.linalg.norm(c1 - c0)) / 2, 2.0)
        self.eu = (c1 - c0) / (2 * self.hw)
        self.ev = np.array([-self.eu[1], self.eu[0]])
        up = self._local(pts[list(eye["upper"]), :2])
        lo = self._local(pts[list(eye["lower"]), :2])
        cu = self._local(np.stack([c0, c1]))
        self.up_u, self.up_v = self._profile(np.vstack([up, cu]))
        self.lo_u, self.lo_v = self._profile(np.vstack([lo, cu]))
        h, w = shape
        r = 1.6 * self.hw
        self.x0, self.x1 = int(max(0, self.c[0] - r)), int(min(w, self.c[0] + r + 1))
        self.y0, self.y1 = int(max(0, self.c[1] - 1.9 * self.hw)), int(min(h, self.c[1] + 1.3 * self.hw + 1))
        yy, xx = np.mgrid[self.y0 : self.y1, self.x0 : self.x1].astype(np.float64)
        d = np.stack([xx - self.c[0], yy - self.c[1]], axis=-1)
        self.u = d @ self.eu / self.hw
        self.v = d @ self.ev / self.hw
        self.vu = np.interp(self.u, self.up_u, self.up_v)
        self.vl = np.maximum(np.interp(self.u, self.lo_u, self.lo_v), self.vu + 0.02)
        au = np.abs(self.u)
        self.taper = np.clip((1.45 - au) / 0.45, 0, 1) ** 2 * (3 - 2 * np.clip((1.45 - au) / 0.45, 0, 1))

    def _local(self, p: np.ndarray) -> np.ndarray:
        d = p - self.c
        return np.stack([d @ self.eu, d @ self.ev], axis=1) / self.hw

    @staticmethod
    def _profile(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(uv[:, 0])
        return uv[order, 0], uv[order, 1]

    def to_xy(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.c[0] + self.hw * (u * self.eu[0] + v * self.ev[0])
        y = self.c[1] + self.hw * (u * self.eu[1] + v * self.ev[1])
        return x.astype(np.float32), y.astype(np.float32)


def _warp_eye(img: np.ndarray, src: np.ndarray, eye: _EyeFrame, a: float, shape: str, skin: np.ndarray) -> None:
    """Close one eye by ``a`` in [0, 1] in place (``img`` region from ``src``)."""
    if a <= 1e-3:
        return
    u, v, vu, vl, tp = eye.u, eye.v, eye.vu, eye.vl, eye.taper
    at = a * tp
    if shape == "squash":
        m, g = (vu + vl) / 2, (vl - vu) / 2
        k = 1 - 0.95 * at
        d = v - m
        ad = np.abs(d)
        margin = 0.7
        inner = ad <= g * k
        outer = (ad > g * k) & (ad <= g + margin)
        # the eye interior [0, g*k] shows [0, g]; the band [g*k, g+margin] shows [g, g+margin]
        src_d = np.where(inner, d / np.maximum(k, 1e-3), d)
        src_d = np.where(
            outer, np.sign(d) * (g + (ad - g * k) * margin / np.maximum(margin + g * (1 - k), 1e-6)), src_d
        )
        vs = m + src_d
    elif shape == "slide":
        top = vu - 0.8
        edge = vu + at * (vl - vu) * 1.02
        inside = (v >= top) & (v <= edge)
        vs = np.where(inside, top + (v - top) * (vu - top) / np.maximum(edge - top, 1e-6), v)
    else:  # band: paint, no warp
        edge = vu + at * (vl - vu) * 1.02
        band = np.clip((v - (vu - 0.08)) / 0.08, 0, 1) * np.clip((edge - v) / 0.06, 0, 1) * tp * (a > 0.02)
        lash = np.exp(-(((v - edge) / 0.07) ** 2)) * at * 0.55
        roi = src[eye.y0 : eye.y1, eye.x0 : eye.x1].astype(np.float32)
        shade = (1 - 0.12 * np.clip((v - vu) / np.maximum(vl - vu, 1e-3), 0, 1))[..., None]
        out = roi * (1 - band[..., None]) + (skin[None, None, :] * shade) * band[..., None]
        out *= 1 - lash[..., None]
        img[eye.y0 : eye.y1, eye.x0 : eye.x1] = np.clip(out, 0, 255).astype(np.uint8)
        return
    mx, my = eye.to_xy(u, vs)
    img[eye.y0 : eye.y1, eye.x0 : eye.x1] = cv2.remap(src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _lid_skin(src: np.ndarray, eye: _EyeFrame) -> np.ndarray:
    """Median colour of the upper-lid skin (above the lid, below the brow), shape (3,)."""
    sel = (eye.v > eye.vu - 0.55) & (eye.v < eye.vu - 0.2) & (np.abs(eye.u) < 0.7)
    roi = src[eye.y0 : eye.y1, eye.x0 : eye.x1]
    if not np.any(sel):
        return np.median(roi.reshape(-1, 3), axis=0).astype(np.float32)
    return np.median(roi[sel], axis=0).astype(np.float32)


def eyelid_warp_photo(
    photo: np.ndarray,
    seed: int,
    shape: str = "slide",
    handheld: bool = False,
    noise: bool = False,
    h264: bool = False,
    seconds: float = 5.0,
    mesh: np.ndarray | None = None,
    period_s: float | None = None,
) -> Iterator[tuple[np.ndarray, float]]:
    """A photo whose eyes blink 2-3 times (or every ``period_s`` seconds) by an image warp.

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
        Scaled with :func:`fit` first.
    seed : int
    shape : {"squash", "slide", "band"}
        ``squash``: the eye region is compressed vertically towards its
        centre line (the iris is squeezed, not covered); ``slide``: the upper
        lid skin is stretched down over the eye (occludes the iris);
        ``band``: a skin-coloured band with a dark lash line is painted down
        over the eye.
    handheld : bool
        Move the whole picture as a hand-held print (tilt, roll, scale, shift).
    noise : bool
        Gaussian sensor noise (sigma 2-5) and a slight blur.
    h264 : bool
        Encode and decode with libx264 (crf 23-30).
    mesh : ndarray, shape (478, 3), optional
        The photo's face mesh (computed when omitted).
    period_s : float, optional
        Blink every this many seconds (a video rendered to answer any
        "blink now" prompt) instead of 2-3 times at random.

    Yields
    ------
    (ndarray of uint8, shape (H, W, 3), float)
    """
    if shape not in WARP_SHAPES:
        raise ValueError(shape)
    rng = np.random.default_rng(seed)
    img0 = fit(photo)
    h, w = img0.shape[:2]
    pts = photo_mesh(img0) if mesh is None else mesh
    fps = float(rng.choice([25.0, 30.0]))
    n = int(seconds * fps)
    t = np.arange(n) / fps
    closure = blink_profile(t, rng, seconds, period_s)
    eyes = [_EyeFrame(pts, e, (h, w)) for e in (R_EYE, L_EYE)]
    skins = [_lid_skin(img0, e) for e in eyes]
    homs = handheld_homographies(rng, n, w, h) if handheld else None
    sigma = rng.uniform(2, 5)
    crf = int(rng.integers(23, 31))
    frames = []
    for i in range(n):
        img = img0.copy()
        for e, s in zip(eyes, skins):
            _warp_eye(img, img0, e, float(closure[i]), shape, s)
        if homs is not None:
            img = cv2.warpPerspective(img, homs[i], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if noise:
            img = add_noise(cv2.GaussianBlur(img, (3, 3), 0.6), rng, sigma)
        frames.append(img)
    if h264:
        frames = h264_roundtrip(frames, fps, crf)
    for i, f in enumerate(frames):
        yield f, float(t[i])


# --------------------------------------------------------------------------- mouth animation


def _voice_envelope(samples: np.ndarray, sr: int, t: np.ndarray) -> np.ndarray:
    """RMS loudness at frame times, 0-1, shape (N,)."""
    win = int(0.04 * sr)
    pad = np.pad(samples.astype(np.float64) ** 2, (win, win))
    c = np.cumsum(pad)
    idx = np.clip((t * sr).astype(int) + win, win, len(pad) - win - 1)
    rms = np.sqrt(np.maximum((c[idx + win // 2] - c[idx - win // 2]) / win, 0))
    rms = np.convolve(rms, np.ones(3) / 3, mode="same")
    top = np.percentile(rms, 98) + 1e-9
    return np.clip((rms / top - 0.08) / 0.92, 0, 1)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate."""
    from scipy.io import wavfile

    sr, x = wavfile.read(str(path))
    x = x.astype(np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if np.issubdtype(np.asarray(x).dtype, np.floating) and np.abs(x).max() > 1.5:
        x /= 32768.0
    return x, int(sr)


def mouth_animated_photo(
    photo: np.ndarray,
    wav: str | Path | Sequence[str | Path],
    seed: int,
    mesh: np.ndarray | None = None,
) -> tuple[Frames, np.ndarray, int]:
    """A photo whose mouth opens with a real voice (digits mode attack).

    The voice (one wav or several, joined with 0.3-0.6 s pauses after 1 s of
    silence) drives the jaw: the chin and lower lip are displaced down by up
    to 6 % of the face height and the gap between the lips is filled with a
    dark mouth interior.

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
    wav : path or sequence of paths
    seed : int
    mesh : ndarray, shape (478, 3), optional

    Returns
    -------
    frames : list of (ndarray of uint8, shape (H, W, 3), float)
    samples : ndarray of float32, shape (S,)
    sample_rate : int
    """
    rng = np.random.default_rng(seed)
    paths = [wav] if isinstance(wav, (str, Path)) else list(wav)
    parts, sr = [], 8000
    for p in paths:
        x, sr = read_wav(p)
        parts += [np.zeros(int(rng.uniform(0.3, 0.6) * sr), np.float32), x]
    samples = np.concatenate([np.zeros(sr, np.float32), *parts, np.zeros(int(0.8 * sr), np.float32)])
    img0 = fit(photo)
    h, w = img0.shape[:2]
    pts = (photo_mesh(img0) if mesh is None else mesh)[:, :2].astype(np.float64)
    fps = 25.0
    t = np.arange(int(len(samples) / sr * fps)) / fps
    env = _voice_envelope(samples, sr, t)
    face_h = float(np.linalg.norm(pts[152] - pts[10]))
    drop = rng.uniform(0.04, 0.065) * face_h
    mouth_c = (pts[13] + pts[14]) / 2
    mouth_w = float(np.linalg.norm(pts[61] - pts[291]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = (xx - mouth_c[0]) / (0.9 * mouth_w)
    chin_y = pts[152, 1]
    # weight 1 from the lip line down to the chin, fading out below the chin and sideways
    below = np.clip((yy - mouth_c[1]) / 2.0, 0, 1)
    fade = np.clip(1 - (yy - chin_y) / (0.25 * face_h), 0, 1)
    side = np.exp(-(dx**2) * 1.2)
    weight = (below * fade * side).astype(np.float32)
    lip_y = np.interp(
        xx,
        np.sort(pts[[78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], 0]),
        pts[[78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], 1][
            np.argsort(pts[[78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], 0])
        ],
    )
    inside_x = np.clip(1 - np.abs(xx - mouth_c[0]) / (0.5 * mouth_w), 0, 1) ** 0.5
    interior = np.array([60, 25, 30], np.float32)
    frames: Frames = []
    for i in range(t.shape[0]):
        d = float(env[i]) * drop
        if d < 0.3:
            frames.append((img0.copy(), float(t[i])))
            continue
        my = yy - d * weight
        img = cv2.remap(img0, xx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gap = ((yy > lip_y - 0.5) & (yy < lip_y + d * inside_x)).astype(np.float32) * inside_x
        gap = cv2.GaussianBlur(gap, (3, 3), 0.8)[..., None]
        img = (img.astype(np.float32) * (1 - gap) + interior * gap).astype(np.uint8)
        frames.append((img, float(t[i])))
    return frames, samples, sr


# --------------------------------------------------------------------------- screen replay


def _room(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A static textured 'room' background, shape (h, w, 3) uint8."""
    base = rng.uniform(60, 200, size=3)
    small = rng.normal(0, 25, size=(max(2, h // 40), max(2, w // 40), 3))
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) + base
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(
            img,
            (x0, y0),
            (x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))),
            tuple(float(c) for c in rng.uniform(30, 230, 3)),
            -1,
        )
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 1.0), 0, 255).astype(np.uint8)


def screen_replay(
    clip_frames: Sequence[tuple[np.ndarray, float]],
    seed: int,
    out_size: tuple[int, int] = (640, 480),
    camera_fps: float = 30.0,
) -> Iterator[tuple[np.ndarray, float]]:
    """A genuine clip replayed on an LCD and filmed by a hand-held camera.

    The screen is modelled as a grid of RGB subpixel stripes (with a dark
    gap row) whose pitch is 0.8-2.4 camera pixels; the camera sees it
    through a slight perspective and a hand-held random walk, with optical
    blur, so that the grid aliases into moire.  Display gamma 0.75-1.35,
    raised black level, a glare blob, a visible bezel and room in half of
    the seeds, rolling refresh banding in a third, camera noise and H.264.

    Parameters
    ----------
    clip_frames : sequence of (ndarray of uint8, shape (h, w, 3), float)
    seed : int
    out_size : (int, int)
        Camera frame (width, height).
    camera_fps : float

    Yields
    ------
    (ndarray of uint8, shape (out_h, out_w, 3), float)
    """
    rng = np.random.default_rng(seed)
    ow, oh = out_size
    ch, cw = clip_frames[0][0].shape[:2]
    bezel = rng.random() < 0.5
    fill = rng.uniform(0.6, 0.85) if bezel else rng.uniform(1.05, 1.3)  # screen width / camera width
    pitch = rng.uniform(0.8, 2.4)  # camera pixels per screen pixel
    sw = int(fill * ow / pitch)
    sh = int(sw * ch / cw)
    gamma = rng.uniform(0.75, 1.35)
    black = rng.uniform(8, 30)
    gain = rng.uniform(0.8, 1.0)
    blur = rng.uniform(0.3, 0.9)
    glare_xy = rng.uniform(0.2, 0.8, size=2)
    glare_amp = rng.uniform(20, 90) * (rng.random() < 0.7)
    banding = rng.random() < 0.33
    band_f = rng.uniform(2, 8)
    band_speed = rng.uniform(-3, 3)
    sigma = rng.uniform(1.5, 4)
    room = _room(rng, ow, oh)
    # canvas: 3 x 3 subsamples per screen pixel
    m = 3
    cols = np.arange(sw * m) % m
    rows = np.arange(sh * m) % m
    mask = np.zeros((sh * m, sw * m, 3), np.float32)
    for c in range(3):
        mask[:, cols == c, c] = 3.0
    mask[rows == m - 1] *= 0.35
    yy, xx = np.mgrid[0 : sh * m, 0 : sw * m].astype(np.float32)
    glare = glare_amp * np.exp(-(((xx / (sw * m) - glare_xy[0]) ** 2 + (yy / (sh * m) - glare_xy[1]) ** 2) / 0.02))
    lut = (black + (255 * gain - black) * (np.arange(256) / 255.0) ** gamma).astype(np.float32)
    # frame (bezel) around the panel
    bz = int(0.04 * sw * m) if bezel else 0
    n = int((clip_frames[-1][1] - clip_frames[0][1]) * camera_fps) + 1
    walk = _smooth_walk(rng, n, 6, width=15)
    jit = rng.normal(0, 0.4, size=(n, 2))
    base_tilt = rng.uniform(-6, 6, size=2)
    times = np.array([f[1] for f in clip_frames]) - clip_frames[0][1]
    panel_w, panel_h = sw * m + 2 * bz, sh * m + 2 * bz
    crf = int(rng.integers(22, 29))
    out = []
    for i in range(n):
        tc = i / camera_fps
        k = max(0, int(np.searchsorted(times, tc, side="right")) - 1)
        shown = cv2.resize(clip_frames[k][0], (sw, sh), interpolation=cv2.INTER_AREA)
        up = cv2.resize(lut[shown], (sw * m, sh * m), interpolation=cv2.INTER_NEAREST) * mask / 1.0
        up = up * (1.0 / 1.0) + glare[..., None]
        if banding:
            up *= (1 + 0.06 * np.sin(2 * np.pi * (band_f * yy / (sh * m) + band_speed * tc)))[..., None]
        panel = np.full((panel_h, panel_w, 3), 12.0, np.float32)
        panel[bz : bz + sh * m, bz : bz + sw * m] = up
        panel = cv2.GaussianBlur(panel, (0, 0), blur * m / pitch)
        # panel -> camera: scale, perspective tilt, hand motion
        s = ow * fill / (sw * m)
        pose = _pose_homography(
            ow,
            oh,
            base_tilt[0] + 3 * walk[i, 0],
            base_tilt[1] + 3 * walk[i, 1],
            2 * walk[i, 2],
            1 + 0.03 * walk[i, 3],
            0.02 * ow * walk[i, 4] + jit[i, 0],
            0.02 * oh * walk[i, 5] + jit[i, 1],
        )
        place = np.array([[s, 0, ow / 2 - s * panel_w / 2], [0, s, oh / 2 - s * panel_h / 2], [0, 0, 1]])
        hmat = pose @ place
        cam = cv2.warpPerspective(panel, hmat, (ow, oh), flags=cv2.INTER_LINEAR, borderValue=(-1, -1, -1))
        cover = cv2.warpPerspective(np.ones((panel_h, panel_w), np.float32), hmat, (ow, oh), flags=cv2.INTER_LINEAR)
        img = cam * cover[..., None] + room.astype(np.float32) * (1 - cover[..., None])
        img += rng.normal(0, sigma, size=img.shape).astype(np.float32)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    out = h264_roundtrip(out, camera_fps, crf)
    for i, f in enumerate(out):
        yield f, i / camera_fps


# --------------------------------------------------------------------------- bent print


def _print_look(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Printed-paper appearance: compressed range, desaturation, optional halftone."""
    x = rgb.astype(np.float32) / 255.0
    grey = x.mean(axis=2, keepdims=True)
    x = grey + rng.uniform(0.7, 0.9) * (x - grey)
    x = rng.uniform(0.06, 0.14) + rng.uniform(0.75, 0.88) * x
    if rng.random() < 0.5:  # halftone screen
        h, w = x.shape[:2]
        period = rng.uniform(2.5, 4.0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = np.radians(rng.uniform(15, 75))
        pat = 0.5 + 0.25 * (
            np.cos(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
            + np.cos(2 * np.pi * (-xx * np.sin(ang) + yy * np.cos(ang)) / period)
        )
        x = np.clip(x + 0.25 * (pat[..., None] - 0.5) * (1 - np.abs(2 * x - 1)), 0, 1)
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)


def bent_print(
    photo: np.ndarray, seed: int, seconds: float = 5.0, out_size: tuple[int, int] = (640, 480)
) -> Iterator[tuple[np.ndarray, float]]:
    """A printed photo bent about its vertical axis and turned in 3-D.

    The photo is cropped around its face first (:func:`crop_face`).
    Ray-cylinder intersection per camera pixel: the print (width 0.5-0.8 of
    the view) is wrapped on a cylinder whose radius changes over time
    (flat to strongly bent) and rotated by up to +-20 deg yaw, +-12 deg
    pitch, in front of a static room.

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
    seed : int

    Yields
    ------
    (ndarray of uint8, shape (out_h, out_w, 3), float)
    """
    rng = np.random.default_rng(seed)
    ow, oh = out_size
    img = _print_look(crop_face(fit(photo, 800)), rng)
    ph, pw = img.shape[:2]
    room = _room(rng, ow, oh)
    f = 1.1 * ow
    width = rng.uniform(0.55, 0.85) * ow  # print width in "pixels at unit depth f"
    scale = width / pw  # world units per print pixel (depth f gives 1:1)
    fps = float(rng.choice([25.0, 30.0]))
    n = int(seconds * fps)
    walk = _smooth_walk(rng, n, 5, width=13)
    phase = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float64)
    rays = np.stack([(xx - ow / 2) / f, (yy - oh / 2) / f, np.ones_like(xx)], axis=-1)
    crf = int(rng.integers(23, 30))
    sigma = rng.uniform(1.5, 4)
    frames = []
    for i in range(n):
        tt = i / fps
        curv = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * tt + phase)  # 0 flat .. 1 bent
        radius = width / (0.3 + 2.2 * curv)
        yaw = np.radians(20 * walk[i, 0])
        pitch = np.radians(12 * walk[i, 1])
        cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
        rot = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        centre = np.array([0.05 * ow * walk[i, 2], 0.05 * oh * walk[i, 3], f * (1 + 0.08 * walk[i, 4])])
        # camera rays in the print's frame: o + s d; the print lies on the cylinder
        # x^2 + (z - R)^2 = R^2 through its centre, edges bent away from the camera
        o = rot.T @ (-centre)
        d = rays @ rot  # rot.T applied to each ray, shape (H, W, 3)
        a = d[..., 0] ** 2 + d[..., 2] ** 2
        b = 2 * (o[0] * d[..., 0] + (o[2] - radius) * d[..., 2])
        c = o[0] ** 2 + (o[2] - radius) ** 2 - radius**2
        disc = b * b - 4 * a * c
        ok = disc >= 0
        s = (-b - np.sqrt(np.where(ok, disc, 0))) / (2 * a)
        px = o[0] + s * d[..., 0]
        py = o[1] + s * d[..., 1]
        pz = o[2] + s * d[..., 2]
        u = radius * np.arctan2(px, radius - pz)
        mx = (u / scale + pw / 2).astype(np.float32)
        my = (py / scale + ph / 2).astype(np.float32)
        inside = ok & (mx >= 0) & (mx <= pw - 1) & (my >= 0) & (my <= ph - 1)
        warped = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        shade = (0.8 + 0.2 * np.abs(np.cos(u / radius)))[..., None]  # light falls off across the bend
        out = np.where(inside[..., None], warped * shade, room).astype(np.float32)
        out += rng.normal(0, sigma, size=out.shape).astype(np.float32)
        frames.append(np.clip(out, 0, 255).astype(np.uint8))
    frames = h264_roundtrip(frames, fps, crf)
    for i, fr in enumerate(frames):
        yield fr, i / fps


# --------------------------------------------------------------------------- puppeteering (independent code)


def puppet_photo(
    photo: np.ndarray,
    photo_points: np.ndarray,
    driver_points: np.ndarray,
    driver_t: np.ndarray,
    seed: int,
) -> Iterator[tuple[np.ndarray, float]]:
    """Animate a photo by another person's real landmark track.

    The driver's mesh motion relative to its first frame (scaled to the
    photo's face size) is added to the photo's mesh; every output frame is a
    piecewise-affine warp over a Delaunay triangulation of the moved mesh,
    frame corners pinned.  Eyelid and mouth landmarks move as the driver's
    did, so blinks and speech are transferred; head motion too.

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
        Already at its output size.
    photo_points : ndarray, shape (478, 3)
    driver_points : ndarray, shape (N, 478, 3)
        ``nan`` rows where the driver had no face.
    driver_t : ndarray, shape (N,)
    seed : int

    Yields
    ------
    (ndarray of uint8, shape (H, W, 3), float)
    """
    from matplotlib.tri import LinearTriInterpolator, Triangulation

    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    src = photo_points[:, :2].astype(np.float64)
    good = np.all(np.isfinite(driver_points[:, :, 0]), axis=1)
    drv = driver_points[good, :, :2].astype(np.float64)
    tt = driver_t[good] - driver_t[good][0]
    scale = np.ptp(src[:, 0]) / max(np.ptp(drv[0, :, 0]), 1e-6)
    gain = rng.uniform(0.8, 1.2)
    border = np.array(
        [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w / 2, 0], [w / 2, h - 1], [0, h / 2], [w - 1, h / 2]]
    )
    c = src.mean(axis=0)
    rad = 0.75 * max(np.ptp(src[:, 0]), np.ptp(src[:, 1]))
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = c + rad * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    ring = ring[(ring[:, 0] > 1) & (ring[:, 0] < w - 2) & (ring[:, 1] > 1) & (ring[:, 1] < h - 2)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # a generator closes the lids fully: the driver's upper-lid motion is amplified
    lid_gain = np.ones((src.shape[0], 1))
    lid_gain[[246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398]] = 1.8
    for i in range(drv.shape[0]):
        delta = (drv[i] - drv[0]) * scale * gain * lid_gain
        dst = src + delta
        # ring follows half the head motion, the frame border stays put
        dst_all = np.vstack([dst, ring + 0.5 * delta.mean(axis=0), border])
        src_all = np.vstack([src, ring, border])
        tri = Triangulation(dst_all[:, 0], dst_all[:, 1])
        mx = LinearTriInterpolator(tri, src_all[:, 0] - dst_all[:, 0])(xx, yy)
        my = LinearTriInterpolator(tri, src_all[:, 1] - dst_all[:, 1])(xx, yy)
        mapx = (xx + np.ma.filled(mx, 0.0)).astype(np.float32)
        mapy = (yy + np.ma.filled(my, 0.0)).astype(np.float32)
        yield cv2.remap(photo, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), float(tt[i])


# --------------------------------------------------------------------------- a photo turned when asked


def turned_photo(
    photo: np.ndarray,
    seed: int,
    turn_deg: float,
    turn_at_s: float,
    seconds: float = 6.0,
    turn_s: float = 2.0,
    out_size: tuple[int, int] = (640, 480),
) -> Frames:
    """A flat photo filling most of the view, turned in 3-D about its vertical axis and back.

    What an attacker holding a print or a phone does when asked to turn the head: from
    ``turn_at_s`` the picture turns out to ``turn_deg`` degrees and back over ``turn_s``
    (raised cosine), about its own centre, at the distance where it fills 90 % of the view's
    height (f = 1.1 x the view's width).  Unlike :func:`handheld_homographies` (a camera
    turning about its own centre) the picture itself turns, so it is foreshortened.  Sensor
    noise (sigma 2) and H.264 (crf 24), as the other generators.

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
    seed : int
    turn_deg : float
        How far the picture turns; negative turns it the other way.
    turn_at_s : float
        When the turn starts, seconds.

    Returns
    -------
    list of (ndarray of uint8, shape (out_h, out_w, 3), float)
    """
    rng = np.random.default_rng(seed)
    ow, oh = out_size
    picture = crop_face(fit(photo, 800))
    scale = 0.9 * oh / picture.shape[0]
    picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ph, pw = picture.shape[:2]
    f = 1.1 * ow
    k = np.array([[f, 0, ow / 2], [0, f, oh / 2], [0, 0, 1.0]])
    centre = np.array([0.0, 0.0, f])
    fps = 30.0
    frames = []
    for i in range(int(seconds * fps)):
        phase = np.clip((i / fps - turn_at_s) / turn_s, 0.0, 1.0)
        a = np.radians(turn_deg) * np.sin(np.pi * phase) ** 2
        r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        # picture pixel (u, v) lies at (u - pw/2, v - ph/2, f); turned about the picture's centre
        to_view = np.column_stack([r[:, 0], r[:, 1], centre - r @ np.array([pw / 2, ph / 2, 0.0])])
        image = cv2.warpPerspective(picture, k @ to_view, (ow, oh), borderValue=(90, 90, 95))
        frames.append(add_noise(image, rng, 2.0))
    encoded = h264_roundtrip(frames, fps, crf=24)
    return [(frame, i / fps) for i, frame in enumerate(encoded)]
