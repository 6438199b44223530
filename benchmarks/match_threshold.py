"""Choose and report the face-match threshold (``MatchConfig.threshold``) from real data.

Run::

    python benchmarks/match_threshold.py [--data DIR] [--compare-dlib5] [--json out.json]
    python benchmarks/match_threshold.py --calibrate-points   # mesh vs dlib 5-point positions

What it measures (data in ``LIVECERT_DATA``, default ``../shared/data``):

* **Photo pairs**: ``pairs/deepface/master.csv`` (columns ``file_x, file_y,
  Decision``; 300 pairs, 38 "Yes"): distance between the two enrollments.
* **Video/photo pairs**: each video runs as a live session runs it (PyAV
  decode via ``open_source``, MediaPipe mesh in VIDEO mode on every
  ``stride``-th frame of the first ``max_seconds``; frames without quality
  flags go through ``frame_score`` into a ``FramePool`` of
  ``MatchConfig.max_frames``); the score is ``template_distance`` of those
  frames to each enrollment photo, as in ``match_faces``.  Genuine pairs:
  ``photos/video_photo_identity_map.tsv`` (rows naming missing files are
  reported: ``pairs/face_recognition/obama/obama1.jpg`` and ``obama3.jpg``)
  plus GRID s1's 30 videos against ``derived_frames/grid_s1_*.png`` (named
  in README / MANIFEST, not in the TSV).  ZJU FNN clips are the source of
  the ZJU stills, so they are never genuine probes; with LivePortrait
  d0/d3/d6 they are impostor probes only.  Impostor pairs: every video
  against every photo of another identity (deepface, ``photos/impostors``
  and the other videos' photos; ``two_people.jpg`` is refused at enrollment).

Split: **tuning** = the deepface photo pairs + video/photo pairs whose two
identities are both in {ZJU 000001M, 000005M, 000009M, 000013F, 000017F,
Obama, LivePortrait d18 man, LivePortrait d0, deepface people};
**report** = pairs whose two identities are both in {ZJU 000003M, 000007M,
000011M, 000015F, 000019F, GRID s1, Lin-Manuel Miranda, LivePortrait d3, d6,
``photos/impostors``}.  Rule (:func:`choose_threshold`): 0.04 below the
closest tuning impostor, rounded down to 0.005.

Results (mesh 5-point alignment, dlib ResNet, 5 frames, mean descriptor):

=====================  =======  ========  =======  =====================  ===============
pairs                  genuine  impostor  EER      FRR at FAR<=0.1 %      at 0.365 FRR/FAR
=====================  =======  ========  =======  =====================  ===============
deepface photo pairs   38       262       0.0      n/a (<1000 impostors)  0.447 / 0
video/photo, all       65       3193      0.0009   0.015                  0.046 / 0
tuning part            57       1020      0.018    0.193                  0.351 / 0
report part            46       426       0.0      n/a (<1000 impostors)  0 / 0
=====================  =======  ========  =======  =====================  ===============

Closest tuning impostor 0.4085 -> threshold 0.365.  Closest impostor of all:
0.369 (ZJU 000017F's FNN clip vs 000019F's still: same webcam, same room);
every impostor not ZJU-vs-ZJU is >= 0.451.  Rejected genuine pairs at 0.365:
Obama's address vs ``obama2.jpg`` (0.417) and ``obama_small.jpg`` (0.375),
ZJU 000013F looking up (0.403).  Genuine photo pairs years apart reach 0.61,
so an old enrollment photo is often refused.  FAR of video pairs at 0.4 /
0.5 / 0.6: 0.09 % / 1.9 % / 8.9 %.

Glasses and looking up (30 ZJU probes against the FNN still, 10 each):
thin glasses FTN median 0.273 (max 0.293), black glasses FBN median 0.290
(max 0.324), none rejected; looking up UNN median 0.303 (max 0.403), 1 of
10 rejected.  GRID s1 (same speaker, other clip) median 0.197.

Alignment: mesh-derived 5 points vs dlib's HOG detector + 5-point predictor
move a descriptor by 0.076 median (0.04-0.12 for 90 %, max 0.17, 418
faces); both reject 3 of 65 genuine pairs at FAR = 0 (closest impostor
0.369 mesh, 0.378 dlib).  Mesh points are used: no second detector (HOG
missed ``liveportrait_d8.jpg``), the same landmarks as liveness.

Descriptor time: 82 ms per face on one core (``taskset -c 0``).

Embeddings are cached in ``LIVECERT_MATCH_CACHE`` (default
``/tmp/livecert-match-cache``), keyed by file, settings and the syntax tree
of the code that makes them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger("match_threshold")

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT.parent / "shared" / "data"
CACHE_VERSION = 2

TUNE_IDENTITIES = frozenset(
    {
        "zju_000001M", "zju_000005M", "zju_000009M", "zju_000013F", "zju_000017F",
        "obama", "liveportrait_d18_man", "liveportrait_d0",
    }
)  # fmt: skip
# deepface people are all tuning identities (prefix "deepface_").
FAR_TARGET = 0.001


def data_root(arg: str | None = None) -> Path:
    return Path(arg or os.environ.get("LIVECERT_DATA") or DEFAULT_DATA)


def in_tuning(identity: str) -> bool:
    return identity in TUNE_IDENTITIES or identity.startswith("deepface_")


# ----------------------------------------------------------------------------
# labels


@dataclass
class Labels:
    """Identities of photos and videos, and the genuine video/photo pairs."""

    photos: dict[str, str] = field(default_factory=dict)  # rel path -> identity
    videos: dict[str, tuple[str, str]] = field(default_factory=dict)  # rel -> (identity, condition)
    genuine: set[tuple[str, str]] = field(default_factory=set)  # (video rel, photo rel)
    missing: list[str] = field(default_factory=list)
    deepface_pairs: list[tuple[str, str, bool]] = field(default_factory=list)


_ZJU = re.compile(r"(\d{6}[MF])_(FNN|FBN|FTN|UNN)\.avi$")


def _identity_from_name(name: str) -> str:
    if name.startswith("ZJU subject "):
        return "zju_" + name.split()[-1]
    if name == "Barack Obama":
        return "obama"
    if name == "Lin-Manuel Miranda":
        return "lin_manuel_miranda"
    if "d18" in name:
        return "liveportrait_d18_man"
    return re.sub(r"\W+", "_", name.lower()).strip("_")


def _condition(rel: str) -> str:
    m = _ZJU.search(rel)
    if m:
        return m.group(2)
    return "grid" if "/grid/" in rel else Path(rel).stem


def load_labels(data: Path) -> Labels:
    """Read the identity map, the deepface pair list and the folder layout."""
    lab = Labels()

    def exists(rel: str, what: str) -> bool:
        if (data / rel).is_file():
            return True
        lab.missing.append(f"{rel} ({what})")
        log.warning("listed but missing: %s (%s)", rel, what)
        return False

    with open(data / "photos" / "video_photo_identity_map.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            ident = _identity_from_name(row["identity"])
            vids = [v for v in row["videos"].split(";") if v and exists(v, f"video of {ident}")]
            photos = [p for p in row["same_person_photos"].split(";") if p and exists(p, f"photo of {ident}")]
            for v in vids:
                lab.videos[v] = (ident, _condition(v))
            for p in photos:
                lab.photos[p] = ident
            lab.genuine.update((v, p) for v in vids for p in photos)
    # GRID s1: not in the TSV; README and MANIFEST name the s1 still.
    grid_photos = sorted(
        str(p.relative_to(data)) for p in (data / "photos/same_person/derived_frames").glob("grid_s1_*")
    )
    grid_videos = sorted(str(p.relative_to(data)) for p in (data / "videos/grid/s1").glob("*.mpg"))
    for v in grid_videos:
        lab.videos[v] = ("grid_s1", "grid")
    for p in grid_photos:
        lab.photos[p] = "grid_s1"
    lab.genuine.update((v, p) for v in grid_videos for p in grid_photos)
    # impostor-only videos: ZJU FNN (source of the ZJU stills) and LivePortrait d0/d3/d6
    for p in sorted((data / "videos/zju_eyeblink").glob("*/*_FNN.avi")):
        m = _ZJU.search(p.name)
        assert m is not None
        lab.videos[str(p.relative_to(data))] = ("zju_" + m.group(1), "FNN")
    for name in ("d0", "d3", "d6"):
        rel = f"videos/talking_heads/liveportrait/{name}.mp4"
        if exists(rel, "impostor video"):
            lab.videos[rel] = (f"liveportrait_{name}", name)
    for p in sorted((data / "photos/impostors").glob("*")):
        if p.name != "two_people.jpg":
            lab.photos[str(p.relative_to(data))] = f"impostor_{p.stem}"
    # deepface: identities are the connected groups of "Yes" pairs
    with open(data / "pairs/deepface/master.csv", newline="", encoding="utf-8") as f:
        rows = [(r["file_x"].strip(), r["file_y"].strip(), r["Decision"].strip() == "Yes") for r in csv.DictReader(f)]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b, same in rows:
        find(a), find(b)
        if same:
            parent[find(a)] = find(b)
    for name in parent:
        rel = f"pairs/deepface/{name}"
        if exists(rel, "deepface photo"):
            lab.photos[rel] = "deepface_" + Path(find(name)).stem
    lab.deepface_pairs = [(f"pairs/deepface/{a}", f"pairs/deepface/{b}", s) for a, b, s in rows]
    return lab


# ----------------------------------------------------------------------------
# embeddings (cached)


def cache_dir() -> Path | None:
    value = os.environ.get("LIVECERT_MATCH_CACHE", "/tmp/livecert-match-cache")
    if value.lower() in ("", "0", "off", "none"):
        return None
    return Path(value)


def _code_hash() -> str:
    """Hash of the code that cached embeddings depend on: its syntax tree without
    docstrings, so that reformatting or documenting it keeps the cache."""
    import ast
    import inspect

    from livecert.identity import embedding, matching

    h = hashlib.sha1(str(CACHE_VERSION).encode())
    for obj in (embedding, matching.enroll, matching.frame_score, matching.FramePool):
        tree = ast.parse(inspect.getsource(obj))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        h.update(ast.dump(tree).encode())
    return h.hexdigest()[:12]


def _cache_path(kind: str, path: Path, settings: str) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{settings}|{_code_hash()}".encode())
    return root / f"{kind}-{path.stem}-{key.hexdigest()[:16]}.npz"


def _cached(cpath: Path | None) -> dict[str, np.ndarray] | None:
    if cpath is None or not cpath.is_file():
        return None
    try:
        with np.load(cpath, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cache file %s (%s)", cpath, exc)
        return None


def _store(cpath: Path | None, **arrays: np.ndarray) -> None:
    if cpath is None:
        return
    tmp = cpath.with_name(cpath.name + f".{os.getpid()}.tmp")
    try:
        cpath.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, cpath)
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("cannot write cache file %s (%s)", cpath, exc)
        tmp.unlink(missing_ok=True)


def photo_embedding(path: Path, embedder: object, *, dlib5: object | None = None) -> dict[str, np.ndarray]:
    """Enroll one photo; returns ``mesh`` (128,) (nan if refused), ``code`` and optionally ``dlib5`` (128,)."""
    from livecert.identity.embedding import align_face
    from livecert.identity.enrollment import EnrollmentError, enroll
    from livecert.io.images import read_image_rgb

    cpath = _cache_path("photo", path, "")
    hit = _cached(cpath)
    if hit is not None and (dlib5 is None or bool(hit.get("dlib5_done", False))):
        return hit
    nan = np.full(128, np.nan, np.float32)
    out = {"mesh": nan, "dlib5": nan, "code": np.array(""), "dlib5_done": np.array(dlib5 is not None)}
    try:
        out["mesh"] = enroll(path, embedder=embedder).embedding  # type: ignore[arg-type]
    except EnrollmentError as exc:
        out["code"] = np.array(exc.code.value)
    if dlib5 is not None:
        rgb = read_image_rgb(path)
        five = dlib5(rgb)  # type: ignore[operator]
        if five is not None:
            out["dlib5"] = embedder.embed(align_face(rgb, five))  # type: ignore[attr-defined]
    _store(cpath, **out)
    return out


@dataclass(frozen=True)
class VideoSettings:
    stride: int = 2
    max_seconds: float = 6.0
    max_frames: int = 5
    min_gap_s: float = 0.3

    def key(self) -> str:
        return f"{self.stride}|{self.max_seconds}|{self.max_frames}|{self.min_gap_s}"


def video_embeddings(
    path: Path, embedder: object, settings: VideoSettings, *, dlib5: object | None = None
) -> dict[str, np.ndarray]:
    """Run a video as a live session would and embed its pooled frames.

    Returns ``mesh`` (k, 128), ``dlib5`` (k, 128; nan rows where dlib found
    no face or not computed), ``times`` (k,), ``scores`` (k,), ``frames``
    (frames decoded), ``with_face`` (frames with a mesh), ``ms`` (time spent).
    """
    from livecert.config import QualityConfig
    from livecert.face import geometry
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.face.quality import measure
    from livecert.identity.embedding import align_face, embed_faces
    from livecert.identity.matching import FramePool
    from livecert.io.sources import open_source

    cpath = _video_cache_path(path, settings)
    hit = _cached(cpath)
    if hit is not None and (dlib5 is None or bool(hit.get("dlib5_done", False))):
        return hit
    t0 = time.perf_counter()
    pool = FramePool(settings.max_frames, settings.min_gap_s)
    qcfg = QualityConfig()
    n = n_face = 0
    with open_source(path) as src, FaceLandmarker(mode=RunningMode.VIDEO) as lm:
        for frame in src:
            if frame.t_s > settings.max_seconds:
                break
            n += 1
            if frame.index % settings.stride:
                continue
            obs = lm.process(frame.rgb, frame.t_s)
            if obs.points is None:
                continue
            n_face += 1
            q = measure(frame.rgb, obs.points, obs.n_faces, qcfg)
            left, right = geometry.eye_apertures(obs.points)
            pool.offer_frame(frame.rgb, obs.points, frame.t_s, q, (left + right) / 2)  # as LivenessSession
    cands = pool.candidates()
    mesh = embed_faces(cands, embedder)  # type: ignore[arg-type]
    d5 = np.full_like(mesh, np.nan)
    if dlib5 is not None:
        for i, (rgb, _) in enumerate(cands):
            five = dlib5(rgb)  # type: ignore[operator]
            if five is not None:
                d5[i] = embedder.embed(align_face(rgb, five))  # type: ignore[attr-defined]
    scores = sorted((s for s, *_ in pool._items), reverse=True)  # noqa: SLF001 - benchmark introspection
    out = {
        "mesh": mesh,
        "dlib5": d5,
        "times": np.array(pool.times(), np.float64),
        "scores": np.array(scores, np.float64),
        "frames": np.array(n),
        "with_face": np.array(n_face),
        "ms": np.array((time.perf_counter() - t0) * 1e3),
        "dlib5_done": np.array(dlib5 is not None),
    }
    _store(cpath, **out)
    return out


# ----------------------------------------------------------------------------
# pairs and rates


@dataclass
class PairSet:
    """Distances of labelled pairs."""

    genuine: list[tuple[str, str, float]] = field(default_factory=list)
    impostor: list[tuple[str, str, float]] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([d for *_, d in self.genuine]), np.array([d for *_, d in self.impostor])

    def extend(self, other: PairSet) -> PairSet:
        return PairSet(self.genuine + other.genuine, self.impostor + other.impostor)


def rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FRR, FAR) at a threshold: genuine above it, impostors at or below it."""
    frr = float(np.mean(genuine > threshold)) if genuine.size else math.nan
    far = float(np.mean(impostor <= threshold)) if impostor.size else math.nan
    return frr, far


