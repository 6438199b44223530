"""Choose and report the face-match threshold (``MatchConfig.threshold``) from real data.

    python -m benchmarks match-threshold [--data DIR] [--workers N] [--out FILE]
    python -m benchmarks match-threshold --calibrate-points   # mesh vs dlib 5-point positions

The live side of every video/photo pair is what :func:`livecert.verify`
itself computes: each video runs once through
``livecert.verify(video, enrolled=<an enrollment>, mode="blink")``, and its
``result.match.probe_descriptors`` (the descriptors of the frames the
session chose for matching) are kept.  Each photo is enrolled once with
:func:`livecert.enroll` (a refusal is recorded with its code).  Every pair
is then scored with :func:`livecert.identity.embedding.template_distance`,
the function :func:`~livecert.identity.matching.match_faces` uses, so a
pair's distance is the one ``verify(video, enrolled=photo)`` would report.

Data (``LIVECERT_DATA``, default ``../shared/data``):

* **Photo pairs**: ``pairs/deepface/master.csv`` (columns ``file_x, file_y,
  Decision``): distance between the two enrollments.
* **Video/photo pairs**.  Genuine: ``photos/video_photo_identity_map.tsv``
  (rows naming missing files are reported) plus GRID s1's videos against
  ``derived_frames/grid_s1_*.png`` (named in the data's README, not in the
  TSV).  ZJU FNN clips are the source of the ZJU stills, so they are never
  genuine probes; with LivePortrait d0/d3/d6 they are impostor probes only.
  Impostor: every video against every photo of another identity (deepface,
  ``photos/impostors`` and the other videos' photos; ``two_people.jpg`` is
  left out, it has two faces).

Split by identity: **tuning** = the deepface photo pairs + video/photo pairs
whose two identities are both in :data:`TUNE_IDENTITIES` (or deepface
people); **report** = pairs whose two identities are both outside it.  The
rule (:func:`choose_threshold`): 0.04 below the closest tuning impostor,
rounded down to 0.005.  The report gives, for the chosen and the shipped
threshold, FRR and FAR on every part, EER and FRR at FAR 0 / 0.1 %, genuine
distances per condition, and the closest impostors and farthest genuine pairs.

Operating points (``policies`` in the JSON): for each
:class:`~livecert.config.MatchPolicy`, the rule's threshold with that policy's
margin (:data:`~livecert.config.MATCH_POLICY_MARGINS`) and, at the shipped
threshold, FAR on all cross-identity video/photo pairs, on the tuning and on the
held-out identities, and FRR overall and per condition (:func:`pair_conditions`:
glasses, black glasses, looking up, low resolution, years apart) on both halves,
each with its one-sided 95 % upper bound (rule of three for zero errors,
Clopper-Pearson otherwise).  Impostor pairs share videos and photos, so they are
not independent trials: the bounds are optimistic, as ISO/IEC 19795-1 warns.
``match_ms_per_video`` is the face-matching time ``verify()`` reports per clip.

Descriptors are cached in ``LIVECERT_MATCH_CACHE`` (default
``/tmp/livecert-match-cache``; ``off`` disables it), keyed by the file, the
syntax tree of the livecert code that produces them (docstrings and type
annotations left out) and the versions of the libraries it runs on.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import logging
import math
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import default_data_dir, default_out, metadata, write_json
from livecert.evaluation.metrics import eer, frr_at_far, median_iqr, rates

log = logging.getLogger("benchmarks.match_threshold")

CACHE_VERSION = 4
TUNE_IDENTITIES = frozenset(
    {
        "zju_000001M", "zju_000005M", "zju_000009M", "zju_000013F", "zju_000017F",
        "obama", "liveportrait_d18_man", "liveportrait_d0",
    }
)  # fmt: skip
"""Identities of the tuning half; deepface people (prefix ``deepface_``) are all tuning identities."""
FAR_TARGET = 0.001
# livecert code on verify()'s path to the probe descriptors and enroll()'s to the photo's (hashed for the cache key).
CODE_PACKAGES = ("config", "arrays", "errors", "results", "io", "face", "liveness", "identity", "session")
CODE_LIBRARIES = ("numpy", "mediapipe", "opencv-contrib-python", "opencv-python", "dlib-bin", "dlib", "av")


def in_tuning(identity: str) -> bool:
    """Whether an identity belongs to the tuning half."""
    return identity in TUNE_IDENTITIES or identity.startswith("deepface_")


# ----------------------------------------------------------------------------
# labels


@dataclass
class Labels:
    """Identities of photos and videos, and the genuine video/photo pairs.

    Attributes
    ----------
    photos : dict of str to str
        Photo path (relative to the data folder) -> identity.
    videos : dict of str to (str, str)
        Video path -> (identity, condition: ``FBN``/``FTN``/``UNN``/``FNN``
        for ZJU, ``grid`` or the file stem).
    genuine : set of (str, str)
        (video, photo) pairs of one person.
    missing : list of str
        Files the labels name that are not in the data.
    deepface_pairs : list of (str, str, bool)
        (photo, photo, same person).
    """

    photos: dict[str, str] = field(default_factory=dict)
    videos: dict[str, tuple[str, str]] = field(default_factory=dict)
    genuine: set[tuple[str, str]] = field(default_factory=set)
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
    """Read the identity map, the deepface pair list and the folder layout.

    Parameters
    ----------
    data : Path
        The shared data folder.

    Returns
    -------
    Labels
    """
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
    # GRID s1: not in the TSV; the data's README and MANIFEST name the s1 still.
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
# descriptors (cached)


def cache_dir() -> Path | None:
    """``LIVECERT_MATCH_CACHE`` (default ``/tmp/livecert-match-cache``), None when turned off."""
    value = os.environ.get("LIVECERT_MATCH_CACHE", "/tmp/livecert-match-cache")
    if value.lower() in ("", "0", "off", "none"):
        return None
    return Path(value)


def _behaviour(tree: ast.AST) -> ast.AST:
    """The syntax tree without docstrings and type annotations (which do not
    change what the code computes)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(None)
    return tree


