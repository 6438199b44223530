"""The shared-data manifest, the aggregate figures on made-up rows, and the
worker's error rows.  Fast: nothing here decodes a video."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from benchmarks import metrics, worker
from benchmarks.make_manifest import DUBBED, READINGS_HOW, AttacksPlan, ReadingsPlan, build_rows, manifest_text
from benchmarks.manifest import ClipSpec, ManifestError, parse_manifest
from benchmarks.sources import verify_kwargs
from livecert.evaluation import metrics as shared
from livecert.liveness.challenge import ScheduleKind


def test_shared_data_manifest(data_dir: Path) -> None:
    specs = parse_manifest(manifest_text(build_rows(data_dir)), data_dir)
    zju = [s for s in specs if s.blink_labels == "zju"]
    assert len(zju) == 40 and all(s.truth and s.truth_frames for s in zju)
    assert sum(len(s.truth) for s in zju) == 118  # the README's annotated blinks
    assert not [s for s in specs if s.mode == "digits"]  # no whole GRID sentences; readings only when asked
    attacks = [s for s in specs if s.expected == "attack"]
    assert {s.attack_type for s in attacks} == {"photo_still", "photo_handheld"}
    assert len(attacks) >= 40 and all(s.is_still for s in attacks)
    pairs = {s.pair for s in specs if s.enrolled}
    assert pairs == {"genuine", "impostor"}
    assert all(Path(s.path).exists() for s in specs)


def test_manifest_digits_rows_are_readings(data_dir: Path, tmp_path: Path) -> None:
    plan = ReadingsPlan(tmp_path / "work", per_half=1)
    specs = parse_manifest(manifest_text(build_rows(data_dir, plan)), data_dir)
    digits = [s for s in specs if s.mode == "digits"]
    genuine = [s for s in digits if s.expected == "live"]
    dubbed = [s for s in digits if s.expected == "attack"]
    assert len(genuine) == len(dubbed) == 2 and {s.attack_type for s in dubbed} == {DUBBED}
    assert {s.dataset for s in genuine} == {"grid_readings_tuning", "grid_readings_held_out"}
    project = Path(__file__).resolve().parents[2]
    for real, dub in zip(genuine, dubbed):
        assert dub.expected_digits == real.expected_digits and dub.prompt_times == real.prompt_times
        assert 4 <= len(real.expected_digits) <= 6 and len(real.prompt_times) == len(real.expected_digits) + 1
        assert not real.spoof_check and real.pair == "genuine"
        for s in (real, dub):  # written into the work folder, never into the project
            path = Path(s.path)
            assert path.is_file() and path.is_relative_to(plan.root) and not path.is_relative_to(project)
    kwargs = verify_kwargs(genuine[0])
    challenge = kwargs["challenge"].challenge
    assert challenge.schedule_kind is ScheduleKind.ONE_BY_ONE and challenge.digits == genuine[0].expected_digits
    times = genuine[0].prompt_times
    assert [(step.show_at_s, step.hide_at_s) for step in challenge.schedule] == list(zip(times, times[1:]))
    assert kwargs["config"].spoof.enabled is False
    first = {s.clip: Path(s.path).stat().st_mtime_ns for s in digits}
    again = parse_manifest(manifest_text(build_rows(data_dir, plan)), data_dir)
    assert {s.clip: Path(s.path).stat().st_mtime_ns for s in again if s.mode == "digits"} == first  # reused
    assert "GRID corpus s1" in str(plan.describe()["how"]) and "not people reading digits" in READINGS_HOW.lower()


def _spec(**kw: Any) -> ClipSpec:
    base = {
        "index": 0,
        "line": 2,
        "clip": "c.mp4",
        "path": "/nonexistent/c.mp4",
        "mode": "blink",
        "expected": "live",
        "attack_type": "",
    }
    return ClipSpec(**{**base, **kw})


def _row(clip: str, expected: str = "live", attack: str = "", accepted: bool | None = True, **kw: Any) -> dict:
    row = _spec(clip=clip, expected=expected, attack_type=attack).describe()
    row.update(
        {
            "status": "ok" if accepted is not None else "error",
            "liveness_accepted": accepted,
            "reason_codes": [] if accepted else ["NO_BLINK"],
            "baseline": None,
            "match": None,
        }
    )
    row.update(kw)
    return row


@pytest.mark.parametrize("which", ["readings", "attacks"])
def test_an_unusable_work_folder_is_a_manifest_error(data_dir: Path, tmp_path: Path, which: str) -> None:
    """A work folder under a file cannot be created: one line naming it and the option to
    change, before any clip is built."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    plans = {"readings": (ReadingsPlan(blocked / "work", 1), None), "attacks": (None, AttacksPlan(blocked / "work", 1))}
    with pytest.raises(ManifestError, match=f"work folder {blocked / 'work'}.*--{which}-dir"):
        build_rows(data_dir, *plans[which])


