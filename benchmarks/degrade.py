"""Degradation sweep: blink liveness, photo attacks and matching on clips made
worse the way old phones and dim rooms make them (issue 20).

    python -m benchmarks degrade [--data DIR] [--kinds dim,small,defocus,fps]
                                 [--levels 1,2,3] [--photos N] [--warps N] [--no-match]
                                 [--out FILE] [--plot FILE]

Every ZJU clip is decoded once and degraded with ``tests/realdata/degrade.py``
(seeded by the clip's position, so every run sees the same frames) at each
kind and level; level 0 is the clean clip.  For each condition and for the
tuning subjects (000001M-000009M, on which the blink settings were chosen)
and the held-out ones separately: blink event precision / recall / F1 on the
labelled frames (mapped through the container timestamps), the share of
clips that pass, and how often each reason fires.  Photo attacks: the first
``--photos`` stills of ``photos/`` made into still and hand-held videos
(``tests/realdata/attacks.py``), degraded the same way; every one must fail.
Animated photos: the first ``--warps`` held-out ZJU subjects' frames with their
eyelids warped shut on a stand (``tests/realdata/spoof_attacks.py``, the three
warp shapes, seeds from 1000 as in the suite), degraded the same way; the spoof
check refuses every one in clean video.
Matching: the ZJU glasses and looking-up clips against their subject's
enrolment frame, FRR per condition, and each clip's match frames against every
other subject's enrolment frame, impostors accepted at the default threshold
(``--no-match`` skips both).
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import livecert
from benchmarks.common import default_data_dir, default_out, metadata, write_json
from livecert.evaluation.events import EventScore, match_events
from livecert.identity.embedding import template_distance
from tests.realdata import spoof_attacks
from tests.realdata.degrade import LEVELS, Frames, Kind, degrade, photo_clips
from tests.realdata.splits import ZJU_TUNING

log = logging.getLogger("benchmarks.degrade")
#: Seeds of the animated photos start here, as in the suite (the tests use 0-4).
FIRST_WARP_SEED = 1000


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``degrade`` subcommand's options."""
    ap.add_argument("--data", type=Path, default=None, help="data folder (default LIVECERT_DATA or ../shared/data)")
    ap.add_argument("--kinds", default=",".join(k.value for k in Kind), help="comma-separated kinds (default all)")
    ap.add_argument("--levels", default="1,2,3", help="comma-separated levels 1-3 (default all)")
    ap.add_argument("--photos", type=int, default=12, help="still photos made into attacks (default 12, 0 = none)")
    ap.add_argument(
        "--warps", type=int, default=5, help="held-out ZJU frames made into eyelid-warped photos (default 5, 0 = none)"
    )
    ap.add_argument("--no-match", action="store_true", help="skip the matching rows")
    ap.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/degrade-DATE-HOST.json)")
    ap.add_argument("--plot", type=Path, help="PNG of the curves (needs the plot extra: matplotlib)")


def _decode(path: Path) -> Frames:
    with livecert.open_source(path) as source:
        return [(frame.rgb, frame.t_s) for frame in source]