_CODE_HASH: str | None = None


def code_hash() -> str:
    """Hash of what the cached descriptors depend on: the syntax tree (without
    docstrings and type annotations, so documenting, annotating or reformatting
    keeps the cache) of livecert's modules on ``verify()``'s and ``enroll()``'s
    path (:data:`CODE_PACKAGES`) and the versions of the libraries they run on."""
    global _CODE_HASH
    if _CODE_HASH is not None:
        return _CODE_HASH
    from importlib.metadata import PackageNotFoundError, version

    import livecert

    package = Path(livecert.__file__).parent
    h = hashlib.sha1(str(CACHE_VERSION).encode())
    files = [package / "__init__.py"]
    for name in CODE_PACKAGES:
        path = package / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    for path in files:
        h.update(str(path.relative_to(package)).encode())
        h.update(ast.dump(_behaviour(ast.parse(path.read_text(encoding="utf-8")))).encode())
    for dist in CODE_LIBRARIES:
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            pass
    _CODE_HASH = h.hexdigest()[:12]
    return _CODE_HASH


def _cache_path(kind: str, path: Path) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{code_hash()}".encode())
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


def _store(cpath: Path | None, arrays: dict[str, np.ndarray]) -> None:
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


def photo_embedding(path: Path, embedder: Any = None) -> dict[str, np.ndarray]:
    """Enroll one photo with :func:`livecert.enroll`.

    Parameters
    ----------
    path : Path
    embedder : Embedder, optional
        Passed to ``enroll`` (one model load for all photos).

    Returns
    -------
    dict
        ``embedding`` (128,) float32, nan when refused; ``code`` the
        refusal's reason code ("" when enrolled).
    """
    import livecert

    cpath = _cache_path("photo", path)
    hit = _cached(cpath)
    if hit is not None:
        return hit
    out = {"embedding": np.full(128, np.nan, np.float32), "code": np.array("")}
    try:
        out["embedding"] = np.asarray(livecert.enroll(path, embedder=embedder).embedding)
    except livecert.EnrollmentError as exc:
        out["code"] = np.array(exc.code.value)
    _store(cpath, out)
    return out


