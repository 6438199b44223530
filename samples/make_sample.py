#!/usr/bin/env python
"""Make ``samples/astronaut_blink.mp4``: a SYNTHETIC blink clip with labels.

The source is scikit-image's ``skimage.data.astronaut()``, a public-domain
NASA portrait of astronaut Eileen Collins that ships inside scikit-image
(nothing is downloaded).  The face mesh is found once with livecert's own
``FaceLandmarker`` in image mode; then, for every frame:

* each eye's upper eyelid is slid down to the lower lid by a backward remap
  driven by the eyelid landmarks: the lash line is carried down rigidly and
  the lid skin above it (up to just under the brow) is stretched smoothly
  to cover the eye, so at full closure the eye shows lid skin and a dark lash
  line, as a shut eye does.  The eyeball is occluded, not squashed;
* a small, smooth head motion (about a pixel of drift, a fraction of a
  percent of scale and a fraction of a degree of roll) and light sensor noise
  are added, so the face is not a frozen photo between blinks;
* everything (crop, 2x upscale with the aspect kept, head motion and eyelid
  warp) is one ``cv2.remap`` of the original picture per frame.

The blinks are at fixed, labelled times.  The output is deterministic (fixed
seed; x264 is deterministic for a given build).  The labels go to a JSON file
beside the clip.

Usage::

    .venv/bin/python samples/make_sample.py [OUTPUT.mp4]

This is test material for the pipeline, NOT evidence that livecert detects
blinks of real people: the real-data tests are that.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage
import skimage.data

from livecert.face.landmarks import FaceLandmarker, RunningMode

log = logging.getLogger("make_sample")

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "astronaut_blink.mp4"

SEED = 20240611
FPS = 30
N_FRAMES = 180  # 6.0 s
OUT_W, OUT_H = 640, 480
SCALE = 2.0  # output pixels per source pixel: a 320x240 crop of the 512x512 photo, aspect kept
CRF = 23
NOISE_SIGMA = 2.0  # sensor noise, 8-bit levels

# Blinks: (start_s, closing_s, closed_s, opening_s).  Real blinks close faster
# than they open and last about 100-400 ms.
BLINKS = (
    (1.20, 0.070, 0.060, 0.100),
    (2.90, 0.060, 0.040, 0.090),
    (4.50, 0.080, 0.070, 0.110),
)

# MediaPipe face mesh eye contours, corner to corner (the subject's right eye
# is on the image's left).
EYES = {
    "right": {
        "upper": [33, 246, 161, 160, 159, 158, 157, 173, 133],
        "lower": [33, 7, 163, 144, 145, 153, 154, 155, 133],
    },
    "left": {
        "upper": [263, 466, 388, 387, 386, 385, 384, 398, 362],
        "lower": [263, 249, 390, 373, 374, 380, 381, 382, 362],
    },
}
LID_OVERSHOOT = 1.12  # the upper lid travels this fraction of the lid gap (slightly past the lower lid)
LASH_BAND = 0.10  # height of the rigidly moved lash band, fraction of eye width
SKIN_HEIGHT = 0.38  # lid skin stretched over the eye, above the lash line, fraction of eye width
CORNER_TRAVEL = 0.3  # near and just beyond the corners the lid still moves this fraction of the largest gap...
CORNER_MARGIN = 0.2  # ...tapering to nothing this fraction of the eye width beyond each corner


def smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def closure(t: float) -> float:
    """Eyelid closure at time ``t``: 0 open, 1 shut."""
    for start, closing, closed, opening in BLINKS:
        if start <= t < start + closing:
            return float(smoothstep((t - start) / closing))
        if start + closing <= t < start + closing + closed:
            return 1.0
        if start + closing + closed <= t < start + closing + closed + opening:
            return float(1.0 - smoothstep((t - start - closing - closed) / opening))
    return 0.0


@dataclass(frozen=True)
class Eye:
    """One eye in its own frame: ``s`` along the corner-to-corner axis (left
    to right in the image), ``v`` perpendicular to it, pointing down."""

    origin: np.ndarray
    e_s: np.ndarray
    e_v: np.ndarray
    s_grid: np.ndarray  # sample positions along the eye
    upper_v: np.ndarray  # upper lid at s_grid
    lower_v: np.ndarray  # lower lid at s_grid
    width: float

    @classmethod
    def from_mesh(cls, points: np.ndarray, upper: list[int], lower: list[int]) -> Eye:
        c0, c1 = points[upper[0], :2].astype(np.float64), points[upper[-1], :2].astype(np.float64)
        if c0[0] > c1[0]:
            c0, c1 = c1, c0
        width = float(np.linalg.norm(c1 - c0))
        e_s = (c1 - c0) / width
        e_v = np.array([-e_s[1], e_s[0]])
        origin = (c0 + c1) / 2.0

        def curve(ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
            d = points[ids, :2].astype(np.float64) - origin
            s, v = d @ e_s, d @ e_v
            order = np.argsort(s)
            return s[order], v[order]

        su, vu = curve(upper)
        sl, vl = curve(lower)
        half = width / 2.0
        s_grid = np.linspace(-half - CORNER_MARGIN * width, half + CORNER_MARGIN * width, 129)
        upper_v = np.interp(s_grid, su, vu)
        gap = np.maximum(np.interp(s_grid, sl, vl) - upper_v, 0.0)
        # The lash line runs a little past the corner landmarks: close it there too, so the shut
        # lid is one smooth arc instead of hooking up at the corners.
        taper = 1.0 - smoothstep((np.abs(s_grid) - half) / (CORNER_MARGIN * width))
        gap = np.maximum(gap, CORNER_TRAVEL * gap.max() * taper)
        # Smooth the travel along the eye (a landmark polyline has kinks) so the shut lid is one arc.
        step = s_grid[1] - s_grid[0]
        kernel = np.exp(-0.5 * (np.arange(-24, 25) * step / (0.06 * width)) ** 2)
        gap = np.convolve(np.pad(gap, 24, mode="edge"), kernel / kernel.sum(), mode="valid")
        return cls(origin, e_s, e_v, s_grid, upper_v, upper_v + gap, width)

    def source_box(self) -> np.ndarray:
        """Corners (4, 2) of a source-image box holding everything the warp changes."""
        top = float((self.upper_v - SKIN_HEIGHT * self.width).min()) - 1.0
        bottom = float((self.upper_v + LID_OVERSHOOT * (self.lower_v - self.upper_v)).max()) + 2.0
        s0, s1 = float(self.s_grid[0]) - 1.0, float(self.s_grid[-1]) + 1.0
        sv = np.array([(s0, top), (s1, top), (s1, bottom), (s0, bottom)])
        return self.origin + sv[:, :1] * self.e_s + sv[:, 1:] * self.e_v

    def warp(self, x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backward map for closure ``c`` at source points ``(x, y)``.

        Returns ``(x_lid, y_lid, alpha)``: where to sample the picture with
        the upper lid drawn down, and how much of each pixel the lid covers
        (elsewhere the eye itself shows, unmoved: the lid occludes it).
        """
        dx, dy = x - self.origin[0], y - self.origin[1]
        s = dx * self.e_s[0] + dy * self.e_s[1]
        v = dx * self.e_v[0] + dy * self.e_v[1]
        u = np.interp(s, self.s_grid, self.upper_v)
        top = u - SKIN_HEIGHT * self.width  # above this nothing moves
        moving = (s > self.s_grid[0]) & (s < self.s_grid[-1]) & (v > top)
        gap = np.where(moving, np.interp(s, self.s_grid, self.lower_v) - u, 0.0)
        travel = c * LID_OVERSHOOT * gap  # how far the lash line moves down
        lash = LASH_BAND * self.width
        new_edge = u + travel
        # The lash band moves rigidly; the skin between `top` and it is
        # stretched with a smooth profile (slope <= 1.5 * travel / span < 1,
        # so the map stays monotonic).
        span = np.maximum(new_edge - lash - top, 1e-6)
        w = smoothstep((v - top) / span)
        v_src = np.where(moving, np.where(v < new_edge - lash, v - travel * w, v - travel), v)
        alpha = np.where(moving & (travel > 0), np.clip(new_edge + 0.5 - v, 0.0, 1.0), 0.0)  # 1-px soft lid edge
        xs = self.origin[0] + s * self.e_s[0] + v_src * self.e_v[0]
        ys = self.origin[1] + s * self.e_s[1] + v_src * self.e_v[1]
        return xs, ys, alpha


