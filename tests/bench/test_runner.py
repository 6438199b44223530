"""``python -m benchmarks suite`` end to end on a tiny manifest, and its manifest checks.

The tiny manifest: two ZJU clips with blink labels (one with its subject's
photo, one with another subject's photo), one hand-held photo attack and a
truncated clip.  It runs once with 2 workers, 2 repeats and a short
``--scaling``, and once with 1 worker, to compare the results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "clip,mode,expected,attack_type,identity,enrolled,enrolled_identity,expected_digits,blink_labels,"
    "prompt_times,spoof_check"
)
ZJU_A = "videos/zju_eyeblink/1/000001M_FBN.avi"
ZJU_B = "videos/zju_eyeblink/40/000011M_FBN.avi"
PHOTO_A = "photos/same_person/derived_frames/zju_000001M_from_FNN_frame5.png"
ATTACK = "photos/impostors/liveportrait_d8.jpg"
STAGES = ("decode", "landmarks", "blink", "total")


def run_bench(
    *args: object, timeout: float = 300, command: tuple[str, ...] = ("suite",)
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *command, *map(str, args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tiny_manifest(tmp: Path, data_dir: Path) -> Path:
    corrupt = tmp / "corrupt.avi"  # the first 100 bytes of a real AVI: truncated
    corrupt.write_bytes((data_dir / ZJU_A).read_bytes()[:100])
    lines = [
        HEADER,
        f"{ZJU_A},blink,live,,zju_000001M,{PHOTO_A},,,zju",
        f"{ZJU_B},blink,live,,zju_000011M,{PHOTO_A},zju_000001M,,zju",
        f"{ATTACK},blink,attack,photo_handheld,,,,,",
        f"{corrupt},blink,live,,,,,,",
    ]
    path = tmp / "tiny.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("bench")
    manifest = tiny_manifest(tmp, data_dir)
    two = run_bench(
        data_dir,
        "--manifest",
        manifest,
        "--out",
        tmp / "two.json",
        "--plot",
        tmp / "two.png",
        "--repeats",
        2,
        "--workers",
        2,
        "--scaling",
        "--scaling-lengths",
        "1,2",
        "--scaling-clips",
        2,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    one = run_bench(
        data_dir, "--manifest", manifest, "--out", tmp / "one.json", "--repeats", 1, "--workers", 1, "--no-cold-start"
    )
    assert one.returncode == 0, one.stderr[-3000:]
    return {
        "two": json.loads((tmp / "two.json").read_text()),
        "one": json.loads((tmp / "one.json").read_text()),
        "png": tmp / "two.png",
        "stdout": two.stdout,
    }


def test_json_has_every_field(runs: dict[str, Any]) -> None:
    report = runs["two"]
    assert set(report) == {"metadata", "results", "summary"}
    meta = report["metadata"]
    for key in ("git_commit", "machine", "cpu_count", "python", "libraries", "date", "run", "load_average_1_5_15min"):
        assert key in meta, key
    assert {"livecert", "mediapipe", "numpy"} <= set(meta["libraries"])
    assert len(report["results"]) == 4
    assert [r["index"] for r in report["results"]] == [0, 1, 2, 3]  # manifest order
    s = report["summary"]
    speed = s["speed"]["livecert"]
    assert set(STAGES) <= set(speed["ms_per_frame"]) and speed["fps"]["median"] > 0 and speed["rtf"]["median"] > 0
    assert {"median", "iqr"} <= set(speed["ms_per_frame"]["landmarks"])
    assert s["speed"]["baseline"]["fps"]["median"] > 0 and s["speed"]["ratio_fps_livecert_over_baseline"] > 0
    assert s["cold_start"]["cold_start_s"] > 0, s["cold_start"]
    assert s["memory"]["peak_rss_mb_max"] > 50 and len(s["memory"]["peak_rss_mb_per_worker"]) == 2
    for timeline in ("csv", "frames"):
        blink = s["blink"][timeline]
        assert blink["rows"] == 2
        for who in ("livecert", "baseline"):
            assert {"tp", "fp", "fn", "precision", "recall", "f1"} <= set(blink[who])
        assert blink["ratio_f1_livecert_over_baseline"] is not None
    assert {"rows", "heard", "correct", "accuracy"} <= set(s["digits"])
    assert "available" in s["matching"]
    if s["matching"]["available"]:  # face matching is wired: one genuine and one impostor pair
        assert s["matching"]["genuine"] == 1 and s["matching"]["impostor"] == 1
        assert {"eer", "frr_at_far", "configured", "det"} <= set(s["matching"])
    for who in ("livecert", "baseline"):
        live = s["liveness"][who]
        assert live["apcer"]["photo_handheld"]["total"] == 1
        assert live["bpcer"]["total"] == 2  # the corrupt clip is a non-response, not a rejection
        assert live["non_responses"]["bona_fide"] == 1
    assert s["liveness"]["livecert"]["apcer"]["photo_handheld"]["errors"] == 0  # the photo is not accepted
    scaling = s["scaling"]
    assert set(scaling["workers"]["runs"]) == {"1", "2"}
    assert scaling["workers"]["runs"]["2"]["frames_per_s"] > 0
    assert [p["seconds"] for p in scaling["clip_length"]["lengths"]] == [1.0, 2.0]
    assert runs["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "BPCER" in runs["stdout"] and "fps" in runs["stdout"]


def test_rows_have_outcome_scores_and_timing(runs: dict[str, Any]) -> None:
    rows = runs["two"]["results"]
    for row in rows[:3]:
        assert row["status"] == "ok", row["error"]
        assert row["frames"] > 0 and row["duration_s"] > 0
        timing = row["timing"]
        assert len(timing["runs"]) == 2 and timing["fps"] > 0 and timing["rtf"] > 0
        assert set(STAGES) <= set(timing["ms_per_frame"])
        assert row["worker"]["peak_rss_mb"] > 0
        assert row["baseline"]["status"] == "ok"
    assert rows[0]["blink_score"]["csv"]["tp"] >= 1
    assert rows[0]["pair"] == "genuine" and rows[1]["pair"] == "impostor"
    assert rows[2]["source"] == "still" and rows[2]["liveness_accepted"] is False


def test_corrupt_clip_is_an_error_row(runs: dict[str, Any]) -> None:
    row = runs["two"]["results"][3]
    assert row["status"] == "error"
    assert row["error"]["code"] in {"TRUNCATED_FILE", "NOT_A_VIDEO"}
    assert "corrupt.avi" in row["error"]["message"]
    assert runs["two"]["summary"]["clips"] == {**runs["two"]["summary"]["clips"], "ok": 3, "errors": 1}


def _without_timing(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("timing", "worker", "stable_across_repeats")}
    if out.get("result"):
        out["result"] = {k: v for k, v in out["result"].items() if k != "timings_ms"}
        if "meta" in out["result"]:  # when the check ran differs; everything else must not
            out["result"]["meta"] = {k: v for k, v in out["result"]["meta"].items() if k != "checked_at"}
    if out.get("baseline"):
        out["baseline"] = {k: v for k, v in out["baseline"].items() if k not in ("wall_s", "runs_s", "fps", "rtf")}
    return out


def test_one_and_two_workers_give_the_same_results(runs: dict[str, Any]) -> None:
    one = [_without_timing(r) for r in runs["one"]["results"]]
    two = [_without_timing(r) for r in runs["two"]["results"]]
    assert one == two
    assert all(r["stable_across_repeats"] for r in runs["two"]["results"] if r["status"] == "ok")


BAD_MANIFESTS = {
    "missing_column": ("clip,mode,expected\nclip.mp4,blink,live\n", "missing column(s) attack_type"),
    "unknown_mode": ("clip,mode,expected,attack_type\nclip.mp4,blnk,live,\n", "unknown mode 'blnk'"),
    "missing_path": ("clip,mode,expected,attack_type\nnope.mp4,blink,live,\n", "clip nope.mp4 does not exist"),
    "bad_labels": (
        "clip,mode,expected,attack_type,blink_labels\nclip.mp4,blink,live,,labels.csv\n",
        "blink label file labels.csv does not exist",
    ),
    "attack_without_type": ("clip,mode,expected,attack_type\nclip.mp4,blink,attack,\n", "needs an attack_type"),
    "digits_without_digits": ("clip,mode,expected,attack_type\nclip.mp4,digits,live,\n", "needs expected_digits"),
    "empty": ("clip,mode,expected,attack_type\n", "no clips listed"),
    "prompt_times_count": (
        "clip,mode,expected,attack_type,expected_digits,prompt_times\nclip.mp4,digits,live,,12,0 1.5\n",
        "prompt_times needs 3 times for 2 digits",
    ),
    "prompt_times_order": (
        "clip,mode,expected,attack_type,expected_digits,prompt_times\nclip.mp4,digits,live,,12,0 2 1.5\n",
        "must be increasing",
    ),
    "prompt_times_blink": (
        "clip,mode,expected,attack_type,prompt_times\nclip.mp4,blink,live,,0 2\n",
        "prompt_times needs mode=digits",
    ),
    "spoof_check": ("clip,mode,expected,attack_type,spoof_check\nclip.mp4,blink,live,,no\n", "spoof_check must be"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_exits_2_with_one_clear_line(tmp_path: Path, case: str) -> None:
    text, expected = BAD_MANIFESTS[case]
    (tmp_path / "clip.mp4").write_bytes(b"not read: the run stops before")
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    proc = run_bench(tmp_path, "--manifest", manifest, "--out", tmp_path / "r.json", timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "m.csv" in lines[0], proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_missing_data_dir_and_manifest_exit_2(tmp_path: Path) -> None:
    for args in ([tmp_path / "absent"], [tmp_path, "--manifest", tmp_path / "absent.csv"], [tmp_path]):
        for command in (("suite",), ()):  # without a command, the suite runs (the form before subcommands)
            proc = run_bench(*args, timeout=60, command=command)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_filter_that_leaves_no_row_exits_2(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"not read: the run stops before")
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip,mode,expected,attack_type\nclip.mp4,blink,live,\n")
    proc = run_bench(tmp_path, "--manifest", manifest, "--filter", "absent", "--out", tmp_path / "r.json", timeout=60)
    assert proc.returncode == 2 and "no manifest row left" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["blink", "session", "digits", "spoof", "match-threshold", "mesh-onnx"])
def test_subcommands_without_data_exit_2(tmp_path: Path, command: str) -> None:
    proc = run_bench("--data", tmp_path, "--out", tmp_path / "r.json", timeout=120, command=(command,))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_manifest_subcommand(data_dir: Path, tmp_path: Path) -> None:
    proc = run_bench(
        data_dir, "--out", tmp_path / "m.csv", "--readings", 0, "--attacks", 0, timeout=120, command=("manifest",)
    )
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].startswith("#") and lines[1] == HEADER and len(lines) > 100
    assert run_bench(tmp_path, timeout=60, command=("manifest",)).returncode == 2


def test_help_lists_every_subcommand() -> None:
    proc = run_bench("--help", timeout=60, command=())
    assert proc.returncode == 0
    for command in ("suite", "blink", "session", "digits", "match-threshold", "manifest"):
        assert command in proc.stdout


def test_mesh_onnx_converts_the_face_mesh_faithfully(data_dir: Path, tmp_path: Path) -> None:
    """The face-mesh model converted to ONNX gives MediaPipe's outputs on MediaPipe's own crops
    (measured: within 2.7e-4 px of the 192 px crop over 482 frames) and the same face-presence
    decision; a wrong operator (padding, layout, a custom operator's matrix) moves them by pixels."""
    out = tmp_path / "mesh.json"
    proc = run_bench(
        "--data",
        data_dir,
        "--clips",
        1,
        "--frames",
        20,
        "--repeats",
        1,
        "--out",
        out,
        timeout=300,
        command=("mesh-onnx",),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert set(report["max_abs_diff_crop_px"]) == {
        "mesh",
        "lips",
        "left_eye",
        "right_eye",
        "left_iris",
        "right_iris",
        "flag",
    }
    assert max(report["max_abs_diff_crop_px"].values()) < 1e-3, report["max_abs_diff_crop_px"]
    agreement = report["presence_agreement"]
    assert agreement["frames"] >= 15 and agreement["agree"] == agreement["frames"]
    assert all(
        report["ms_per_frame"][k]["median"] > 0 for k in ("facemesh_graph", "mediapipe_model", "onnxruntime_model")
    )