def video_descriptors(path: Path, enrollment: Any) -> dict[str, np.ndarray]:
    """Run a video through :func:`livecert.verify` and keep its probe descriptors.

    Parameters
    ----------
    path : Path
    enrollment : Enrollment
        Any enrollment: the frames verify() chooses and their descriptors do
        not depend on it.

    Returns
    -------
    dict
        ``probe`` (frames_used, 128) float32 (0 rows when no frame was usable
        or verify raised), ``frames`` (frames decoded), ``ms`` (verify's wall
        time), ``match_ms`` (its face-matching time), ``face_width_px``
        (median face width of the usable frames) and ``error`` ("" or the
        exception's code or type and message).
    """
    import livecert

    cpath = _cache_path("verify", path)
    hit = _cached(cpath)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    out = {
        "probe": np.zeros((0, 128), np.float32),
        "frames": np.array(0),
        "error": np.array(""),
        "match_ms": np.array(np.nan),
        "face_width_px": np.array(np.nan),
    }
    try:
        result = livecert.verify(path, enrolled=enrollment, mode="blink")
    except livecert.LivecertError as exc:
        out["error"] = np.array(f"{getattr(exc, 'code', None) or type(exc).__name__}: {exc}")
    else:
        out["frames"] = np.array(result.frames_total)
        out["match_ms"] = np.array(result.timings.match if result.timings.match is not None else np.nan)
        widths = result.trace.where_usable("face_width_px") if result.trace is not None else np.zeros(0)
        if np.isfinite(widths).any():
            out["face_width_px"] = np.array(float(np.nanmedian(widths)))
        if result.match is not None and result.match.frames_used:
            out["probe"] = np.asarray(result.match.probe_descriptors, np.float32)
    out["ms"] = np.array((time.perf_counter() - t0) * 1e3)
    _store(cpath, out)
    return out


def _video_worker(path: str, enrollment: Any) -> dict[str, np.ndarray]:
    return video_descriptors(Path(path), enrollment)


# ----------------------------------------------------------------------------
# pairs and rates


@dataclass
class PairSet:
    """Distances of labelled pairs: ``genuine`` and ``impostor`` lists of (a, b, distance)."""

    genuine: list[tuple[str, str, float]] = field(default_factory=list)
    impostor: list[tuple[str, str, float]] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The genuine and the impostor distances."""
        return np.array([d for *_, d in self.genuine]), np.array([d for *_, d in self.impostor])

    def extend(self, other: PairSet) -> PairSet:
        """Both sets' pairs."""
        return PairSet(self.genuine + other.genuine, self.impostor + other.impostor)


def roc_summary(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, float | int | None]:
    """Counts, EER and its threshold, FRR at FAR 0 and its threshold, FRR at FAR
    <= 0.1 % (None below 1000 impostor pairs: too few to measure it), the
    largest genuine and the smallest impostor distance."""
    out: dict[str, float | int | None] = {"n_genuine": int(genuine.size), "n_impostor": int(impostor.size)}
    if not genuine.size or not impostor.size:
        return out
    out["eer"], out["eer_threshold"] = eer(genuine, impostor)
    at0 = frr_at_far(genuine, impostor, 0.0)
    out["frr_at_far0"], out["far0_threshold"] = at0["frr"], at0["threshold"]
    out["frr_at_far_0.1pct"] = frr_at_far(genuine, impostor, FAR_TARGET)["frr"] if impostor.size >= 1000 else None
    out["max_genuine"] = float(genuine.max())
    out["min_impostor"] = float(impostor.min())
    return out


def photo_pairs(lab: Labels, photos: dict[str, dict[str, np.ndarray]]) -> PairSet:
    """Distances of the deepface photo pairs whose two photos were enrolled."""
    ps = PairSet()
    for a, b, same in lab.deepface_pairs:
        d = float(np.linalg.norm(photos[a]["embedding"].astype(np.float64) - photos[b]["embedding"]))
        if math.isfinite(d):
            (ps.genuine if same else ps.impostor).append((a, b, d))
    return ps