def test_apcer_bpcer_count_each_presentation_once() -> None:
    rows = [
        _row("a.mp4", accepted=True),
        _row("a.mp4", accepted=True, enrolled="p.jpg"),  # same presentation, other photo
        _row("b.mp4", accepted=False),
        _row("c.mp4", accepted=None),  # error: a non-response
        _row("x.jpg", "attack", "photo_still", accepted=False),
        _row("y.jpg", "attack", "photo_still", accepted=True),
        _row("x.jpg", "attack", "photo_handheld", accepted=False),
    ]
    s = metrics.liveness_summary(rows)
    assert s["bpcer"] == {"rate": 0.5, "errors": 1, "total": 2}
    assert s["apcer"]["photo_still"] == {"rate": 0.5, "errors": 1, "total": 2}
    assert s["apcer"]["photo_handheld"]["rate"] == 0.0
    assert s["apcer_max"] == 0.5
    assert s["non_responses"] == {"attack": 0, "bona_fide": 1}
    assert s["bona_fide_rejected"] == [{"clip": "b.mp4", "reasons": ["NO_BLINK"]}]


def test_eer_and_frr_at_far() -> None:
    genuine = np.array([0.2, 0.3, 0.35, 0.55])
    impostor = np.array([0.5, 0.6, 0.7, 0.8])
    e, t = shared.eer(genuine, impostor)
    assert e == pytest.approx(0.25) and 0.35 <= t <= 0.55
    at = shared.frr_at_far(genuine, impostor, 0.0)
    assert at == {"threshold": 0.35, "far": 0.0, "frr": 0.25}
    e, _ = shared.eer(np.array([0.1, 0.2]), np.array([0.8, 0.9]))
    assert e == 0.0
    assert shared.rates(genuine, impostor, 0.5) == (0.25, 0.25)
    with pytest.raises(ValueError):
        shared.eer(genuine, [])


def test_similarity_scores_mirror_distances() -> None:
    genuine = np.array([0.2, 0.3, 0.35, 0.55])
    impostor = np.array([0.5, 0.6, 0.7, 0.8])
    e, t = shared.eer(genuine, impostor)
    e_sim, t_sim = shared.eer(-genuine, -impostor, similarity=True)
    assert (e_sim, t_sim) == (e, -t)
    at = shared.frr_at_far(-genuine, -impostor, 0.0, similarity=True)
    assert at == {"threshold": -0.35, "far": 0.0, "frr": 0.25}
    assert shared.rates(-genuine, -impostor, -0.5, similarity=True) == (0.25, 0.25)
    det = shared.det_curve(genuine, impostor)
    assert [p["far"] for p in det] == sorted(p["far"] for p in det) and det[-1] == {
        "threshold": 0.8,
        "far": 1.0,
        "frr": 0.0,
    }


def test_median_iqr_and_presentation_error_rates() -> None:
    assert shared.median_iqr([1.0, 2.0, 3.0, 4.0, 100.0]) == {"median": 3.0, "iqr": 2.0}
    assert shared.median_iqr([5.0], extremes=True) == {"median": 5.0, "iqr": 0.0, "min": 5.0, "max": 5.0, "n": 1}
    with pytest.raises(ValueError):
        shared.median_iqr([])
    per_class = shared.apcer({"replay": [True, False, False, False], "print": []})
    assert per_class == {
        "print": {"rate": None, "errors": 0, "total": 0},
        "replay": {"rate": 0.25, "errors": 1, "total": 4},
    }
    assert shared.bpcer([True, True, False]) == {"rate": 1 / 3, "errors": 1, "total": 3}


