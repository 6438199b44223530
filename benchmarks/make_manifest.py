"""Write the benchmark manifest that describes the shared data folder.

    python -m benchmarks manifest DATA_DIR [--out manifest.csv]

``python -m benchmarks suite DATA_DIR`` without ``--manifest`` uses the same rows.
What is listed (only files that exist; missing ones are logged):

* the 40 ZJU Eyeblink clips, blink mode, live, ``blink_labels=zju``; the
  FBN/FTN/UNN clips carry their subject's enrollment still (genuine pairs
  from ``photos/video_photo_identity_map.tsv``; the FNN clip is where that
  still was taken from, so it is never a genuine probe);
* digits read one by one (digits mode), built from GRID s1 into a work
  folder outside the repository (``--readings-dir``, see :data:`READINGS_HOW`):
  ``--readings`` genuine readings per GRID half (live, with the ``one_by_one``
  challenge each answers in ``prompt_times``, the s1 still as enrolled
  photo), and each one dubbed with the same digits said in other GRID takes
  (attack ``dubbed_reading``); the whole GRID sentences are not listed
  (six words checked against one digit are not a digit reading);
* the other videos of the identity map, one row per existing photo, and the
  LivePortrait driving videos d0/d3/d6 (real people, no labels);
* impostor pairs: each ZJU probe against the next subject's still, and the
  non-ZJU identity-map videos against another identity's photo;
* photo attacks: every still under ``photos/`` and ``spoof/`` as a motionless
  (``photo_still``) and a hand-held (``photo_handheld``) 5 s video;
* presentation attacks of every class of issue 12 (animated photos, prints,
  screen replays), made from held-out photos and clips into a work folder
  outside the repository (``--attacks``, ``--attacks-dir``;
  :mod:`benchmarks.attack_clips`).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.manifest import COLUMNS, STILL_SUFFIXES, ManifestError

log = logging.getLogger(__name__)

EXTRA_LIVE = (
    "videos/talking_heads/liveportrait/d0.mp4",
    "videos/talking_heads/liveportrait/d3.mp4",
    "videos/talking_heads/liveportrait/d6.mp4",
)
GRID_STILL = "photos/same_person/derived_frames/grid_s1_from_lgif3a_frame0.png"
#: Seeds of the readings per GRID half (tuning: the even-indexed GRID clips in
#: sorted order; held out: the odd ones); the held-out seed is that of
#: ``tests/realdata/test_readings_real.py``, both are ``benchmarks/digits.py``'s.
READING_SEEDS = {"tuning": 17, "held_out": 29}
#: Genuine readings per GRID half in the built-in manifest.
READINGS_PER_HALF = 12
#: Attack type of a reading's picture with the same digits said in other GRID takes.
DUBBED = "dubbed_reading"
#: How the genuine digits rows were made (written into the manifest and the suite's JSON).
READINGS_HOW = (
    "Not people reading digits: one male English speaker (GRID corpus s1), whose GRID digit words were cut out "
    "of his six-word sentences (picture and sound, by the corpus's word alignments) and joined into one-by-one "
    "readings of 4 to 6 digits (tests/realdata/readings.py). Each digit word is placed 0.45-1.2 s after its "
    "prompt of a one_by_one challenge drawn as new_challenge draws them (from a fixed seed); between answers "
    "the picture is one still frame with the mouth closed and the sound is noise shaped like the room's. "
    "Written as H.264 25 fps + AAC mp4. Halves: tuning readings use the even-indexed GRID clips (they chose "
    "the digits settings), held-out readings the odd-indexed ones. The presentation-attack check is off on "
    "these rows (spoof_check=off): the still frames between answers are the builder's, not a person's. "
    "Attack dubbed_reading: a genuine reading's picture with the sound of the same digits said in other GRID "
    "takes, each a new reaction time after its prompt (right digits at right times: only the lips can tell)."
)


#: Attack clips per held-out photo (or replayed clip) and class in the built-in manifest.
ATTACK_SEEDS = 1
#: The attack clips' folder, and so their manifest rows' dataset.
ATTACKS_DATASET = "spoof_attacks"


def _work_dir(name: str) -> Path:
    """``name`` in ``LIVECERT_BENCH_WORK``, else in the system's temporary folder."""
    return Path(os.environ.get("LIVECERT_BENCH_WORK") or tempfile.gettempdir()) / name


