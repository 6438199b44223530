"""Write the benchmark manifest that describes the shared data folder.

    python -m benchmarks manifest DATA_DIR [--out manifest.csv]

``python -m benchmarks suite DATA_DIR`` without ``--manifest`` uses the same rows.
What is listed (only files that exist; missing ones are logged):

* the 40 ZJU Eyeblink clips, blink mode, live, ``blink_labels=zju``; the
  FBN/FTN/UNN clips carry their subject's enrollment still (genuine pairs
  from ``photos/video_photo_identity_map.tsv``; the FNN clip is where that
  still was taken from, so it is never a genuine probe);
* the GRID s1 clips, digits mode, live, with the spoken digit from
  ``videos/grid/grid_transcripts.tsv`` and the s1 still as enrolled photo;
* the other videos of the identity map, one row per existing photo, and the
  LivePortrait driving videos d0/d3/d6 (real people, no labels);
* impostor pairs: each ZJU probe against the next subject's still, and the
  non-ZJU identity-map videos against another identity's photo;
* photo attacks: every still under ``photos/`` and ``spoof/`` as a motionless
  (``photo_still``) and a hand-held (``photo_handheld``) 5 s video.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import re
import sys
from pathlib import Path

from benchmarks.manifest import COLUMNS, STILL_SUFFIXES

log = logging.getLogger(__name__)

DIGIT_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}
EXTRA_LIVE = (
    "videos/talking_heads/liveportrait/d0.mp4",
    "videos/talking_heads/liveportrait/d3.mp4",
    "videos/talking_heads/liveportrait/d6.mp4",
)
GRID_STILL = "photos/same_person/derived_frames/grid_s1_from_lgif3a_frame0.png"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _zju_identity(clip: str) -> str:
    return "zju_" + Path(clip).stem.split("_")[0]


def _identity_map(data_dir: Path) -> list[tuple[list[str], str, list[str]]]:
    """(videos, identity, existing photos) per row of the identity map."""
    path = data_dir / "photos" / "video_photo_identity_map.tsv"
    if not path.is_file():
        log.warning("no %s: no enrolled photos in the manifest", path)
        return []
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            videos = [v for v in row["videos"].split(";") if v]
            identity = _zju_identity(videos[0]) if "zju_eyeblink" in videos[0] else _slug(row["identity"])
            photos = []
            for p in (x for x in row["same_person_photos"].split(";") if x):
                if (data_dir / p).is_file():
                    photos.append(p)
                else:
                    log.info("identity map: photo %s is missing, skipped", p)
            out.append(([v for v in videos if (data_dir / v).is_file()], identity, photos))
    return out


def build_rows(data_dir: Path) -> list[dict[str, str]]:
    """Manifest rows for the shared data layout (see the module docstring).

    Parameters
    ----------
    data_dir : Path

    Returns
    -------
    list of dict
        One dict per row, keys from :data:`benchmarks.manifest.COLUMNS`.
    """
    data_dir = Path(data_dir)
    rows: list[dict[str, str]] = []

    def add(clip: str, mode: str = "blink", expected: str = "live", **kw: str) -> None:
        rows.append({"clip": clip, "mode": mode, "expected": expected, "attack_type": "", **kw})

    idmap = _identity_map(data_dir)
    enrolled_of: dict[str, tuple[str, str]] = {}  # video -> (photo, identity) for the first photo
    for videos, identity, photos in idmap:
        for v in videos:
            if photos:
                enrolled_of[v] = (photos[0], identity)
    zju = sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "videos" / "zju_eyeblink").glob("*/*.avi"))
    zju.sort(key=lambda c: (int(Path(c).parent.name), c))
    for clip in zju:
        photo, _ = enrolled_of.get(clip, ("", ""))
        add(clip, identity=_zju_identity(clip), enrolled=photo, blink_labels="zju")

    grid_tsv = data_dir / "videos" / "grid" / "grid_transcripts.tsv"
    if grid_tsv.is_file():
        grid_photo = GRID_STILL if (data_dir / GRID_STILL).is_file() else ""
        with open(grid_tsv, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                digit = DIGIT_WORDS.get(r["digit_word"].strip().lower())
                if digit is None or not (data_dir / r["local_path"]).is_file():
                    log.info("GRID: %s skipped (missing file or digit)", r["local_path"])
                    continue
                add(r["local_path"], "digits", identity="grid_s1", enrolled=grid_photo, expected_digits=digit)

    others = [(v, identity, photos) for videos, identity, photos in idmap for v in videos if "zju_eyeblink" not in v]
    for v, identity, photos in others:
        for photo in photos or [""]:
            add(v, identity=identity, enrolled=photo)
    for clip in EXTRA_LIVE:
        if (data_dir / clip).is_file():
            add(clip, identity="liveportrait_" + Path(clip).stem)

    # Impostor pairs: ZJU probes against the next subject's still; other videos against another identity.
    zju_subjects = [
        (identity, photos[0], videos)
        for videos, identity, photos in idmap
        if photos and videos and identity.startswith("zju_")
    ]
    for i, (identity, _, videos) in enumerate(zju_subjects):
        other_id, other_photo, _ = zju_subjects[(i + 1) % len(zju_subjects)]
        if other_id != identity:
            for v in videos:
                add(v, identity=identity, enrolled=other_photo, enrolled_identity=other_id)
    with_photos = [(v, identity, photos[0]) for v, identity, photos in others if photos]
    for i, (v, identity, _) in enumerate(with_photos):
        _, other_id, other_photo = with_photos[(i + 1) % len(with_photos)]
        if other_id != identity:
            add(v, identity=identity, enrolled=other_photo, enrolled_identity=other_id)

    stills = []
    for folder in ("photos", "spoof"):
        stills += sorted(p for p in (data_dir / folder).rglob("*") if p.suffix.lower() in STILL_SUFFIXES)
    for kind in ("photo_still", "photo_handheld"):
        for p in stills:
            rows.append(
                {"clip": p.relative_to(data_dir).as_posix(), "mode": "blink", "expected": "attack", "attack_type": kind}
            )
    return [{c: r.get(c, "") for c in COLUMNS} for r in rows]


def manifest_text(rows: list[dict[str, str]], comment: str = "") -> str:
    """The rows as manifest CSV text, with an optional leading ``#`` comment line."""
    buf = io.StringIO()
    if comment:
        buf.write(f"# {comment}\n")
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def looks_like_shared_data(data_dir: Path) -> bool:
    """DATA_DIR has the shared data layout (ZJU clips and their labels)."""
    return (Path(data_dir) / "videos" / "zju_eyeblink" / "zju_blink_intervals.csv").is_file()


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``manifest`` subcommand's options."""
    ap.add_argument("data_dir", type=Path, help="the shared data folder (LIVECERT_DATA)")
    ap.add_argument("--out", type=Path, help="manifest CSV to write (default: stdout)")


def run(args: argparse.Namespace) -> int:
    """Write the manifest; 2 if DATA_DIR is not the shared layout."""
    if not looks_like_shared_data(args.data_dir):
        print(
            f"benchmarks manifest: {args.data_dir} does not have the shared data layout "
            "(videos/zju_eyeblink/zju_blink_intervals.csv is missing)",
            file=sys.stderr,
        )
        return 2
    rows = build_rows(args.data_dir)
    text = manifest_text(rows, "made by python -m benchmarks manifest; paths relative to DATA_DIR")
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    counts: dict[str, int] = {}
    for r in rows:
        key = f"{r['mode']}/{r['expected']}" + (f"/{r['attack_type']}" if r["attack_type"] else "")
        key += "/impostor" if r["enrolled_identity"] else ""
        counts[key] = counts.get(key, 0) + 1
    log.info("%d rows: %s", len(rows), ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    return 0
