"""``livecert batch``: the manifest, the resumable results file, the runner and the command.

Recordings are tiny synthetic videos (no face in them: a verdict, not an
error), a missing file, a file that is not a video and a truncated one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livecert.app.cli import main
from livecert.batch.journal import Journal
from livecert.batch.manifest import load_manifest, parse_manifest
from livecert.batch.progress import ProgressBar
from livecert.batch.runner import Backend, TaskFailure, map_tasks, run_batch
from livecert.config import Mode
from livecert.errors import ErrorCode, InputError
from livecert.session.verify import verify

from . import batch_tasks as tasks
from .videos import write_video


def refused(text: str, tmp_path: Path) -> str:
    with pytest.raises(InputError) as err:
        parse_manifest(text, base=tmp_path, name="m.csv")
    assert err.value.code is ErrorCode.BAD_MANIFEST
    assert "nothing was run" in err.value.message
    return err.value.message


# ------------------------------------------------------------------ manifest


def test_manifest_rows_resolved_and_defaulted(tmp_path: Path) -> None:
    text = "# archive 2026\nid,video,mode,enrolled,expect_digits\n\na,v/a.mp4,,p.jpg,\n,/abs/b.mp4,digits,,1234\n"
    m = parse_manifest(text, base=tmp_path, name="m.csv")
    a, b = m.rows
    assert (a.id, a.line, a.path, a.mode, a.enrolled) == ("a", 4, tmp_path / "v/a.mp4", Mode.BLINK, tmp_path / "p.jpg")
    assert (b.id, b.path, b.mode, b.expect_digits) == ("/abs/b.mp4", Path("/abs/b.mp4"), Mode.DIGITS, "1234")
    assert b.enrolled is None and not m.needs_key
    digits = parse_manifest("video,expect_digits\nx.mp4,42\n", base=tmp_path, default_mode="digits")
    assert digits.rows[0].mode is Mode.DIGITS


def test_manifest_file_relative_to_its_folder_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.csv"
    path.parent.mkdir()
    path.write_bytes("\ufeffvideo,challenge\nc.mp4,TOKEN\n".encode())
    m = load_manifest(path)
    assert m.rows[0].path == path.parent / "c.mp4" and m.needs_key


@pytest.mark.parametrize(
    "text,where,what",
    [
        ("id,mode\na,blink\n", "line 1 (header)", "no video column"),
        ("video,enroled\na.mp4,p.jpg\n", "line 1 (header)", "unknown column 'enroled'"),
        ("video,video\na.mp4,b.mp4\n", "line 1 (header)", "appears twice"),
        ("video,\na.mp4,\n", "line 1 (header)", "column 2 has no name"),
        ("video,mode\na.mp4,blink\nb.mp4,wink\n", "line 3, column 'mode'", "unknown mode 'wink'"),
        ("video,mode,expect_digits\na.mp4,digits,12a\n", "line 2, column 'expect_digits'", "not 1 to 8 digits"),
        ("video,mode\na.mp4,digits\n", "line 2, column 'mode'", "digits mode needs the digits"),
        ("video,expect_digits\na.mp4,12\n", "line 2, column 'expect_digits'", "need mode digits"),
        ("video,mode,expect_digits,challenge\na.mp4,digits,12,T\n", "line 2, column 'challenge'", "not both"),
        ("video\na.mp4\n\na.mp4\n", "line 4, column 'video'", "already used on line 2"),
        ("id,video\nx,a.mp4\nx,b.mp4\n", "line 3, column 'id'", "already used on line 2"),
        ("video,mode\na.mp4,blink,extra\n", "line 2", "3 cells but the header names 2"),
        ('video\n"a.mp4\n', "line 2", "not valid CSV"),
        ("video,mode\n , blink\n", "line 2, column 'video'", "empty"),
        ("# only a comment\n", "m.csv", "no recordings listed"),
        ("video,mode\n", "m.csv", "no recordings listed"),
    ],
)
def test_malformed_manifest_refused_naming_line_and_column(tmp_path: Path, text: str, where: str, what: str) -> None:
    message = refused(text, tmp_path)
    assert f"m.csv, {where}" in message or (where == "m.csv" and message.startswith("m.csv:")), message
    assert what in message


def test_manifest_file_not_text(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"video\na.mp4\n\xff\xfe.mp4\n")
    with pytest.raises(InputError, match=r"line 3: not UTF-8") as err:
        load_manifest(path)
    assert err.value.code is ErrorCode.BAD_MANIFEST
    path.write_bytes(b"video\na\x00.mp4\n")
    with pytest.raises(InputError, match=r"line 2: holds a NUL byte"):
        load_manifest(path)
    with pytest.raises(InputError) as err:
        load_manifest(tmp_path / "none.csv")
    assert err.value.code is ErrorCode.FILE_NOT_FOUND


# ------------------------------------------------------------------ results file


def test_journal_appends_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Journal(path) as j:
        j.append({"id": "a", "x": float("nan"), "t": (1, 2)})
        j.append({"id": "b", "text": "认证"})
        with pytest.raises(InputError, match="already in"):
            j.append({"id": "a"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "b"]
    assert json.loads(lines[0]) == {"id": "a", "x": None, "t": [1, 2]}
    with Journal(path) as j:
        assert "a" in j and "b" in j and len(j) == 2 and not j.torn


def test_journal_cuts_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id":"a"}\n{"id":"b"}\n{"id":"c","stat')
    with Journal(path) as j:
        assert j.torn and set(j.rows) == {"a", "b"}
        j.append({"id": "c"})
    assert path.read_bytes() == b'{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n'


def test_journal_refuses_a_file_that_is_not_results(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id":"a"}\nnot json\n{"id":"c"}\n')
    with pytest.raises(InputError, match=r"line 2: not a JSON object") as err:
        Journal(path)
    assert err.value.code is ErrorCode.BAD_RESULTS_FILE
    path.write_text('{"id":"a"}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"line 2: a row without an id"):
        Journal(path)
    assert path.read_text() == '{"id":"a"}\n[1, 2]\n'  # left as it was


def test_journal_locked_while_a_batch_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Journal(path):
        with pytest.raises(InputError, match="another livecert batch") as err:
            Journal(path)
        assert err.value.code is ErrorCode.BAD_RESULTS_FILE
    with Journal(path):  # free again once closed
        pass
    with pytest.raises(InputError) as err:
        Journal(tmp_path / "no" / "r.jsonl")
    assert err.value.code is ErrorCode.CANNOT_WRITE


def test_progress_bar_off_a_terminal(tmp_path: Path) -> None:
    with open(tmp_path / "log.txt", "w+", encoding="utf-8") as fh:
        bar = ProgressBar(20, "rows", stream=fh)
        for i in range(20):
            bar.update(f"r{i}", error=i == 2)
        bar.close()
        fh.seek(0)
        lines = fh.read().splitlines()
    assert len(lines) == 11  # every tenth, plus the error row
    assert lines[-1].startswith("rows [########################] 20/20") and "1 errors" in lines[-1]
    assert lines[1].startswith("rows [####") and lines[1].endswith("| 1 errors ERROR r2")


# ------------------------------------------------------------------ runner


def test_initializer_once_per_worker_and_workers_replaced() -> None:
    out = dict(map_tasks(tasks.pid_and_init, [0, 1, 2, 3], workers=2, initializer=tasks.initializer, initargs=("w",)))
    assert all(r[2] == ["w"] for r in out.values())  # once per process, before its first task
    assert len({r[1] for r in out.values()}) <= 2
    fresh = dict(
        map_tasks(
            tasks.pid_and_init,
            [0, 1, 2],
            workers=1,
            initializer=tasks.initializer,
            initargs=("w",),
            max_tasks_per_worker=1,
        )
    )
    assert len({r[1] for r in fresh.values()}) == 3 and all(r[2] == ["w"] for r in fresh.values())


def test_a_dying_worker_is_one_error_row_and_the_rest_go_on() -> None:
    out = dict(map_tasks(tasks.crash_on_odd, [0, 1, 2, 4], workers=2))
    assert out[0] == 0 and out[2] == 20 and out[3] == 40
    assert isinstance(out[1], TaskFailure) and out[1].code is ErrorCode.WORKER_CRASHED
    raised = dict(map_tasks(tasks.raise_on_two, [1, 2, 3], workers=1))
    assert raised[0] == 1 and raised[2] == 3
    assert isinstance(raised[1], TaskFailure) and raised[1].code is ErrorCode.LIVECERT_ERROR
    assert "boom" in raised[1].message
    with pytest.raises(InputError, match="workers must be at least 1"):
        map_tasks(tasks.raise_on_two, [1], workers=0)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A manifest of two faceless videos, a missing file, a text file and a truncated video."""
    folder = tmp_path_factory.mktemp("archive")
    write_video(folder / "a.mp4", [i / 10 for i in range(10)])
    write_video(folder / "b.mp4", [i / 10 for i in range(12)])
    (folder / "notes.txt").write_text("not a video\n")
    (folder / "cut.mp4").write_bytes((folder / "a.mp4").read_bytes()[:300])
    rows = ["id,video,mode", "a,a.mp4,blink", "missing,gone.mp4,", "text,notes.txt,", "cut,cut.mp4,", "b,b.mp4,blink"]
    (folder / "m.csv").write_text("\n".join(rows) + "\n")
    return folder


