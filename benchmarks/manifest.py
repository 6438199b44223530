"""The benchmark manifest: one CSV row per clip, validated before anything runs.

See ``benchmarks/README.md`` for the format.  Everything here is light (no
livecert, no numpy) so that a wrong manifest is reported at once.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REQUIRED = ("clip", "mode", "expected", "attack_type")
OPTIONAL = (
    "identity",
    "enrolled",
    "enrolled_identity",
    "expected_digits",
    "blink_labels",
    "prompt_times",
    "spoof_check",
)
COLUMNS = REQUIRED + OPTIONAL
MODES = ("blink", "digits")
EXPECTED = ("live", "attack")
STILL_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
#: Where ``blink_labels=zju`` looks the clip up, relative to DATA_DIR.
ZJU_LABELS = Path("videos") / "zju_eyeblink" / "zju_blink_intervals.csv"
_DIGITS = re.compile(r"[0-9]{1,8}")
#: ``spoof_check`` values: empty or ``on`` (the default configuration), ``off``.
SPOOF_CHECK = ("", "on", "off")

Interval = tuple[float, float]


class ManifestError(ValueError):
    """The manifest cannot be used; the message names the file, line and fix."""


@dataclass(frozen=True)
class ClipSpec:
    """One validated manifest row, with its paths resolved and labels loaded.

    Attributes
    ----------
    index : int
        Position among the manifest's rows (0-based); results keep this order.
    line : int
        Line of the manifest file (1-based), for messages.
    clip, enrolled, blink_labels : str
        As written in the manifest.
    path, enrolled_path : str
        Absolute paths (``enrolled_path`` empty when no photo).
    mode, expected, attack_type, identity, enrolled_identity, expected_digits : str
        As in the manifest (``enrolled_identity`` defaults to ``identity``).
    truth : tuple of (float, float) or None
        True blink intervals in seconds, None when the row has no labels.
    truth_frames : tuple of (int, int) or None
        The same blinks as decoded-frame indices, when the label file has
        ``cv_start``/``cv_end`` columns (the ZJU file does).
    prompt_times : tuple of float
        Digits read one by one: digit ``i`` was shown from ``prompt_times[i]``
        to ``prompt_times[i + 1]`` seconds after the recording's first frame
        (one more time than digits); empty: all digits shown at once.
    spoof_check : bool
        False when the row is verified with the presentation-attack check off.
    """

    index: int
    line: int
    clip: str
    path: str
    mode: str
    expected: str
    attack_type: str
    identity: str = ""
    enrolled: str = ""
    enrolled_path: str = ""
    enrolled_identity: str = ""
    expected_digits: str = ""
    blink_labels: str = ""
    truth: tuple[Interval, ...] | None = None
    truth_frames: tuple[tuple[int, int], ...] | None = None
    prompt_times: tuple[float, ...] = ()
    spoof_check: bool = True

    @property
    def is_still(self) -> bool:
        """The clip is a still image, turned into a video on the fly."""
        return Path(self.path).suffix.lower() in STILL_SUFFIXES

    @property
    def pair(self) -> str | None:
        """``"genuine"``, ``"impostor"`` or None (no enrolled photo)."""
        if not self.enrolled:
            return None
        return "genuine" if self.enrolled_identity in ("", self.identity) else "impostor"

    @property
    def presentation(self) -> tuple[str, str, str]:
        """Key of the presentation: liveness and blink metrics count each once."""
        return (self.clip, self.mode, self.attack_type)

    @property
    def dataset(self) -> str:
        """The clip's dataset folder (``videos/grid/s1/x.mpg`` -> ``grid``; an absolute path: its folder's name)."""
        parts = Path(self.clip).parts
        if Path(self.clip).is_absolute():
            return Path(self.clip).parent.name or "other"
        if len(parts) < 2:
            return "other"
        return parts[1] if parts[0] in ("videos", "photos") and len(parts) > 2 else parts[0]

    def describe(self) -> dict[str, object]:
        """The manifest fields of a result row."""
        return {
            "index": self.index,
            "clip": self.clip,
            "mode": self.mode,
            "expected": self.expected,
            "attack_type": self.attack_type,
            "identity": self.identity,
            "enrolled": self.enrolled,
            "enrolled_identity": self.enrolled_identity if self.enrolled else "",
            "pair": self.pair,
            "expected_digits": self.expected_digits,
            "blink_labels": self.blink_labels,
            "prompt_times": list(self.prompt_times),
            "spoof_check": self.spoof_check,
            "dataset": self.dataset,
            "source": "still" if self.is_still else "video",
        }


def _resolve(data_dir: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else data_dir / p


def _read_intervals(path: Path, where: str, clip_name: str | None = None) -> tuple[tuple[Interval, ...], tuple | None]:
    """Blink intervals from a label CSV (all rows, or the rows of one ZJU clip)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or ())
            missing = {"t_start_s", "t_end_s"} - fields
            if missing:
                raise ManifestError(f"{where}: blink label file {path} has no column(s) {', '.join(sorted(missing))}")
            rows = [r for r in reader if clip_name is None or r.get("file") == clip_name]
    except OSError as exc:
        raise ManifestError(f"{where}: cannot read blink label file {path} ({exc.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ManifestError(f"{where}: blink label file {path} is not a readable CSV ({exc})") from None
    if clip_name is not None and not rows:
        raise ManifestError(f"{where}: clip {clip_name} is not in {path} (blink_labels=zju needs a ZJU clip)")
    try:
        truth = tuple((float(r["t_start_s"]), float(r["t_end_s"])) for r in rows)
        frames = None
        if {"cv_start", "cv_end"} <= fields:
            frames = tuple((int(r["cv_start"]), int(r["cv_end"])) for r in rows)
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: blink label file {path} has a non-numeric start or end") from None
    if any(not a <= b for a, b in truth):
        raise ManifestError(f"{where}: blink label file {path} has an interval that ends before it starts")
    return truth, frames


def _row_spec(index: int, line: int, raw: dict[str, str], data_dir: Path, where: str) -> ClipSpec:
    v = {k: (raw.get(k) or "").strip() for k in COLUMNS}
    if not v["clip"]:
        raise ManifestError(f"{where}: the clip column is empty")
    if v["mode"] not in MODES:
        raise ManifestError(f"{where}: unknown mode {v['mode']!r}; use one of {', '.join(MODES)}")
    if v["expected"] not in EXPECTED:
        raise ManifestError(f"{where}: unknown expected {v['expected']!r}; use 'live' or 'attack'")
    if v["expected"] == "attack" and not v["attack_type"]:
        raise ManifestError(f"{where}: expected=attack needs an attack_type (e.g. print, replay, photo_still)")
    if v["expected"] == "live" and v["attack_type"]:
        raise ManifestError(f"{where}: expected=live must leave attack_type empty (got {v['attack_type']!r})")
    path = _resolve(data_dir, v["clip"])
    if not path.exists():
        raise ManifestError(f"{where}: clip {v['clip']} does not exist (looked for {path})")
    if path.suffix.lower() in STILL_SUFFIXES and v["expected"] != "attack":
        raise ManifestError(f"{where}: {v['clip']} is a still photo; a still can only be expected=attack")
    if v["mode"] == "digits" and not _DIGITS.fullmatch(v["expected_digits"]):
        raise ManifestError(f"{where}: mode=digits needs expected_digits of 1-8 digits (got {v['expected_digits']!r})")
    prompt_times = _prompt_times(v["prompt_times"], v["expected_digits"] if v["mode"] == "digits" else "", where)
    if v["spoof_check"] not in SPOOF_CHECK:
        raise ManifestError(f"{where}: spoof_check must be empty, 'on' or 'off' (got {v['spoof_check']!r})")
    enrolled_path = ""
    if v["enrolled"]:
        p = _resolve(data_dir, v["enrolled"])
        if not p.is_file():
            raise ManifestError(f"{where}: enrolled photo {v['enrolled']} does not exist (looked for {p})")
        enrolled_path = str(p)
    elif v["enrolled_identity"]:
        raise ManifestError(f"{where}: enrolled_identity is set but enrolled (the photo) is empty")
    if v["enrolled_identity"] and not v["identity"]:
        raise ManifestError(f"{where}: enrolled_identity needs identity (who is in the clip)")
    truth = frames = None
    if v["blink_labels"] == "zju":
        label_path = data_dir / ZJU_LABELS
        if not label_path.is_file():
            raise ManifestError(f"{where}: blink_labels=zju but {label_path} does not exist")
        truth, frames = _read_intervals(label_path, where, clip_name=path.name)
    elif v["blink_labels"]:
        label_path = _resolve(data_dir, v["blink_labels"])
        if not label_path.is_file():
            raise ManifestError(
                f"{where}: blink label file {v['blink_labels']} does not exist (looked for {label_path})"
            )
        truth, frames = _read_intervals(label_path, where)
    return ClipSpec(
        index=index,
        line=line,
        clip=v["clip"],
        path=str(path),
        mode=v["mode"],
        expected=v["expected"],
        attack_type=v["attack_type"],
        identity=v["identity"],
        enrolled=v["enrolled"],
        enrolled_path=enrolled_path,
        enrolled_identity=v["enrolled_identity"] or v["identity"],
        expected_digits=v["expected_digits"],
        blink_labels=v["blink_labels"],
        truth=truth,
        truth_frames=frames,
        prompt_times=prompt_times,
        spoof_check=v["spoof_check"] != "off",
    )


def _prompt_times(text: str, digits: str, where: str) -> tuple[float, ...]:
    """The ``prompt_times`` cell: one more increasing time (seconds, from 0) than ``digits``."""
    if not text:
        return ()
    if not digits:
        raise ManifestError(f"{where}: prompt_times needs mode=digits and expected_digits")
    try:
        times = tuple(float(x) for x in text.split())
    except ValueError:
        raise ManifestError(f"{where}: prompt_times must be seconds separated by spaces (got {text!r})") from None
    if len(times) != len(digits) + 1:
        raise ManifestError(
            f"{where}: prompt_times needs {len(digits) + 1} times for {len(digits)} digits "
            f"(digit i shown from time i to time i+1), got {len(times)}"
        )
    if not all(math.isfinite(t) for t in times) or times[0] < 0 or any(b <= a for a, b in zip(times, times[1:])):
        raise ManifestError(f"{where}: prompt_times must be increasing seconds from 0 or later (got {text!r})")
    return times


def parse_manifest(text: str, data_dir: Path, name: str = "manifest") -> list[ClipSpec]:
    """Validate manifest CSV text and return its rows.

    Parameters
    ----------
    text : str
        The CSV: a header row, then one row per clip.  Empty lines and lines
        whose first cell starts with ``#`` are skipped.
    data_dir : Path
        Relative paths in the manifest are relative to this folder.
    name : str
        How to call the manifest in messages (its file name).

    Returns
    -------
    list of ClipSpec

    Raises
    ------
    ManifestError
        At the first problem: a missing column, an unknown mode or expected
        value, a path that does not exist, unreadable labels.
    """
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    specs: list[ClipSpec] = []
    try:
        for cells in reader:
            if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                missing = [c for c in REQUIRED if c not in header]
                if missing:
                    raise ManifestError(
                        f"{name}: missing column(s) {', '.join(missing)} in the header "
                        f"(line {reader.line_num}); required: {', '.join(REQUIRED)}"
                    )
                unknown = [c for c in header if c and c not in COLUMNS]
                if unknown:
                    log.warning("%s: ignoring unknown column(s) %s", name, ", ".join(unknown))
                continue
            if len(cells) > len(header):
                raise ManifestError(
                    f"{name}, line {reader.line_num}: {len(cells)} cells but the header has {len(header)}"
                )
            raw = dict(zip(header, cells))
            where = f"{name}, line {reader.line_num}"
            specs.append(_row_spec(len(specs), reader.line_num, raw, data_dir, where))
    except csv.Error as exc:
        raise ManifestError(f"{name}, line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None or not specs:
        raise ManifestError(f"{name}: no clips listed (a header row, then one row per clip)")
    return specs


def load_manifest(path: Path, data_dir: Path) -> list[ClipSpec]:
    """Read and validate a manifest file (see :func:`parse_manifest`)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    return parse_manifest(text, Path(data_dir), name=str(path))