def roc_summary(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, float | int | None]:
    """EER (and its threshold), FRR at FAR <= 0.1 % where >= 1000 impostor pairs, and FRR at FAR = 0."""
    out: dict[str, float | int | None] = {"n_genuine": int(genuine.size), "n_impostor": int(impostor.size)}
    if not genuine.size or not impostor.size:
        return out
    ts = np.unique(np.concatenate([genuine, impostor, [0.0, 2.0]]))
    frr = np.array([np.mean(genuine > t) for t in ts])
    far = np.array([np.mean(impostor <= t) for t in ts])
    i = int(np.argmin(np.abs(frr - far)))
    out["eer"] = float((frr[i] + far[i]) / 2)
    out["eer_threshold"] = float(ts[i])
    ok0 = far == 0
    out["frr_at_far0"] = float(frr[ok0].min())
    out["far0_threshold"] = float(ts[ok0].max())
    if impostor.size >= 1000:
        ok = far <= FAR_TARGET
        out["frr_at_far_0.1pct"] = float(frr[ok].min())
    else:
        out["frr_at_far_0.1pct"] = None  # too few impostor pairs to measure
    out["max_genuine"] = float(genuine.max())
    out["min_impostor"] = float(impostor.min())
    return out


def photo_pairs(lab: Labels, photos: dict[str, dict[str, np.ndarray]], kind: str = "mesh") -> PairSet:
    ps = PairSet()
    for a, b, same in lab.deepface_pairs:
        d = float(np.linalg.norm(photos[a][kind].astype(np.float64) - photos[b][kind]))
        if math.isfinite(d):
            (ps.genuine if same else ps.impostor).append((a, b, d))
    return ps


