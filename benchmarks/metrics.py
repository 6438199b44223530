"""Aggregate figures from the per-clip rows.

Counting rules (also in ``benchmarks/README.md``):

* **Speed** uses every row that ran; each stage's ms/frame is over the rows
  that report that stage.  Figures are computed per repeat, then the median
  and IQR over repeats are given.
* **Liveness and blink accuracy** count each presentation (clip, mode,
  attack type) once, its first row: a clip listed with several enrolled
  photos is one presentation.  Liveness ignores ``FACE_MISMATCH``.
* **Matching** uses every row with an enrolled photo and a match result.
* Error rows are counted as non-responses and left out of the rates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from livecert.evaluation.events import EventScore
from livecert.evaluation.metrics import apcer, bpcer, det_curve, eer, frr_at_far, median_iqr

Row = dict[str, Any]
FAR_TARGETS = (0.1, 0.01, 0.001)


def ok_rows(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r["status"] == "ok"]


def first_per_presentation(rows: list[Row]) -> list[Row]:
    """The first row of each (clip, mode, attack_type)."""
    seen: set[tuple] = set()
    out = []
    for r in rows:
        key = (r["clip"], r["mode"], r["attack_type"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _speed(rows: list[Row]) -> dict[str, Any] | None:
    rows = [r for r in rows if r.get("timing") and r["frames"]]
    if not rows:
        return None
    n_runs = min(len(r["timing"]["runs"]) for r in rows)
    frames = sum(r["frames"] for r in rows)
    video_s = sum(r["duration_s"] for r in rows)
    walls = [sum(r["timing"]["runs"][i]["wall_s"] for r in rows) for i in range(n_runs)]
    stages: dict[str, Any] = {}
    for k in sorted({k for r in rows for k in r["timing"]["runs"][0]["stages_ms"]}):
        having = [r for r in rows if k in r["timing"]["runs"][0]["stages_ms"]]
        nf = sum(r["frames"] for r in having)
        per_run = [sum(r["timing"]["runs"][i]["stages_ms"][k] for r in having) / nf for i in range(n_runs)]
        stages[k] = median_iqr(per_run) | {"rows": len(having)}
    clip_fps = [r["timing"]["fps"] for r in rows if r["timing"]["fps"]]
    return {
        "rows": len(rows),
        "frames": frames,
        "video_s": video_s,
        "fps": median_iqr(frames / w for w in walls),
        "rtf": median_iqr(w / video_s for w in walls),
        "ms_per_frame": stages,
        "clip_fps": {"median": float(np.median(clip_fps)), "min": float(min(clip_fps)), "max": float(max(clip_fps))},
    }


def speed_summary(rows: list[Row]) -> dict[str, Any]:
    """livecert speed overall and per mode; baseline speed and the ratio on the
    blink rows where both ran."""
    ok = ok_rows(rows)
    out: dict[str, Any] = {
        "livecert": _speed(ok),
        "by_mode": {m: _speed([r for r in ok if r["mode"] == m]) for m in sorted({r["mode"] for r in ok})},
    }
    both = [r for r in ok if r.get("baseline") and r["baseline"]["status"] == "ok" and r["frames"]]
    if both:
        n_runs = min(len(r["baseline"]["runs_s"]) for r in both)
        frames = sum(r["baseline"]["frames"] for r in both)
        video_s = sum(r["duration_s"] for r in both)
        walls = [sum(r["baseline"]["runs_s"][i] for r in both) for i in range(n_runs)]
        ours = _speed(both)
        base = {
            "rows": len(both),
            "frames": frames,
            "fps": median_iqr(frames / w for w in walls),
            "rtf": median_iqr(w / video_s for w in walls),
        }
        out["baseline"] = base
        out["livecert_same_rows"] = ours
        out["ratio_fps_livecert_over_baseline"] = ours["fps"]["median"] / base["fps"]["median"]
    return out


def _score(rows: list[Row], key: str, timeline: str) -> tuple[EventScore, int]:
    total, n = EventScore(0, 0, 0), 0
    for r in rows:
        part = r if key == "livecert" else r.get("baseline")
        score = (part or {}).get("blink_score") or {}
        if timeline in score:
            s = score[timeline]
            total, n = total + EventScore(s["tp"], s["fp"], s["fn"]), n + 1
    return total, n


def blink_summary(rows: list[Row]) -> dict[str, Any]:
    """Event P/R/F1 (50 ms widening, one-to-one) for livecert and the baseline
    on the labelled presentations where both ran, per label timeline."""
    labelled = [r for r in first_per_presentation(rows) if r["blink_labels"]]
    both = [r for r in ok_rows(labelled) if not r.get("baseline") or r["baseline"]["status"] == "ok"]
    out: dict[str, Any] = {"labelled": len(labelled), "errors": len(labelled) - len(ok_rows(labelled))}
    for timeline in ("csv", "frames"):
        ours, n = _score(both, "livecert", timeline)
        if not n:
            continue
        entry = {"rows": n, "livecert": ours.to_dict()}
        theirs, m = _score(both, "baseline", timeline)
        if m == n:
            entry["baseline"] = theirs.to_dict()
            entry["ratio_f1_livecert_over_baseline"] = ours.f1 / theirs.f1 if theirs.f1 else None
        out[timeline] = entry
    return out


def digits_summary(rows: list[Row]) -> dict[str, Any]:
    """Digits heard vs expected, per presentation of a digits-mode clip."""
    digit_rows = first_per_presentation([r for r in rows if r["mode"] == "digits"])
    ok = ok_rows(digit_rows)
    heard = [r for r in ok if r["digits"] and r["digits"]["heard"] is not None]
    correct = sum(r["digits"]["correct"] for r in heard)
    errors = Counter(f"{r['error']['type']}: {r['error']['message']}" for r in digit_rows if r["status"] != "ok")
    return {
        "rows": len(digit_rows),
        "errors": len(digit_rows) - len(ok),
        "error_messages": dict(errors.most_common(3)),
        "heard": len(heard),
        "correct": correct,
        "accuracy": correct / len(heard) if heard else None,
    }


def matching_summary(rows: list[Row]) -> dict[str, Any]:
    """EER, FRR at fixed FAR, the configured threshold's FAR/FRR and the DET
    points, over genuine and impostor rows with a match distance."""
    enrolled = [r for r in rows if r["pair"]]
    scored = [r for r in ok_rows(enrolled) if r["match"] and r["match"]["distance"] is not None]
    out: dict[str, Any] = {
        "rows_with_photo": len(enrolled),
        "errors": len(enrolled) - len(ok_rows(enrolled)),
        "scored": len(scored),
    }
    gen = np.array([r["match"]["distance"] for r in scored if r["pair"] == "genuine"])
    imp = np.array([r["match"]["distance"] for r in scored if r["pair"] == "impostor"])
    out.update({"genuine": int(gen.size), "impostor": int(imp.size)})
    if not gen.size or not imp.size:
        out["available"] = False
        out["reason"] = (
            f"{gen.size} genuine and {imp.size} impostor distances; need both "
            "(verify returned no match result, or no impostor rows)"
        )
        return out
    e, t = eer(gen, imp)
    out.update({"available": True, "eer": e, "eer_threshold": t, "far_resolution": 1 / imp.size})
    out["frr_at_far"] = {str(f): frr_at_far(gen, imp, f) for f in FAR_TARGETS}
    g_rows = [r for r in scored if r["pair"] == "genuine"]
    i_rows = [r for r in scored if r["pair"] == "impostor"]
    out["configured"] = {
        "threshold": scored[0]["match"]["threshold"],
        "far": sum(r["match"]["passed"] for r in i_rows) / len(i_rows),
        "frr": sum(not r["match"]["passed"] for r in g_rows) / len(g_rows),
    }
    out["det"] = [[p["threshold"], p["far"], p["frr"]] for p in det_curve(gen, imp)]
    return out


def liveness_summary(rows: list[Row], who: str = "livecert") -> dict[str, Any]:
    """ISO/IEC 30107-3 figures: APCER per attack type (and the highest), BPCER
    overall, per mode and per dataset, with counts; non-responses apart."""
    pres = first_per_presentation(rows)
    if who == "baseline":
        pres = [r for r in pres if r.get("baseline")]

    def decision(r: Row) -> bool | None:
        part = r if who == "livecert" else r["baseline"]
        return part["liveness_accepted"] if r["status"] == "ok" and part["status"] == "ok" else None

    decided = [(r, decision(r)) for r in pres]
    attacks = [(r, d) for r, d in decided if r["expected"] == "attack" and d is not None]
    bona = [(r, d) for r, d in decided if r["expected"] == "live" and d is not None]
    by_class: dict[str, list[bool]] = defaultdict(list)
    for r, d in attacks:
        by_class[r["attack_type"]].append(d)
    per_class = apcer(by_class)
    groups: dict[str, dict[str, list[bool]]] = {"mode": defaultdict(list), "dataset": defaultdict(list)}
    for r, d in bona:
        groups["mode"][r["mode"]].append(d)
        groups["dataset"][r["dataset"]].append(d)
    rates = [v["rate"] for v in per_class.values() if v["rate"] is not None]
    return {
        "apcer": per_class,
        "apcer_max": max(rates) if rates else None,
        "bpcer": bpcer(d for _, d in bona),
        "bpcer_by_mode": {k: bpcer(v) for k, v in sorted(groups["mode"].items())},
        "bpcer_by_dataset": {k: bpcer(v) for k, v in sorted(groups["dataset"].items())},
        "non_responses": {
            "attack": sum(d is None for r, d in decided if r["expected"] == "attack"),
            "bona_fide": sum(d is None for r, d in decided if r["expected"] == "live"),
        },
        "attacks_accepted": [r["clip"] + f" ({r['attack_type']})" for r, d in attacks if d],
        "bona_fide_rejected": [
            {"clip": r["clip"], "reasons": r["reason_codes"] if who == "livecert" else ["NO_BLINK"]}
            for r, d in bona
            if not d
        ],
    }


def summarize(rows: list[Row]) -> dict[str, Any]:
    """Every aggregate of the per-clip rows (see the module docstring)."""
    errors = Counter(r["error"]["code"] or r["error"]["type"] for r in rows if r["status"] != "ok")
    peaks = [r["worker"]["peak_rss_mb"] for r in rows if r.get("worker")]
    per_worker: dict[str, float] = {}
    for r in rows:
        if r.get("worker"):
            pid = str(r["worker"]["pid"])
            per_worker[pid] = max(per_worker.get(pid, 0.0), r["worker"]["peak_rss_mb"])
    return {
        "clips": {
            "rows": len(rows),
            "ok": len(ok_rows(rows)),
            "errors": len(rows) - len(ok_rows(rows)),
            "errors_by_code": dict(errors),
            "unstable_across_repeats": [r["clip"] for r in ok_rows(rows) if not r["stable_across_repeats"]],
        },
        "speed": speed_summary(rows),
        "memory": {"peak_rss_mb_max": max(peaks) if peaks else None, "peak_rss_mb_per_worker": per_worker},
        "blink": blink_summary(rows),
        "digits": digits_summary(rows),
        "matching": matching_summary(rows),
        "liveness": {"livecert": liveness_summary(rows, "livecert"), "baseline": liveness_summary(rows, "baseline")},
    }