def _labels(zju: Path) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with open(zju / "zju_blink_intervals.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["file"]].append((int(row["cv_start"]), int(row["cv_end"])))
    return out


def _conditions(kinds: Iterable[Kind], levels: Iterable[int]) -> list[tuple[Kind | None, int]]:
    return [(None, 0)] + [(kind, level) for kind in kinds for level in levels]


def _frames(clip: Frames, kind: Kind | None, level: int, seed: int) -> Frames:
    return clip if kind is None else degrade(clip, kind, level, seed)


def _match_pairs(data: Path) -> list[tuple[Path, Path]]:
    """ZJU (clip, enrolment frame) pairs of ``video_photo_identity_map.tsv``."""
    pairs = []
    with open(data / "photos" / "video_photo_identity_map.tsv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if "zju_eyeblink" not in row["videos"]:
                continue
            photo = data / row["same_person_photos"].split(";")[0]
            pairs += [(data / v, photo) for v in row["videos"].split(";")]
    return pairs


def _blink_rows(
    clips: list[Path],
    decoded: dict[str, Frames],
    labels: dict[str, list[tuple[int, int]]],
    kind: Kind | None,
    level: int,
) -> dict[str, dict[str, Any]]:
    per_split: dict[str, dict[str, Any]] = {}
    scores: dict[str, EventScore] = defaultdict(lambda: EventScore(0, 0, 0))
    passed: dict[str, list[bool]] = defaultdict(list)
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for seed, clip in enumerate(clips):
        split = "tuned" if clip.name[:7] in ZJU_TUNING else "held_out"
        clean = decoded[clip.name]
        t_all = [t for _, t in clean]
        result = livecert.verify(_frames(clean, kind, level, seed))
        truth = [(t_all[a], t_all[min(b, len(t_all) - 1)]) for a, b in labels[clip.name]]
        scores[split] = scores[split] + match_events([(b.start_s, b.end_s) for b in result.blinks], truth)
        passed[split].append(result.passed)
        for code in result.reason_codes:
            reasons[split][code] += 1
    for split, score in scores.items():
        per_split[split] = {
            **score.to_dict(),
            "clips": len(passed[split]),
            "passed": sum(passed[split]),
            "pass_rate": sum(passed[split]) / len(passed[split]),
            "reasons": dict(reasons[split]),
        }
    return per_split


def _photo_rows(stills: list[Path], kind: Kind | None, level: int) -> dict[str, Any]:
    accepted = []
    for i, path in enumerate(stills):
        for seed, handheld, clip in photo_clips(path, (i,)):
            if livecert.verify(_frames(clip, kind, level, seed)).passed:
                accepted.append(f"{path.name}{' hand-held' if handheld else ''}")
    return {"attacks": 2 * len(stills), "accepted": len(accepted), "accepted_names": accepted}


def _warp_rows(frames_of: list[Path], kind: Kind | None, level: int) -> dict[str, Any]:
    accepted = []
    for i, path in enumerate(frames_of):
        photo = spoof_attacks.fit(livecert.read_image_rgb(path))
        seed = FIRST_WARP_SEED + i
        for shape in spoof_attacks.WARP_SHAPES:
            warped = spoof_attacks.eyelid_warp_photo(photo, seed=seed, shape=shape, noise=True, h264=True)
            if livecert.verify(_frames(list(warped), kind, level, seed)).passed:
                accepted.append(f"{path.name} {shape}")
    attacks = len(frames_of) * len(spoof_attacks.WARP_SHAPES)
    return {"attacks": attacks, "accepted": len(accepted), "accepted_names": accepted}


def _match_rows(
    pairs: list[tuple[Path, Path]], decoded: dict[str, Frames], kind: Kind | None, level: int
) -> dict[str, Any]:
    """Genuine pairs (each clip against its own person's photo) and impostor pairs (the same
    clip's match frames against every other person's photo), at the default threshold."""
    enrolled = {photo: livecert.enroll(photo) for photo in sorted({p for _, p in pairs})}
    rejected = []
    impostors: list[tuple[float, str, str]] = []
    threshold = livecert.MatchConfig().threshold
    for seed, (clip, photo) in enumerate(pairs):
        result = livecert.verify(_frames(decoded[clip.name], kind, level, seed), enrolled=enrolled[photo])
        if "FACE_MISMATCH" in result.reason_codes:
            rejected.append(clip.name)
        if result.match is None or result.match.frames_used == 0:
            continue
        for other, enrollment in enrolled.items():
            if other != photo:
                distance, _ = template_distance(result.match.probe_descriptors, enrollment.embedding)
                impostors.append((distance, clip.name, other.name))
    accepted = sorted(i for i in impostors if i[0] <= threshold)
    return {
        "pairs": len(pairs),
        "rejected": len(rejected),
        "frr": len(rejected) / max(1, len(pairs)),
        "names": rejected,
        "impostor_pairs": len(impostors),
        "impostors_accepted": len(accepted),
        "far": len(accepted) / max(1, len(impostors)),
        "closest_impostor": list(min(impostors)) if impostors else None,
    }


def run(args: argparse.Namespace) -> int:
    """Run the ``degrade`` subcommand; 2 on a usage or data problem."""
    data = args.data or default_data_dir()
    zju = data / "videos" / "zju_eyeblink"
    clips = sorted(zju.glob("*/*.avi"))
    if not clips:
        log.error("no ZJU clips under %s (set LIVECERT_DATA or --data)", data)
        return 2
    try:
        kinds = [Kind(k.strip()) for k in args.kinds.split(",") if k.strip()]
        levels = [int(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        log.error("--kinds takes %s, --levels takes 1, 2 or 3", ", ".join(k.value for k in Kind))
        return 2
    if not set(levels) <= {1, 2, 3}:
        log.error("--levels takes 1, 2 or 3, not %s", args.levels)
        return 2
    labels = _labels(zju)
    decoded = {clip.name: _decode(clip) for clip in clips}
    exts = {".jpg", ".jpeg", ".png"}
    stills = [p for p in sorted((data / "photos").rglob("*")) if p.suffix.lower() in exts][: max(0, args.photos)]
    held_frames = sorted((data / "photos" / "same_person" / "derived_frames").glob("zju_*.png"))
    warp_frames = [p for p in held_frames if p.name[4:11] not in ZJU_TUNING][: max(0, args.warps)]
    pairs = [] if args.no_match else _match_pairs(data)
    rows = []
    for kind, level in _conditions(kinds, levels):
        t0 = time.perf_counter()
        row: dict[str, Any] = {"kind": kind.value if kind else "clean", "level": level}
        row["params"] = LEVELS[kind][level] if kind else {}
        row["blink"] = _blink_rows(clips, decoded, labels, kind, level)
        if stills:
            row["photo_attacks"] = _photo_rows(stills, kind, level)
        if warp_frames:
            row["animated_photo_attacks"] = _warp_rows(warp_frames, kind, level)
        if pairs:
            row["match"] = _match_rows(pairs, decoded, kind, level)
        held = row["blink"]["held_out"]
        log.info(
            "%s %d: held-out F1 %.2f, %d/%d pass%s%s%s (%.0f s)",
            row["kind"],
            level,
            held["f1"],
            held["passed"],
            held["clips"],
            f", photo attacks accepted {row['photo_attacks']['accepted']}/{row['photo_attacks']['attacks']}"
            if stills
            else "",
            f", animated photos accepted {row['animated_photo_attacks']['accepted']}"
            f"/{row['animated_photo_attacks']['attacks']}"
            if warp_frames
            else "",
            f", match FRR {row['match']['rejected']}/{row['match']['pairs']}"
            f", impostors accepted {row['match']['impostors_accepted']}/{row['match']['impostor_pairs']}"
            if pairs
            else "",
            time.perf_counter() - t0,
        )
        rows.append(row)
    report = {"metadata": metadata(data_dir=str(data.resolve()), kinds=args.kinds, levels=args.levels), "rows": rows}
    path = write_json(report, args.out or default_out("degrade"))
    log.info("wrote %s", path)
    if args.plot:
        write_plot(rows, args.plot)
        log.info("wrote %s", args.plot)
    return 0


def write_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """One panel per kind: held-out blink F1, pass rate, photo and animated-photo attacks
    accepted and match FRR against the level (0 = clean)."""
    from matplotlib.figure import Figure

    clean = next(r for r in rows if r["kind"] == "clean")
    kinds = [k.value for k in Kind if any(r["kind"] == k.value for r in rows)]
    fig = Figure(figsize=(4.2 * max(1, len(kinds)), 4))
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(1, max(1, len(kinds)), i + 1)
        series = [clean] + sorted((r for r in rows if r["kind"] == kind), key=lambda r: int(r["level"]))
        x = [int(r["level"]) for r in series]
        ax.plot(x, [r["blink"]["held_out"]["f1"] for r in series], "o-", label="blink F1 (held-out)")
        ax.plot(x, [r["blink"]["held_out"]["pass_rate"] for r in series], "s-", label="genuine pass rate")
        if "photo_attacks" in clean:
            ax.plot(
                x,
                [r["photo_attacks"]["accepted"] / r["photo_attacks"]["attacks"] for r in series],
                "x-",
                label="photo APCER",
            )
        if "animated_photo_attacks" in clean:
            ax.plot(
                x,
                [r["animated_photo_attacks"]["accepted"] / r["animated_photo_attacks"]["attacks"] for r in series],
                "d-",
                label="animated photo APCER",
            )
        if "match" in clean:
            ax.plot(x, [r["match"]["frr"] for r in series], "^-", label="match FRR")
        ax.set_title(kind)
        ax.set_xlabel("level (0 = clean)")
        ax.set_xticks(x)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