def video_pairs(
    lab: Labels, videos: dict[str, dict[str, np.ndarray]], photos: dict[str, dict[str, np.ndarray]], kind: str = "mesh"
) -> PairSet:
    """Distance of every video's live template to every usable photo (as ``match_faces`` does)."""
    from livecert.identity.embedding import template_distance

    ps = PairSet()
    for v, ve in videos.items():
        vid_ident = lab.videos[v][0]
        emb = ve[kind]
        emb = emb[np.all(np.isfinite(emb), axis=1)]
        for p, pe in photos.items():
            if not np.all(np.isfinite(pe[kind])) or not emb.shape[0]:
                continue
            d = template_distance(emb, pe[kind])[0]
            if (v, p) in lab.genuine:
                ps.genuine.append((v, p, d))
            elif lab.photos[p] != vid_ident:
                ps.impostor.append((v, p, d))
    return ps


def split(lab: Labels, ps: PairSet, tuning: bool) -> PairSet:
    def keep(v: str, p: str) -> bool:
        a, b = lab.videos[v][0], lab.photos[p]
        return in_tuning(a) == tuning and in_tuning(b) == tuning

    return PairSet([x for x in ps.genuine if keep(x[0], x[1])], [x for x in ps.impostor if keep(x[0], x[1])])