def _usable_folder(folder: Path, option: str) -> None:
    """Create a work folder, or raise ManifestError naming it and the option that sets it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ManifestError(
            f"cannot create the work folder {folder} ({exc.strerror}); choose another with {option}"
        ) from None


def default_readings_dir() -> Path:
    """Work folder of the built readings."""
    return _work_dir("livecert-bench-readings")


@dataclass(frozen=True)
class ReadingsPlan:
    """Where the digit readings are written and how many.

    Attributes
    ----------
    folder : Path
        Work folder (outside the repository); files already there are reused.
    per_half : int
        Genuine readings per GRID half (each also dubbed); 0: no digits rows.
    """

    folder: Path
    per_half: int = READINGS_PER_HALF

    @property
    def root(self) -> Path:
        """The subfolder of this build: keyed by the builder's source and the count."""
        source = (Path(__file__).resolve().parents[1] / "tests" / "realdata" / "readings.py").read_bytes()
        key = hashlib.sha256(source + f"|{self.per_half}|{sorted(READING_SEEDS.items())}".encode()).hexdigest()
        return self.folder / f"grid-readings-{key[:12]}"

    def describe(self) -> dict[str, object]:
        """How the readings were made, for the suite's JSON."""
        return {
            "how": READINGS_HOW,
            "speaker": "GRID corpus s1 (one male English speaker)",
            "builder": "tests/realdata/readings.py",
            "per_half": self.per_half,
            "seeds": dict(READING_SEEDS),
            "digits_per_reading": "4, 5, 6, 4, ...",
            "attack_types": [DUBBED],
            "spoof_check": "off",
            "folder": str(self.root),
        }


def default_attacks_dir() -> Path:
    """Work folder of the attack clips."""
    return _work_dir("livecert-bench-attacks")


@dataclass(frozen=True)
class AttacksPlan:
    """Where the presentation-attack clips are written and how many (:mod:`benchmarks.attack_clips`).

    Attributes
    ----------
    folder : Path
        Work folder (outside the repository); clips already there are reused.
    seeds : int
        Clips per held-out photo (or replayed clip) and attack class; 0: no such rows.
    """

    folder: Path
    seeds: int = ATTACK_SEEDS

    @property
    def root(self) -> Path:
        """The subfolder of this build: keyed by the builder's and the generators' sources and the seed count."""
        project = Path(__file__).resolve().parents[1]
        sources = (
            project / "benchmarks" / "attack_clips.py",
            project / "tests" / "realdata" / "spoof_attacks.py",
            project / "tests" / "realdata" / "independent_attacks.py",
        )
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + f"|{self.seeds}".encode()).hexdigest()
        return self.folder / f"spoof-attacks-{digest[:12]}"


def _prompt_times(steps: tuple[tuple[float, float | None], ...]) -> str:
    times = [show for show, _ in steps] + [steps[-1][1] or 0.0]
    return " ".join(f"{t:.2f}" for t in times)


def reading_rows(data_dir: Path, plan: ReadingsPlan) -> list[dict[str, str]]:
    """Genuine and dubbed readings (see :data:`READINGS_HOW`), written under ``plan.root`` if missing.

    Parameters
    ----------
    data_dir : Path
        The shared data folder (GRID s1 clips, transcripts and alignments).
    plan : ReadingsPlan

    Returns
    -------
    list of dict
        Manifest rows (absolute clip paths).
    """
    import numpy as np

    from tests.realdata import readings as rd

    words = rd.grid_words(data_dir)
    clips = rd.Clips()
    photo = GRID_STILL if (data_dir / GRID_STILL).is_file() else ""
    rows: list[dict[str, str]] = []
    for half, seed in READING_SEEDS.items():
        pool = words[0::2] if half == "tuning" else words[1::2]
        rng, dub_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
        folder = plan.root / f"grid_readings_{half}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, reading in enumerate(rd.draw_readings(pool, plan.per_half, rng)):
            digits = reading.challenge.digits
            dub = rd.dubbed(reading, rd.other_takes(reading, words, dub_rng), dub_rng)
            times = _prompt_times(tuple((s.show_at_s, s.hide_at_s) for s in reading.challenge.schedule))
            for made, name, attack in ((reading, "reading", ""), (dub, "dubbed", DUBBED)):
                path = folder / f"{name}{i:02d}_{digits}.mp4"
                if not path.is_file():
                    partial = path.with_suffix(".part.mp4")
                    rd.write_video(partial, rd.picture(made, clips), rd.sound(made, clips))
                    partial.replace(path)
                    log.info("wrote %s", path)
                rows.append(
                    {
                        "clip": str(path),
                        "mode": "digits",
                        "expected": "attack" if attack else "live",
                        "attack_type": attack,
                        "identity": "grid_s1",
                        "enrolled": photo,
                        "expected_digits": digits,
                        "prompt_times": times,
                        "spoof_check": "off",
                    }
                )
    return rows


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