def video_pairs(
    lab: Labels, videos: dict[str, dict[str, np.ndarray]], photos: dict[str, dict[str, np.ndarray]]
) -> PairSet:
    """Distance of every video's probe descriptors to every enrolled photo, by
    :func:`~livecert.identity.embedding.template_distance` as ``match_faces``
    computes it; pairs of one identity that are not labelled genuine are left out."""
    from livecert.identity.embedding import template_distance

    ps = PairSet()
    for v, ve in videos.items():
        vid_ident = lab.videos[v][0]
        probe = ve["probe"]
        if not probe.shape[0]:
            continue
        for p, pe in photos.items():
            if str(pe["code"]):
                continue
            d = float(template_distance(probe, pe["embedding"])[0])
            if (v, p) in lab.genuine:
                ps.genuine.append((v, p, d))
            elif lab.photos[p] != vid_ident:
                ps.impostor.append((v, p, d))
    return ps


def split(lab: Labels, ps: PairSet, tuning: bool) -> PairSet:
    """The pairs whose two identities are both in the tuning half (or both outside it)."""

    def keep(v: str, p: str) -> bool:
        a, b = lab.videos[v][0], lab.photos[p]
        return in_tuning(a) == tuning and in_tuning(b) == tuning

    return PairSet([x for x in ps.genuine if keep(x[0], x[1])], [x for x in ps.impostor if keep(x[0], x[1])])


def choose_threshold(impostor: np.ndarray, margin: float = 0.04, step: float = 0.005) -> float:
    """The threshold rule: ``margin`` below the closest impostor, rounded down to ``step``.

    ``margin`` (0.04) is twice the spread of one pair's distance between
    equally reasonable pipelines (frame choice, alignment, aggregation).
    """
    top = float(impostor.min()) - margin
    return round(math.floor(top / step + 1e-9) * step, 3)


# ----------------------------------------------------------------------------
# conditions and operating points

#: Probe faces narrower than this (median over the clip's usable frames) are "low resolution":
#: the descriptor's 150 px chip then holds an upsampled face.
LOW_RESOLUTION_PX = 110.0
#: Identities whose photo comes from another session than their video (years apart at most).
INDEPENDENT_PHOTO = frozenset({"obama", "lin_manuel_miranda"})
CONDITIONS = ("glasses", "black_glasses", "looking_up", "low_resolution", "years_apart")


def pair_conditions(lab: Labels, video: str, photo: str, face_width_px: float) -> tuple[str, ...]:
    """The named conditions (:data:`CONDITIONS`) a genuine video/photo pair is in.

    ``glasses``: ZJU FTN (thin) and FBN (black) clips; ``black_glasses``: FBN;
    ``looking_up``: ZJU UNN; ``low_resolution``: probe face narrower than
    :data:`LOW_RESOLUTION_PX`; ``years_apart``: the photo comes from another
    session than the video (:data:`INDEPENDENT_PHOTO`; the deepface photo
    pairs, years apart, are counted under this name in :func:`report` too).
    """
    ident, cond = lab.videos[video]
    out = []
    if cond in ("FBN", "FTN"):
        out.append("glasses")
    if cond == "FBN":
        out.append("black_glasses")
    if cond == "UNN":
        out.append("looking_up")
    if math.isfinite(face_width_px) and face_width_px < LOW_RESOLUTION_PX:
        out.append("low_resolution")
    if ident in INDEPENDENT_PHOTO:
        out.append("years_apart")
    return tuple(out)


def upper_95(errors: int, total: int) -> float | None:
    """One-sided 95 % upper confidence bound of an error rate: the rule of three
    (``3 / total``) for zero errors, the exact (Clopper-Pearson) bound otherwise;
    None when ``total`` is 0."""
    if total == 0:
        return None
    if errors == 0:
        return min(1.0, 3.0 / total)
    if errors >= total:
        return 1.0

    def cdf(p: float) -> float:
        return sum(math.comb(total, k) * p**k * (1 - p) ** (total - k) for k in range(errors + 1))

    lo, hi = errors / total, 1.0
    for _ in range(60):  # the p at which seeing <= errors has probability 5 %
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 0.05 else (lo, mid)
    return hi