def choose_threshold(impostor: np.ndarray, margin: float = 0.04, step: float = 0.005) -> float:
    """The threshold rule: ``margin`` below the closest impostor, rounded down to ``step``.

    ``margin`` (0.04) is twice the spread of one pair's distance between
    equally reasonable pipelines (frame choice, mesh or dlib alignment,
    median or mean aggregation moved single pairs by up to 0.02).
    """
    top = float(impostor.min()) - margin
    return round(math.floor(top / step + 1e-9) * step, 3)


# ----------------------------------------------------------------------------
# driver


@dataclass
class Measured:
    labels: Labels
    photos: dict[str, dict[str, np.ndarray]]
    videos: dict[str, dict[str, np.ndarray]]


def measure_all(
    data: Path,
    *,
    settings: VideoSettings | None = None,
    compare_dlib5: bool = False,
    videos: Iterable[str] | None = None,
    workers: int = 1,
) -> Measured:
    """Embed every labelled photo and video (or the listed videos), videos in ``workers`` processes."""
    from livecert.identity.detection import DlibFivePoints
    from livecert.identity.embedding import DlibEmbedder

    settings = settings or VideoSettings()
    lab = load_labels(data)
    embedder = DlibEmbedder()
    dlib5 = DlibFivePoints() if compare_dlib5 else None
    photos = {p: photo_embedding(data / p, embedder, dlib5=dlib5) for p in sorted(lab.photos)}
    for p, e in photos.items():
        if str(e["code"]):
            log.warning("enrollment refused %s: %s", p, e["code"])
    wanted = sorted(lab.videos) if videos is None else list(videos)
    vids: dict[str, dict[str, np.ndarray]] = {}
    todo = [v for v in wanted if _needs_run(data / v, settings, compare_dlib5)]
    if workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=exec, initargs=(_boot_source(), {})) as ex:
            for v, out in zip(todo, ex.map(_worker_video, [str(data / v) for v in todo], [settings] * len(todo),
                                           [compare_dlib5] * len(todo))):  # fmt: skip
                vids[v] = out
    for i, v in enumerate(wanted):
        if v not in vids:
            vids[v] = video_embeddings(data / v, embedder, settings, dlib5=dlib5)
        log.info("[%d/%d] %s: %d frames used, %.0f ms", i + 1, len(wanted), v, vids[v]["mesh"].shape[0], vids[v]["ms"])
    return Measured(lab, photos, {v: vids[v] for v in wanted})