def build_rows(
    data_dir: Path, readings: ReadingsPlan | None = None, attacks: AttacksPlan | None = None
) -> list[dict[str, str]]:
    """Manifest rows for the shared data layout (see the module docstring).

    Parameters
    ----------
    data_dir : Path
    readings : ReadingsPlan, optional
        Where to build the digit readings; None or ``per_half`` 0: no digits rows.
    attacks : AttacksPlan, optional
        Where to build the presentation-attack clips; None or ``seeds`` 0: none.

    Returns
    -------
    list of dict
        One dict per row, keys from :data:`benchmarks.manifest.COLUMNS`.

    Raises
    ------
    ManifestError
        A work folder that cannot be created, naming the option that sets it.
    """
    data_dir = Path(data_dir)
    rows: list[dict[str, str]] = []

    def add(clip: str, mode: str = "blink", expected: str = "live", attack_type: str = "", **kw: str) -> None:
        rows.append({"clip": clip, "mode": mode, "expected": expected, "attack_type": attack_type, **kw})

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
    if readings is not None and readings.per_half > 0:
        _usable_folder(readings.folder, "--readings-dir")
        if grid_tsv.is_file():
            for r in reading_rows(data_dir, readings):
                add(**r)
        else:
            log.warning("no %s: no digit readings in the manifest", grid_tsv)

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
    if attacks is not None and attacks.seeds > 0:
        _usable_folder(attacks.folder, "--attacks-dir")
        from benchmarks.attack_clips import attack_rows  # its generators load MediaPipe: only when asked

        rows += attack_rows(data_dir, attacks)
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
    add_readings_arguments(ap)
    add_attacks_arguments(ap)


def add_readings_arguments(ap: argparse.ArgumentParser) -> None:
    """``--readings N`` and ``--readings-dir DIR`` (shared with ``suite``)."""
    ap.add_argument(
        "--readings",
        type=int,
        default=READINGS_PER_HALF,
        metavar="N",
        help=f"genuine digit readings per GRID half, each also dubbed (default {READINGS_PER_HALF}; 0: no digits rows)",
    )
    ap.add_argument(
        "--readings-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="work folder the readings are written to, outside the repository "
        "(default: $LIVECERT_BENCH_WORK or the temporary folder, /livecert-bench-readings)",
    )


def add_attacks_arguments(ap: argparse.ArgumentParser) -> None:
    """``--attacks N`` and ``--attacks-dir DIR`` (shared with ``suite``)."""
    ap.add_argument(
        "--attacks",
        type=int,
        default=ATTACK_SEEDS,
        metavar="N",
        help=f"presentation-attack clips per held-out photo and class (default {ATTACK_SEEDS}; 0: none)",
    )
    ap.add_argument(
        "--attacks-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="work folder the attack clips are written to, outside the repository "
        "(default: $LIVECERT_BENCH_WORK or the temporary folder, /livecert-bench-attacks)",
    )


def attacks_plan(args: argparse.Namespace) -> AttacksPlan:
    """The plan of ``--attacks`` / ``--attacks-dir``."""
    return AttacksPlan(args.attacks_dir or default_attacks_dir(), max(0, args.attacks))


def readings_plan(args: argparse.Namespace) -> ReadingsPlan:
    """The plan of ``--readings`` / ``--readings-dir``."""
    return ReadingsPlan(args.readings_dir or default_readings_dir(), max(0, args.readings))


def run(args: argparse.Namespace) -> int:
    """Write the manifest; 2 if DATA_DIR is not the shared layout."""
    if not looks_like_shared_data(args.data_dir):
        print(
            f"benchmarks manifest: {args.data_dir} does not have the shared data layout "
            "(videos/zju_eyeblink/zju_blink_intervals.csv is missing)",
            file=sys.stderr,
        )
        return 2
    plan = readings_plan(args)
    try:
        rows = build_rows(args.data_dir, plan, attacks_plan(args))
    except ManifestError as exc:
        print(f"benchmarks manifest: {exc}", file=sys.stderr)
        return 2
    comment = "made by python -m benchmarks manifest; paths relative to DATA_DIR"
    if plan.per_half > 0:
        comment += f"; digits rows (absolute paths, in {plan.root}): {READINGS_HOW}"
    text = manifest_text(rows, comment)
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