def rate_with_bound(errors: int, total: int) -> dict[str, float | int | None]:
    """``errors``, ``total``, ``rate`` and ``upper_95`` (:func:`upper_95`)."""
    return {
        "errors": errors,
        "total": total,
        "rate": errors / total if total else None,
        "upper_95": upper_95(errors, total),
    }


def policy_thresholds(tuning_impostor: np.ndarray) -> dict[str, float]:
    """Each named operating point's threshold by the rule: its margin
    (:data:`livecert.config.MATCH_POLICY_MARGINS`) below the closest tuning impostor."""
    from livecert.config import MATCH_POLICY_MARGINS

    return {str(p): choose_threshold(tuning_impostor, margin=m) for p, m in MATCH_POLICY_MARGINS.items()}


def condition_rates(
    lab: Labels,
    genuine: list[tuple[str, str, float]],
    widths: dict[str, float],
    threshold: float,
) -> dict[str, dict[str, float | int | None]]:
    """FRR with its 95 % upper bound at ``threshold``: ``all`` and per condition
    (every :data:`CONDITIONS` name, and ``other`` for pairs in none)."""
    out: dict[str, dict[str, float | int | None]] = {}
    groups: dict[str, list[float]] = {"all": [d for *_, d in genuine]}
    for v, p, d in genuine:
        conds = pair_conditions(lab, v, p, widths.get(v, math.nan)) or ("other",)
        for c in conds:
            groups.setdefault(c, []).append(d)
    for name in ("all", *CONDITIONS, "other"):
        ds = groups.get(name, [])
        out[name] = rate_with_bound(sum(d > threshold for d in ds), len(ds))
    return out


def policy_report(
    lab: Labels, vp: PairSet, pp: PairSet, widths: dict[str, float], tune_impostor: np.ndarray
) -> dict[str, Any]:
    """Per named operating point: the rule's threshold (on tuning identities), the
    shipped one, and at the shipped one FAR (all cross-identity video/photo pairs,
    tuning, held-out) and FRR per condition on tuning and held-out identities,
    each with its 95 % upper bound; deepface photo pairs (years apart, tuning
    identities) separately."""
    from livecert.config import MATCH_POLICY_THRESHOLDS

    rule = policy_thresholds(tune_impostor)
    tune, held = split(lab, vp, True), split(lab, vp, False)
    out: dict[str, Any] = {}
    for policy, shipped in MATCH_POLICY_THRESHOLDS.items():
        entry: dict[str, Any] = {"threshold_by_rule": rule[str(policy)], "shipped_threshold": shipped}
        for name, ps in (("all", vp), ("tuning", tune), ("held_out", held)):
            imp = [d for *_, d in ps.impostor]
            entry[f"far_{name}"] = rate_with_bound(sum(d <= shipped for d in imp), len(imp))
        entry["frr_tuning"] = condition_rates(lab, tune.genuine, widths, shipped)
        entry["frr_held_out"] = condition_rates(lab, held.genuine, widths, shipped)
        g, i = pp.arrays()
        entry["photo_pairs_years_apart"] = {
            "frr": rate_with_bound(int(np.sum(g > shipped)), int(g.size)),
            "far": rate_with_bound(int(np.sum(i <= shipped)), int(i.size)),
        }
        out[str(policy)] = entry
        log.info(
            "policy %-8s threshold %.3f (rule %.3f): FAR all %s; held-out FRR %s",
            policy,
            shipped,
            rule[str(policy)],
            _rate_text(entry["far_all"]),
            ", ".join(f"{c} {_rate_text(r)}" for c, r in entry["frr_held_out"].items() if r["total"]),
        )
        log.info(
            "policy %-8s tuning FRR %s",
            policy,
            ", ".join(f"{c} {_rate_text(r)}" for c, r in entry["frr_tuning"].items() if r["total"]),
        )
    return out