def _video_cache_path(path: Path, settings: VideoSettings) -> Path | None:
    return _cache_path("video", path, settings.key())


def _needs_run(path: Path, settings: VideoSettings, compare_dlib5: bool) -> bool:
    hit = _cached(_video_cache_path(path, settings))
    return hit is None or (compare_dlib5 and not bool(hit.get("dlib5_done", False)))


def _boot_source() -> str:
    """Code a spawned worker runs first so that this module (perhaps loaded from a
    file under any name, as the tests do) can be found by the name it has here."""
    return (
        "import importlib.util, sys\n"
        f"if {__name__!r} not in sys.modules:\n"
        f"    spec = importlib.util.spec_from_file_location({__name__!r}, {str(Path(__file__).resolve())!r})\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        f"    sys.modules[{__name__!r}] = module\n"
        "    spec.loader.exec_module(module)\n"
    )


_WORKER_STATE: dict[str, object] = {}


def _worker_video(path: str, settings: VideoSettings, compare_dlib5: bool) -> dict[str, np.ndarray]:
    from livecert.identity.detection import DlibFivePoints
    from livecert.identity.embedding import DlibEmbedder

    if "embedder" not in _WORKER_STATE:
        _WORKER_STATE["embedder"] = DlibEmbedder()
        _WORKER_STATE["dlib5"] = DlibFivePoints() if compare_dlib5 else None
    return video_embeddings(Path(path), _WORKER_STATE["embedder"], settings, dlib5=_WORKER_STATE["dlib5"])


