"""The PNG report and the summary table printed at the end of a run."""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import Any

STAGES = ("decode", "landmarks", "blink", "digits", "match", "total")
_PROBS = (0.001, 0.01, 0.05, 0.2, 0.5, 0.8)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _probit(p: float, n: int = 0) -> float:
    """Normal deviate of ``p``; with ``n`` samples, 0 and 1 are drawn at half a sample."""
    eps = 0.5 / n if n else 1e-4
    return NormalDist().inv_cdf(min(max(p, eps), 1 - eps))


def _label_bars(ax: Any, bars: Any, texts: list[str]) -> None:
    for bar, text in zip(bars, texts):
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=7)


def _message(ax: Any, title: str, text: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Six panels: stage times, blink P/R/F1 against the baseline, DET curve
    of matching, APCER/BPCER, speed against clip length, throughput per worker
    count.  Panels without data say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["summary"]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    fig.suptitle(
        f"livecert benchmark, {s['clips']['rows']} rows ({s['clips']['errors']} errors), "
        f"{report['metadata'].get('date', '')}, commit {report['metadata'].get('git_commit', '')[:10]}"
    )

    ax = axes[0, 0]
    sp = s["speed"]
    modes = {m: v for m, v in sp["by_mode"].items() if v}
    if modes:
        width = 0.8 / (len(modes) + 1)
        for j, (mode, v) in enumerate(modes.items()):
            ys = [v["ms_per_frame"].get(k, {}).get("median", 0.0) for k in STAGES]
            errs = [v["ms_per_frame"].get(k, {}).get("iqr", 0.0) for k in STAGES]
            ax.bar([i + j * width for i in range(len(STAGES))], ys, width, yerr=errs, label=f"livecert, {mode}")
        if sp.get("baseline"):
            base_ms = 1000 / sp["baseline"]["fps"]["median"]
            ax.bar([len(STAGES) - 1 + len(modes) * width], [base_ms], width, label="tutorial baseline (whole run)")
        ax.set_xticks([i + width * len(modes) / 2 for i in range(len(STAGES))], STAGES)
        ax.set_ylabel("ms per frame (median, IQR bars)")
        ax.set_title("Time per stage (decode overlaps the others)")
        ax.legend(fontsize=8)
    else:
        _message(ax, "Time per stage", "no clip ran")

    ax = axes[0, 1]
    bl = s["blink"]
    timelines = [t for t in ("csv", "frames") if t in bl]
    if timelines:
        labels, ours, theirs = [], [], []
        for t in timelines:
            for k in ("precision", "recall", "f1"):
                labels.append(f"{k}\n({t})")
                ours.append(bl[t]["livecert"][k])
                theirs.append(bl[t].get("baseline", {}).get(k, 0.0))
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], ours, 0.4, label="livecert")
        ax.bar([x + 0.2 for x in xs], theirs, 0.4, label="tutorial EAR<0.3 x3")
        ax.set_xticks(list(xs), labels, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Blink events on {bl[timelines[0]]['rows']} labelled clips")
        ax.legend(fontsize=8, loc="lower right")
    else:
        _message(ax, "Blink accuracy", "no labelled blink clips")

    ax = axes[0, 2]
    m = s["matching"]
    if m.get("available"):
        far = [_probit(p[1], m["impostor"]) for p in m["det"]]
        frr = [_probit(p[2], m["genuine"]) for p in m["det"]]
        ax.step(far, frr, where="post", label=f"livecert (EER {_pct(m['eer'])})")
        ticks = [_probit(p) for p in _PROBS]
        ax.set_xticks(ticks, [f"{p:g}" for p in _PROBS])
        ax.set_yticks(ticks, [f"{p:g}" for p in _PROBS])
        ax.set_xlim(_probit(5e-4), _probit(0.95))
        ax.set_ylim(_probit(5e-4), _probit(0.95))
        ax.grid(alpha=0.3)
        c = m["configured"]
        low, high = _probit(5e-4), _probit(0.95)  # a rate of 0 sits in the corner, not off the axes
        ax.plot(
            [min(max(_probit(c["far"], m["impostor"]), low), high)],
            [min(max(_probit(c["frr"], m["genuine"]), low), high)],
            "o",
            clip_on=False,
            label=f"threshold {c['threshold']} (FAR {_pct(c['far'])}, FRR {_pct(c['frr'])})",
        )
        ax.set_xlabel(f"FAR ({m['impostor']} impostor pairs)")
        ax.set_ylabel(f"FRR ({m['genuine']} genuine pairs)")
        ax.set_title("DET curve, face matching (normal deviate axes)")
        ax.legend(fontsize=8)
    else:
        _message(ax, "DET curve, face matching", "no matching data\n" + m.get("reason", ""))

    ax = axes[1, 0]
    lv = s["liveness"]
    kinds = sorted(lv["livecert"]["apcer"])
    names = [f"APCER\n{k}" for k in kinds] + ["BPCER"]
    if kinds or lv["livecert"]["bpcer"]["total"]:
        for j, who in enumerate(("livecert", "baseline")):
            parts = [lv[who]["apcer"].get(k, {"rate": None, "errors": 0, "total": 0}) for k in kinds] + [
                lv[who]["bpcer"]
            ]
            bars = ax.bar(
                [i + (j - 0.5) * 0.4 for i in range(len(names))], [p["rate"] or 0.0 for p in parts], 0.4, label=who
            )
            _label_bars(ax, bars, [f"{p['errors']}/{p['total']}" for p in parts])
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title("Liveness errors (ISO/IEC 30107-3)")
        ax.legend(fontsize=8)
    else:
        _message(ax, "Liveness errors", "no decisions")

    ax = axes[1, 1]
    sc = (report.get("scaling") or {}).get("clip_length") or {}
    if sc.get("lengths"):
        xs = [p["seconds"] for p in sc["lengths"]]
        ax.plot(xs, [p["fps"] for p in sc["lengths"]], "o-")
        ax.set_xlabel("clip length, s (looped, decode excluded)")
        ax.set_ylabel("frames per second")
        ax.set_ylim(bottom=0)
        ax.set_title(f"Speed vs clip length ({Path(sc['clip']).name})")
    else:
        _message(ax, "Speed vs clip length", sc.get("error", "not measured (use --scaling)"))

    ax = axes[1, 2]
    wk = (report.get("scaling") or {}).get("workers") or {}
    if wk.get("runs"):
        ws = sorted(wk["runs"], key=int)
        ax.bar([int(w) for w in ws], [wk["runs"][w]["frames_per_s"] or 0.0 for w in ws])
        ax.set_xticks([int(w) for w in ws])
        ax.set_xlabel("worker processes")
        ax.set_ylabel("frames per second (all workers)")
        ax.set_title(f"Throughput on {len(wk['clips'])} clips (speed-up {_num(wk['speedup_2_over_1'])})")
    else:
        _message(ax, "Throughput per worker count", "not measured (use --scaling)")

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary_table(report: dict[str, Any]) -> str:
    """The headline figures as plain text lines (printed to stdout)."""
    s = report["summary"]
    sp, lines = s["speed"], []
    c = s["clips"]
    lines.append(f"rows {c['rows']}: ok {c['ok']}, errors {c['errors']} {c['errors_by_code'] or ''}")
    if sp["livecert"]:
        lc = sp["livecert"]
        lines.append(
            f"livecert  {lc['fps']['median']:.1f} fps (IQR {lc['fps']['iqr']:.1f}), real-time factor "
            f"{lc['rtf']['median']:.3f}, {lc['frames']} frames / {lc['video_s']:.0f} s of video"
        )
        for mode, v in sp["by_mode"].items():
            if v:
                stages = ", ".join(
                    f"{k} {v['ms_per_frame'][k]['median']:.2f}" for k in STAGES if k in v["ms_per_frame"]
                )
                lines.append(f"  {mode:<7} ms/frame: {stages}; {v['fps']['median']:.1f} fps")
    if sp.get("baseline"):
        lines.append(
            f"baseline  {sp['baseline']['fps']['median']:.1f} fps on {sp['baseline']['rows']} blink rows; "
            f"livecert/baseline speed ratio {sp['ratio_fps_livecert_over_baseline']:.2f}"
        )
    for t in ("csv", "frames"):
        b = s["blink"].get(t)
        if b:
            base = b.get("baseline", {})
            lines.append(
                f"blink F1 ({t} timeline, {b['rows']} clips): livecert {b['livecert']['f1']:.3f} "
                f"(P {b['livecert']['precision']:.3f} R {b['livecert']['recall']:.3f}), baseline "
                f"{_num(base.get('f1'), '.3f')}, ratio {_num(b.get('ratio_f1_livecert_over_baseline'))}"
            )
    d = s["digits"]
    if d["rows"]:
        lines.append(
            f"digits: {d['correct']}/{d['heard']} heard correctly ({_pct(d['accuracy'])}), "
            f"{d['errors']} of {d['rows']} clips errored {list(d['error_messages']) or ''}"
        )
    m = s["matching"]
    if m.get("available"):
        f = m["frr_at_far"]
        lines.append(
            f"matching: EER {_pct(m['eer'])} at {m['eer_threshold']:.3f} ({m['genuine']} genuine, "
            f"{m['impostor']} impostor); FRR {_pct(f['0.01']['frr'])} at FAR<=1%; threshold "
            f"{m['configured']['threshold']}: FAR {_pct(m['configured']['far'])}, FRR {_pct(m['configured']['frr'])}"
        )
    else:
        lines.append(f"matching: no data ({m.get('reason', '')})")
    for who in ("livecert", "baseline"):
        lv = s["liveness"][who]
        ap = ", ".join(f"{k} {_pct(v['rate'])} ({v['errors']}/{v['total']})" for k, v in lv["apcer"].items())
        b = lv["bpcer"]
        lines.append(f"{who:<9} APCER {ap or 'n/a'}; BPCER {_pct(b['rate'])} ({b['errors']}/{b['total']})")
    load = report["metadata"].get("load_average_1_5_15min") or {}
    if load.get("start"):
        lines.append(
            f"load average at start {load['start'][0]:.1f}, at end {(load.get('end') or [float('nan')])[0]:.1f} "
            f"on {report['metadata'].get('cpu_count')} CPUs"
        )
    mem, cold = s["memory"], report.get("cold_start") or {}
    lines.append(
        f"peak RSS {_num(mem['peak_rss_mb_max'], '.0f')} MiB per worker; cold start "
        f"{_num(cold.get('cold_start_s'))} s {cold.get('error', '')}"
    )
    sc = report.get("scaling") or {}
    if sc.get("workers"):
        runs = sc["workers"]["runs"]
        lines.append(
            "throughput: "
            + ", ".join(f"{w} worker(s) {_num(r['frames_per_s'], '.1f')} fps" for w, r in runs.items())
            + f", speed-up {_num(sc['workers']['speedup_2_over_1'])}"
        )
    if (sc.get("clip_length") or {}).get("lengths"):
        lines.append(
            "clip length: "
            + ", ".join(
                f"{p['seconds']:g} s {p['fps']:.1f} fps (RTF {p['rtf']:.3f})" for p in sc["clip_length"]["lengths"]
            )
        )
    return "\n".join(lines)