def _rate_text(r: dict[str, Any]) -> str:
    return f"{r['errors']}/{r['total']} (<= {100 * r['upper_95']:.1f}%)" if r["total"] else "-"


# ----------------------------------------------------------------------------
# enrollment from a short video (ZJU: the FNN clip the stills were taken from)


def video_template(path: Path, embedder: Any = None) -> dict[str, np.ndarray]:
    """:func:`livecert.enroll_video` of one clip (cached like the other descriptors).

    Returns
    -------
    dict
        ``embedding`` (128,) float32, nan when refused; ``template`` (K, 128);
        ``code`` the refusal's reason code ("" when enrolled).
    """
    import livecert

    cpath = _cache_path("enrollvideo", path)
    hit = _cached(cpath)
    if hit is not None:
        return hit
    out = {
        "embedding": np.full(128, np.nan, np.float32),
        "template": np.zeros((0, 128), np.float32),
        "code": np.array(""),
    }
    try:
        e = livecert.enroll_video(path, embedder=embedder)
        out["embedding"], out["template"] = np.asarray(e.embedding), np.asarray(e.template)
    except livecert.EnrollmentError as exc:
        out["code"] = np.array(exc.code.value)
    _store(cpath, out)
    return out


def video_enrollment_report(data: Path, m: Measured, threshold: float) -> dict[str, Any]:
    """ZJU subjects enrolled from their FNN clip (:func:`video_template`) against enrolled from
    the still taken from it: on the same probes (the subject's FBN/FTN/UNN clips genuine, every
    other identity's video impostor), genuine and impostor counts, FRR and FAR at ``threshold``,
    the largest genuine and the smallest impostor distance, each half (tuning, held-out) apart."""
    from livecert.identity.embedding import DlibEmbedder, template_distance

    lab = m.labels
    embedder = DlibEmbedder()
    fnn = {ident: v for v, (ident, cond) in lab.videos.items() if cond == "FNN"}
    stills = {ident: p for p, ident in lab.photos.items() if ident in fnn}
    out: dict[str, Any] = {}
    for kind in ("still", "video"):
        ps = {"tuning": PairSet(), "held_out": PairSet()}
        for ident, clip in sorted(fnn.items()):
            if kind == "video":
                ref = video_template(data / clip, embedder)["embedding"]
            else:
                ref = m.photos[stills[ident]]["embedding"] if ident in stills else np.full(128, np.nan)
            if not np.all(np.isfinite(ref)):
                continue
            half = ps["tuning" if in_tuning(ident) else "held_out"]
            for v, e in m.videos.items():
                probe_ident, cond = lab.videos[v]
                if not e["probe"].shape[0] or (probe_ident == ident and cond == "FNN"):
                    continue
                d = float(template_distance(e["probe"], ref)[0])
                (half.genuine if probe_ident == ident else half.impostor).append((v, clip, d))
        entry: dict[str, Any] = {}
        for name, pairs in ps.items():
            g, i = pairs.arrays()
            entry[name] = {
                "frr": rate_with_bound(int(np.sum(g > threshold)), int(g.size)),
                "far": rate_with_bound(int(np.sum(i <= threshold)), int(i.size)),
                "max_genuine": float(g.max()) if g.size else None,
                "min_impostor": float(i.min()) if i.size else None,
            }
        out[kind] = entry
        log.info("ZJU enrolled from the %s: %s", kind, entry)
    return out


# ----------------------------------------------------------------------------
# driver


@dataclass
class Measured:
    """Labels and the descriptors of every photo (:func:`photo_embedding`) and video
    (:func:`video_descriptors`); ``data`` the folder they were read from."""

    labels: Labels
    photos: dict[str, dict[str, np.ndarray]]
    videos: dict[str, dict[str, np.ndarray]]
    data: Path | None = None