def descriptor_ms(data: Path, n: int = 40) -> float:
    """Milliseconds per descriptor on one aligned chip (single process, one core)."""
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.identity.embedding import DlibEmbedder, align_face, mesh_to_five
    from livecert.io.images import read_image_rgb

    rgb = read_image_rgb(data / "photos/same_person/obama.jpg")
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        chip = align_face(rgb, mesh_to_five(lm.process(rgb).points))
    emb = DlibEmbedder()
    emb.embed(chip)
    t0 = time.perf_counter()
    for _ in range(n):
        emb.embed(chip)
    return (time.perf_counter() - t0) * 1e3 / n


def calibrate_points(data: Path) -> dict[str, list[float]]:
    """Error of ``mesh_to_five`` against dlib's own 5-point predictor on the photos.

    Per dlib point: mean offset (x, y) and rms distance, in units of the
    inter-ocular distance.
    """
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.identity.detection import DlibFivePoints
    from livecert.identity.embedding import mesh_to_five
    from livecert.io.images import read_image_rgb

    dlib5 = DlibFivePoints()
    errors = []
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        for rel in sorted(load_labels(data).photos):
            rgb = read_image_rgb(data / rel)
            points, ref = lm.process(rgb).points, dlib5(rgb)
            if points is None or ref is None:
                continue
            iod = float(np.linalg.norm(ref[0:2].mean(axis=0) - ref[2:4].mean(axis=0)))
            errors.append((mesh_to_five(points) - ref) / iod)
    e = np.array(errors)
    out = {
        f"point{i}": [*e[:, i].mean(axis=0).round(4), float(np.sqrt((e[:, i] ** 2).sum(1).mean()).round(4))]
        for i in range(5)
    }
    log.info("mesh_to_five vs dlib 5-point on %d photos (mean dx, mean dy, rms; inter-ocular units): %s", len(e), out)
    return out