def results(path: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"duplicate rows in {path}: {ids}"
    return {r["id"]: r for r in rows}


def test_batch_error_rows_resume_and_no_duplicates(archive: Path, tmp_path: Path) -> None:
    manifest = load_manifest(archive / "m.csv")
    out = tmp_path / "r.jsonl"
    summary = run_batch(manifest, out, workers=2, progress=False)
    rows = results(out)
    assert set(rows) == {"a", "missing", "text", "cut", "b"}
    assert rows["a"]["status"] == "ok" and rows["a"]["passed"] is False and "NO_FACE" in rows["a"]["reason_codes"]
    assert rows["a"]["result"]["frames"]["total"] == 10 and rows["a"]["result"]["meta"]["input_sha256"]
    assert rows["missing"]["error"]["code"] == "FILE_NOT_FOUND" and rows["missing"]["result"] is None
    for row_id, name in (("text", "notes.txt"), ("cut", "cut.mp4")):  # the code verify() itself gives
        with pytest.raises(InputError) as err:
            verify(archive / name)
        assert rows[row_id]["status"] == "error" and rows[row_id]["error"]["code"] == err.value.code.value
        assert rows[row_id]["error"]["message"] == err.value.message
    assert all(r["worker"]["peak_rss_mb"] > 0 for r in rows.values())
    assert (summary.rows, summary.ran, summary.skipped, summary.passed, summary.not_passed) == (5, 5, 0, 0, 2)
    assert summary.errors == 3 and summary.error_codes["FILE_NOT_FOUND"] == 1
    assert summary.backend is Backend.PROCESSES and summary.complete

    # A crash while the last row was being written: its line is cut short.
    data = out.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    torn_id = json.loads(data[last_start:])["id"]
    out.write_bytes(data[: last_start + 25])
    again = run_batch(manifest, out, workers=1, progress=False)
    assert (again.skipped, again.ran) == (4, 1)
    after = results(out)
    assert set(after) == set(rows)
    assert after[torn_id]["status"] == rows[torn_id]["status"]
    done = run_batch(manifest, out, progress=False)
    assert (done.skipped, done.ran) == (5, 0) and len(results(out)) == 5


def test_cli_batch_refuses_a_malformed_manifest_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.csv").write_text("video,mode\na.mp4,blink\nb.mp4,blnk\n")
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(tmp_path / "m.csv"), "--out", str(out), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "BAD_MANIFEST" and "line 3, column 'mode'" in error["message"]
    assert not out.exists()
    assert main(["batch", str(tmp_path / "m.csv"), "--out", str(out), "--lang", "zh"]) == 2
    assert "清单" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "m.csv"), "--out", str(tmp_path / "r.parquet")]) == 2
    assert "--parquet" in capsys.readouterr().err
    (tmp_path / "t.csv").write_text("video,challenge\na.mp4,TOKEN\n")
    assert main(["batch", str(tmp_path / "t.csv"), "--out", str(out), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "NO_KEY"
    assert not out.exists() or out.read_text() == ""


def test_cli_batch_summary_and_parquet(archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.jsonl"
    (tmp_path / "m.csv").write_text(f"id,video\nx,{archive / 'a.mp4'}\ny,{archive / 'gone.mp4'}\n")
    args = ["batch", str(tmp_path / "m.csv"), "--out", str(out), "--workers", "1", "--no-progress"]
    code = main([*args, "--json", "--parquet", str(tmp_path / "r.parquet")])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # an error row
    assert summary["rows"] == 2 and summary["errors"] == 1 and summary["error_codes"] == {"FILE_NOT_FOUND": 1}
    table = pq.read_table(tmp_path / "r.parquet").to_pylist()
    assert [r["id"] for r in table] == ["x", "y"]
    assert table[0]["status"] == "ok" and "NO_FACE" in table[0]["reason_codes"] and table[0]["frames"] == 10
    assert table[1]["error_code"] == "FILE_NOT_FOUND" and table[1]["result_json"] is None
    assert main(args) == 1
    assert "2 rows: 0 passed, 1 not passed, 1 errors (2 already done, 0 run now" in capsys.readouterr().out