def measure_all(data: Path, *, videos: Iterable[str] | None = None, workers: int = 1) -> Measured:
    """Enroll every labelled photo and run every labelled video (or the listed
    ones) through ``verify()``, videos in ``workers`` spawned processes.

    Parameters
    ----------
    data : Path
    videos : iterable of str, optional
        Video paths relative to ``data``; default all labelled videos.
    workers : int

    Returns
    -------
    Measured
    """
    from livecert.identity.embedding import DlibEmbedder

    lab = load_labels(data)
    embedder = DlibEmbedder()
    photos = {p: photo_embedding(data / p, embedder) for p in sorted(lab.photos)}
    for p, e in photos.items():
        if str(e["code"]):
            log.warning("enrollment refused %s: %s", p, e["code"])
    wanted = sorted(lab.videos) if videos is None else list(videos)
    todo = [v for v in wanted if _cached(_cache_path("verify", data / v)) is None]
    enrollment = None
    if todo:
        import livecert

        first = next(p for p in sorted(photos) if not str(photos[p]["code"]))
        enrollment = livecert.enroll(data / first, embedder=embedder)
    vids: dict[str, dict[str, np.ndarray]] = {}
    if workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            paths = [str(data / v) for v in todo]
            for v, out in zip(todo, ex.map(_video_worker, paths, [enrollment] * len(todo))):
                vids[v] = out
    for i, v in enumerate(wanted):
        if v not in vids:
            vids[v] = video_descriptors(data / v, enrollment)
        e = vids[v]
        log.info("[%d/%d] %s: %d frames used, %.0f ms%s", i + 1, len(wanted), v, e["probe"].shape[0], e["ms"],
                 f" ({e['error']})" if str(e["error"]) else "")  # fmt: skip
    return Measured(lab, photos, {v: vids[v] for v in wanted}, data)


def descriptor_ms(data: Path, n: int = 40) -> dict[str, float]:
    """Milliseconds per descriptor of one aligned chip (this process, after one warm-up).

    Returns
    -------
    dict
        :func:`~livecert.evaluation.metrics.median_iqr` of ``n`` single runs.
    """
    from livecert.face.landmarks import FaceLandmarker, RunningMode
    from livecert.identity.embedding import DlibEmbedder, align_face, mesh_to_five
    from livecert.io.images import read_image_rgb

    rgb = read_image_rgb(data / "photos/same_person/obama.jpg")
    with FaceLandmarker(mode=RunningMode.IMAGE) as lm:
        chip = align_face(rgb, mesh_to_five(lm.process(rgb).points))
    emb = DlibEmbedder()
    emb.embed(chip)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        emb.embed(chip)
        times.append((time.perf_counter() - t0) * 1e3)
    return median_iqr(times, extremes=True)