def _fmt(summary: dict[str, float | int | None]) -> str:
    parts = []
    for k, v in summary.items():
        parts.append(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def report(m: Measured, kind: str = "mesh") -> dict[str, object]:
    lab = m.labels
    pp = photo_pairs(lab, m.photos, kind)
    vp = video_pairs(lab, m.videos, m.photos, kind)
    tune = pp.extend(split(lab, vp, True))
    rep = split(lab, vp, False)
    tg, ti = tune.arrays()
    threshold = choose_threshold(ti)
    out: dict[str, object] = {"kind": kind, "threshold": threshold, "missing": lab.missing}
    for name, ps in (("photo_pairs", pp), ("video_all", vp), ("tuning", tune), ("report", rep)):
        g, i = ps.arrays()
        s = roc_summary(g, i)
        s["frr_at_threshold"], s["far_at_threshold"] = rates(g, i, threshold)
        out[name] = s
        log.info("[%s] %s: %s", kind, name, _fmt(s))
    by_cond: dict[str, list[float]] = {}
    for v, _, d in vp.genuine:
        by_cond.setdefault(lab.videos[v][1] if "zju" in v else lab.videos[v][0], []).append(d)
    out["genuine_by_condition"] = {
        c: {
            "n": len(ds),
            "median": float(np.median(ds)),
            "max": float(max(ds)),
            "rejected": int(sum(d > threshold for d in ds)),
        }
        for c, ds in sorted(by_cond.items())
    }
    for c, s in out["genuine_by_condition"].items():  # type: ignore[union-attr]
        log.info("[%s] genuine %-22s %s", kind, c, s)
    worst = sorted(vp.impostor, key=lambda x: x[2])[:5]
    out["closest_impostors"] = [(v, p, round(d, 4)) for v, p, d in worst]
    out["farthest_genuine"] = [(v, p, round(d, 4)) for v, p, d in sorted(vp.genuine, key=lambda x: -x[2])[:5]]
    log.info("[%s] closest impostors: %s", kind, out["closest_impostors"])
    log.info("[%s] farthest genuine: %s", kind, out["farthest_genuine"])
    return out


def mesh_vs_dlib5(m: Measured) -> dict[str, float]:
    d = [np.linalg.norm(e["mesh"].astype(np.float64) - e["dlib5"]) for e in m.photos.values()]
    for e in m.videos.values():
        d.extend(np.linalg.norm(e["mesh"].astype(np.float64) - e["dlib5"], axis=1))
    arr = np.array([x for x in d if math.isfinite(x)])
    return {"n": int(arr.size), "median": float(np.median(arr)), "p05": float(np.percentile(arr, 5)),
            "p95": float(np.percentile(arr, 95)), "max": float(arr.max())}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--compare-dlib5", action="store_true", help="also align with dlib's detector + 5-point model")
    ap.add_argument("--calibrate-points", action="store_true", help="only compare mesh_to_five with dlib's predictor")
    ap.add_argument("--stride", type=int, default=VideoSettings.stride)
    ap.add_argument("--max-seconds", type=float, default=VideoSettings.max_seconds)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for the videos")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    data = data_root(args.data)
    if not (data / "README.md").is_file():
        log.error("no data at %s (set LIVECERT_DATA)", data)
        return 2
    if args.calibrate_points:
        calibrate_points(data)
        return 0
    t0 = time.perf_counter()
    settings = VideoSettings(args.stride, args.max_seconds)
    m = measure_all(data, settings=settings, compare_dlib5=args.compare_dlib5, workers=args.workers)
    out: dict[str, object] = {"mesh": report(m, "mesh")}
    if args.compare_dlib5:
        out["dlib5"] = report(m, "dlib5")
        out["mesh_vs_dlib5_distance"] = mesh_vs_dlib5(m)
        log.info("distance between mesh- and dlib-aligned descriptors: %s", out["mesh_vs_dlib5_distance"])
    out["ms_per_descriptor"] = descriptor_ms(data)
    log.info("ms per descriptor (one core): %.1f; total %.0f s", out["ms_per_descriptor"], time.perf_counter() - t0)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
