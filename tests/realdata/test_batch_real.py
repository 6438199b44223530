"""``livecert batch`` on real clips: two worker processes and Ray tasks give what ``verify()`` gives.

Three rows (a ZJU clip matched against its subject's photo, another ZJU clip,
a GRID clip read in digits mode with its known digit) and a missing file;
run through 2 spawned processes and through a local Ray instance
(``ray.init(num_cpus=2)``), each compared with :func:`livecert.verify`
called directly in this process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from livecert.batch.manifest import load_manifest
from livecert.batch.runner import Backend, run_batch
from livecert.liveness.challenge import Challenge
from livecert.liveness.digits import ChallengeOptions
from livecert.session.verify import verify

ZJU_A = "videos/zju_eyeblink/1/000001M_FBN.avi"
ZJU_B = "videos/zju_eyeblink/10/000003M_FNN.avi"
PHOTO_A = "photos/same_person/derived_frames/zju_000001M_from_FNN_frame5.png"
GRID = "videos/grid/s1/bbaf3s.mpg"  # "... three soon"


def comparable(result: dict) -> dict:
    """A result without what differs between two runs of the same clip (times, a fresh nonce)."""
    out = dict(result)
    out.pop("timings_ms", None)
    out["meta"] = {k: v for k, v in out["meta"].items() if k not in ("checked_at", "challenge_nonce")}
    return out


@pytest.fixture(scope="module")
def manifest_path(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "m.csv"
    lines = [
        "id,video,mode,enrolled,expect_digits",
        f"zju_a,{ZJU_A},blink,{PHOTO_A},",
        f"zju_b,{ZJU_B},,,",
        f"grid,{GRID},digits,,3",
        "gone,videos/zju_eyeblink/none.avi,,,",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def direct(data_dir: Path) -> dict[str, dict]:
    """verify() called directly on each row."""
    return {
        "zju_a": verify(data_dir / ZJU_A, enrolled=data_dir / PHOTO_A).to_dict(),
        "zju_b": verify(data_dir / ZJU_B).to_dict(),
        "grid": verify(
            data_dir / GRID, mode="digits", challenge=ChallengeOptions(Challenge.for_known_digits("3"))
        ).to_dict(),
    }


def check(out: Path, direct: dict[str, dict]) -> None:
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == len(by_id) == 4
    for row_id, expected in direct.items():
        assert by_id[row_id]["status"] == "ok", by_id[row_id]["error"]
        assert comparable(by_id[row_id]["result"]) == comparable(expected), row_id
        assert by_id[row_id]["passed"] == expected["passed"]
    assert by_id["zju_a"]["identity_passed"] is True
    assert by_id["gone"]["error"]["code"] == "FILE_NOT_FOUND"


def test_two_processes_match_verify(data_dir: Path, manifest_path: Path, direct: dict, tmp_path: Path) -> None:
    summary = run_batch(load_manifest(manifest_path, base=data_dir), tmp_path / "r.jsonl", workers=2, progress=False)
    assert summary.backend is Backend.PROCESSES and summary.workers == 2
    assert (summary.ran, summary.errors) == (4, 1)
    check(tmp_path / "r.jsonl", direct)


def test_ray_tasks_match_verify(data_dir: Path, manifest_path: Path, direct: dict, tmp_path: Path) -> None:
    if os.environ.get("CI", "").lower() == "true":
        import ray  # CI installs the ray extra: its absence is a failure there
    else:
        ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        manifest = load_manifest(manifest_path, base=data_dir)
        summary = run_batch(manifest, tmp_path / "r.jsonl", workers=2, ray_address="auto", progress=False)
    finally:
        ray.shutdown()
    assert summary.backend is Backend.RAY
    assert (summary.ran, summary.errors) == (4, 1)
    check(tmp_path / "r.jsonl", direct)