def calibrate_points(data: Path) -> dict[str, list[float]]:
    """Error of ``mesh_to_five`` against dlib's own 5-point predictor on the photos.

    Returns
    -------
    dict of str to list of float
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


def _fmt(summary: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())


def report(m: Measured) -> dict[str, Any]:
    """The tuning rule's threshold and the figures at it and at the shipped one.

    Returns
    -------
    dict
        ``threshold`` (chosen on the tuning part), ``shipped_threshold``
        (``MatchConfig().threshold``), ``missing`` files, ``videos_without_probe``,
        ``refused_photos``; per part (``photo_pairs``, ``video_all``,
        ``tuning``, ``report``) :func:`roc_summary` plus FRR/FAR at both
        thresholds; ``genuine_by_condition``; ``policies``
        (:func:`policy_report`); ``zju_enrolled_from_video``
        (:func:`video_enrollment_report`); ``closest_impostors``,
        ``farthest_genuine``; ``verify_ms_per_video``, ``match_ms_per_video``.
    """
    from livecert.config import MatchConfig

    lab = m.labels
    shipped = MatchConfig().threshold
    pp = photo_pairs(lab, m.photos)
    vp = video_pairs(lab, m.videos, m.photos)
    tune = pp.extend(split(lab, vp, True))
    rep = split(lab, vp, False)
    threshold = choose_threshold(tune.arrays()[1])
    out: dict[str, Any] = {
        "threshold": threshold,
        "shipped_threshold": shipped,
        "missing": lab.missing,
        "videos_without_probe": {
            v: str(e["error"]) or "no usable frame" for v, e in m.videos.items() if not len(e["probe"])
        },
        "refused_photos": {p: str(e["code"]) for p, e in m.photos.items() if str(e["code"])},
    }
    log.info("threshold by the tuning rule %.3f (shipped %.3f)", threshold, shipped)
    for name, ps in (("photo_pairs", pp), ("video_all", vp), ("tuning", tune), ("report", rep)):
        g, i = ps.arrays()
        s = roc_summary(g, i)
        s["frr_at_threshold"], s["far_at_threshold"] = rates(g, i, threshold)
        s["frr_at_shipped"], s["far_at_shipped"] = rates(g, i, shipped)
        s["genuine_accepted_at_shipped"] = int(np.sum(g <= shipped))
        s["impostor_accepted_at_shipped"] = int(np.sum(i <= shipped))
        out[name] = s
        log.info("%s: %s", name, _fmt(s))
    by_cond: dict[str, list[float]] = {}
    for v, _, d in vp.genuine:
        by_cond.setdefault(lab.videos[v][1] if "zju" in v else lab.videos[v][0], []).append(d)
    out["genuine_by_condition"] = {
        c: {
            "n": len(ds),
            "median": float(np.median(ds)),
            "max": float(max(ds)),
            "rejected": int(sum(d > threshold for d in ds)),
            "rejected_at_shipped": int(sum(d > shipped for d in ds)),
        }
        for c, ds in sorted(by_cond.items())
    }
    for c, s in out["genuine_by_condition"].items():
        log.info("genuine %-22s %s", c, s)
    widths = {v: float(e.get("face_width_px", math.nan)) for v, e in m.videos.items()}
    out["policies"] = policy_report(lab, vp, pp, widths, tune.arrays()[1])
    match_ms = [float(e["match_ms"]) for e in m.videos.values() if math.isfinite(float(e.get("match_ms", math.nan)))]
    out["match_ms_per_video"] = median_iqr(match_ms, extremes=True) if match_ms else None
    out["zju_enrolled_from_video"] = video_enrollment_report(m.data, m, shipped) if m.data is not None else None
    out["closest_impostors"] = [(v, p, round(d, 4)) for v, p, d in sorted(vp.impostor, key=lambda x: x[2])[:5]]
    out["farthest_genuine"] = [(v, p, round(d, 4)) for v, p, d in sorted(vp.genuine, key=lambda x: -x[2])[:5]]
    log.info("closest impostors: %s", out["closest_impostors"])
    log.info("farthest genuine: %s", out["farthest_genuine"])
    ms = [float(e["ms"]) for e in m.videos.values()]
    out["verify_ms_per_video"] = median_iqr(ms, extremes=True) if ms else None
    return out


# ----------------------------------------------------------------------------
# command line


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``match-threshold`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--calibrate-points", action="store_true", help="only compare mesh_to_five with dlib's predictor")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for the videos")
    ap.add_argument(
        "--out", type=Path, help="JSON to write (default benchmarks/results/match-threshold-DATE-HOST.json)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``match-threshold`` subcommand; 2 when the data is missing."""
    data = args.data or default_data_dir()
    if not (data / "photos" / "video_photo_identity_map.tsv").is_file():
        log.error("no data at %s (set LIVECERT_DATA or --data)", data)
        return 2
    meta = metadata(data_dir=str(data.resolve()), workers=args.workers, cache=str(cache_dir()), code_hash=code_hash())
    if args.calibrate_points:
        result: dict[str, Any] = {"metadata": meta, "calibrate_points": calibrate_points(data)}
    else:
        t0 = time.perf_counter()
        m = measure_all(data, workers=args.workers)
        result = {"metadata": meta, "report": report(m), "ms_per_descriptor": descriptor_ms(data)}
        result["elapsed_s"] = time.perf_counter() - t0
        log.info("ms per descriptor %.1f; total %.0f s", result["ms_per_descriptor"]["median"], result["elapsed_s"])
    path = write_json(result, args.out or default_out("match-threshold"))
    log.info("wrote %s", path)
    return 0