def head_motion(rng: np.random.Generator):
    """Smooth, small head motion: returns f(t) -> (shift_x, shift_y, scale, roll_rad)."""
    freqs = rng.uniform(0.15, 0.6, size=(4, 2))
    phases = rng.uniform(0.0, 2 * math.pi, size=(4, 2))
    amps = np.array([[1.0, 0.4], [0.8, 0.3], [0.005, 0.002], [math.radians(0.3), math.radians(0.1)]])

    def at(t: float) -> tuple[float, ...]:
        vals = (amps * np.sin(2 * math.pi * freqs * t + phases)).sum(axis=1)
        return float(vals[0]), float(vals[1]), 1.0 + float(vals[2]), float(vals[3])

    return at


def find_mesh(img: np.ndarray) -> np.ndarray:
    with FaceLandmarker(mode=RunningMode.IMAGE, max_faces=1) as landmarker:
        obs = landmarker.process(img)
    if obs.points is None:
        raise RuntimeError("no face found in skimage.data.astronaut()")
    return obs.points.astype(np.float64)


class Renderer:
    """Draws frame ``i``: crop + 2x scale + head motion + eyelid warp in one
    backward map of the photo, then sensor noise."""

    def __init__(self, img: np.ndarray, eyes: list[Eye], centre: np.ndarray, seed: int) -> None:
        self.src = img.astype(np.float32)
        self.eyes = eyes
        self.centre = centre
        rng = np.random.default_rng(seed)
        self.motion = head_motion(rng)
        self.noise = np.random.default_rng(seed + 1)
        ox, oy = np.meshgrid(np.arange(OUT_W, dtype=np.float64), np.arange(OUT_H, dtype=np.float64))
        self.ox, self.oy = ox - (OUT_W - 1) / 2.0, oy - (OUT_H - 1) / 2.0

    def __call__(self, i: int) -> np.ndarray:
        t = i / FPS
        sx, sy, k, roll = self.motion(t)
        # Output pixel -> source point: undo the shift, then the roll and scale about the centre.
        cr, sr = math.cos(roll), math.sin(roll)
        dx, dy = self.ox - sx, self.oy - sy
        x = self.centre[0] + (cr * dx + sr * dy) / (SCALE * k)
        y = self.centre[1] + (-sr * dx + cr * dy) / (SCALE * k)
        out = cv2.remap(
            self.src, x.astype(np.float32), y.astype(np.float32), cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        )
        c = closure(t)
        if c > 0:
            for eye in self.eyes:
                # The eye's box in output pixels (forward map), so only it is warped.
                d = eye.source_box() - self.centre
                bx = (OUT_W - 1) / 2.0 + sx + SCALE * k * (cr * d[:, 0] - sr * d[:, 1])
                by = (OUT_H - 1) / 2.0 + sy + SCALE * k * (sr * d[:, 0] + cr * d[:, 1])
                c0, c1 = max(0, int(bx.min()) - 2), min(OUT_W, int(bx.max()) + 3)
                r0, r1 = max(0, int(by.min()) - 2), min(OUT_H, int(by.max()) + 3)
                xl, yl, alpha = eye.warp(x[r0:r1, c0:c1], y[r0:r1, c0:c1], c)
                lid = cv2.remap(
                    self.src,
                    xl.astype(np.float32),
                    yl.astype(np.float32),
                    cv2.INTER_CUBIC,
                    borderMode=cv2.BORDER_REFLECT,
                )
                a = alpha[:, :, None].astype(np.float32)
                out[r0:r1, c0:c1] = a * lid + (1.0 - a) * out[r0:r1, c0:c1]
        out += NOISE_SIGMA * self.noise.standard_normal(out.shape, dtype=np.float32)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def encode(frames, path: Path) -> None:
    with av.open(str(path), mode="w") as container:
        container.metadata["title"] = "SYNTHETIC blink clip from skimage.data.astronaut() (public-domain NASA photo)"
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = OUT_W, OUT_H
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"crf": str(CRF), "preset": "medium"}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def labels(output: Path) -> dict:
    blinks = []
    times = np.arange(N_FRAMES) / FPS
    for start, closing, closed, opening in BLINKS:
        end = start + closing + closed + opening
        frames = [i for i, t in enumerate(times) if start <= t < end and closure(float(t)) > 0]
        shut = [i for i, t in enumerate(times) if closure(float(t)) >= 0.999 and start <= t < end]
        blinks.append(
            {
                "start_s": round(start, 4),
                "end_s": round(end, 4),
                "fully_closed_s": [round(start + closing, 4), round(start + closing + closed, 4)],
                "frames_with_closure": [frames[0], frames[-1]],
                "frames_fully_closed": [shut[0], shut[-1]] if shut else [],
            }
        )
    return {
        "clip": output.name,
        "synthetic": True,
        "description": (
            "SYNTHETIC clip: eyelid closures were warped into a still photograph. "
            "Not a recording of a real blink and not evidence that livecert works on real people."
        ),
        "source": {
            "image": "skimage.data.astronaut()",
            "subject": "NASA astronaut Eileen Collins",
            "license": "public domain (NASA photograph, shipped inside scikit-image)",
            "scikit_image_version": skimage.__version__,
        },
        "generator": "samples/make_sample.py",
        "command": ".venv/bin/python samples/make_sample.py  (from the repository root)",
        "labels_from": "construction: the eyelid warp is driven by these intervals (not by any detector)",
        "seed": SEED,
        "fps": FPS,
        "n_frames": N_FRAMES,
        "duration_s": N_FRAMES / FPS,
        "width": OUT_W,
        "height": OUT_H,
        "codec": f"h264 (libx264, yuv420p, crf {CRF})",
        "timestamps": "pts = frame index / fps, first frame at 0 s",
        "expected": {"passed": True, "n_blinks": len(BLINKS)},
        "blinks": blinks,
        "blink_interval_meaning": (
            "start_s: the upper lids start to move down; end_s: they are fully open again. "
            "Closing and opening follow smoothstep ramps; fully_closed_s is the interval of full closure."
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "output", nargs="?", type=Path, default=DEFAULT_OUTPUT, help="output .mp4 (labels go beside it as .json)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="make_sample: %(message)s", stream=sys.stderr)

    img = skimage.data.astronaut()
    points = find_mesh(img)
    eyes = [Eye.from_mesh(points, e["upper"], e["lower"]) for e in EYES.values()]
    # Crop centred on the face (between the eyes and the mouth), a little above for the hair.
    centre = points[:, :2].mean(axis=0) + np.array([0.0, -6.0])
    half = np.array([OUT_W, OUT_H]) / (2 * SCALE)
    centre = np.clip(centre, half + 2, np.array(img.shape[1::-1]) - half - 2)
    log.info("face mesh found; eye widths %.1f and %.1f px in the photo", eyes[0].width, eyes[1].width)

    render = Renderer(img, eyes, centre, SEED)
    frames = (render(i) for i in range(N_FRAMES))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    encode(frames, args.output)

    label_path = args.output.with_suffix(".json")
    label_path.write_text(json.dumps(labels(args.output), indent=2) + "\n", encoding="utf-8")
    log.info(
        "wrote %s (%d bytes, %d frames) and %s",
        args.output,
        args.output.stat().st_size,
        N_FRAMES,
        label_path,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