def test_matching_summary_needs_both_kinds_of_pairs() -> None:
    rows = [_row("a.mp4", enrolled="p.jpg", pair="genuine", match={"distance": 0.3, "passed": True, "threshold": 0.5})]
    s = metrics.matching_summary(rows)
    assert s["available"] is False and "impostor" in s["reason"]
    rows.append(
        _row("b.mp4", enrolled="p.jpg", pair="impostor", match={"distance": 0.7, "passed": False, "threshold": 0.5})
    )
    s = metrics.matching_summary(rows)
    assert s["available"] and s["eer"] == 0.0 and s["configured"] == {"threshold": 0.5, "far": 0.0, "frr": 0.0}


def test_blink_scores_on_both_timelines() -> None:
    spec = _spec(truth=((1.0, 1.2), (3.0, 3.2)), truth_frames=((30, 36), (90, 96)))
    t = np.arange(150) / 30.0
    score = worker.score_blinks(spec, [(1.02, 1.25), (2.0, 2.1)], t)
    assert score["csv"] == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert score["frames"]["tp"] == 1
    assert worker.score_blinks(_spec(), [], t) is None


def test_verify_raising_becomes_an_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    import livecert

    def not_wired(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("digits mode is not wired yet")

    monkeypatch.setattr(livecert, "verify", not_wired)
    monkeypatch.setattr(worker, "_CONFIG", worker.RunConfig(repeats=1, baseline=False))
    row = worker.run_clip(_spec(mode="digits", expected_digits="3"))
    assert row["status"] == "error"
    assert row["error"] == {"type": "NotImplementedError", "code": None, "message": "digits mode is not wired yet"}
    assert row["worker"]["peak_rss_mb"] > 0

    def unreadable(*args: Any, **kwargs: Any) -> None:
        raise livecert.InputError("c.mp4: not a video", code="NOT_A_VIDEO")

    monkeypatch.setattr(livecert, "verify", unreadable)
    row = worker.run_clip(_spec())
    assert row["error"]["code"] == "NOT_A_VIDEO" and row["passed"] is None


def test_digits_and_match_fields_come_from_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import livecert
    from livecert.config import Mode
    from livecert.results import Timings, VerificationResult

    digits = SimpleNamespace(heard="3", passed=True, to_dict=lambda: {"expected": "3", "heard": "3"})
    match = SimpleNamespace(
        distance=0.31, passed=True, threshold=0.5, frames_used=5, to_dict=lambda: {"distance": 0.31}
    )
    timings = Timings(decode=10.0, landmarks=20.0, blink=1.0, total=50.0, digits=30.0, match=40.0)
    result = VerificationResult(True, Mode.DIGITS, (), (), 75, 75, 3.0, timings, digits=digits, match=match)
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(livecert, "verify", lambda source, **kw: seen.append(kw) or result)
    monkeypatch.setattr(worker, "_CONFIG", worker.RunConfig(repeats=2, baseline=False))
    spec = _spec(mode="digits", expected_digits="3", identity="a", enrolled="p.jpg", enrolled_path="/x/p.jpg")
    row = worker.run_clip(spec)
    assert seen[0]["mode"] == "digits" and seen[0]["enrolled"] == "/x/p.jpg"
    assert seen[0]["challenge"].challenge.digits == "3"
    assert row["digits"] == {"expected": "3", "heard": "3", "correct": True, "passed": True}
    assert row["match"] == {"distance": 0.31, "passed": True, "threshold": 0.5, "frames_used": 5}
    assert row["pair"] == "genuine" and row["liveness_accepted"] is True
    assert row["timing"]["ms_per_frame"]["digits"] == pytest.approx(30.0 / 75)
    assert len(row["timing"]["runs"]) == 2 and row["stable_across_repeats"]
    summary = metrics.summarize([row])
    assert summary["digits"]["accuracy"] == 1.0
    assert summary["speed"]["livecert"]["ms_per_frame"]["match"]["median"] == pytest.approx(40.0 / 75)
