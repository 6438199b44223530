"""``livecert serve`` running verify() in its worker pool, on the bundled synthetic sample:
the answer equals ``livecert verify --json``'s, one answer per session, the ledger records a
person's attempt."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="livecert serve needs the serve extra (pip install 'livecert[serve]')")
pytest.importorskip("httpx", reason="the API tests need httpx (the serve-test extra)")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

from livecert.app.cli import main  # noqa: E402
from livecert.config import LimitsConfig, Mode  # noqa: E402
from livecert.serve import worker  # noqa: E402
from livecert.serve.app import Service, create_app  # noqa: E402
from livecert.serve.config import ServeConfig  # noqa: E402
from livecert.serve.errors import ApiError, ApiErrorCode  # noqa: E402
from livecert.serve.pool import VerifierPool  # noqa: E402
from tests.unit.test_serve import ADMIN, make_service  # noqa: E402

from .paths import SAMPLE  # noqa: E402

#: Fields that differ between two runs of the same check (clock and timings).
_VOLATILE = ("timings_ms",)


def _stable(result: dict[str, object]) -> dict[str, object]:
    out = {k: v for k, v in result.items() if k not in _VOLATILE}
    meta = dict(out["meta"])  # type: ignore[call-overload]
    meta.pop("checked_at")
    out["meta"] = meta
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return make_service(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


def test_answer_equals_verify_json(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    s = client.post("/api/sessions", json={"mode": "blink", "prompts": 0}).json()
    url, auth = f"/api/sessions/{s['session_id']}/recording", {"Authorization": f"Bearer {s['token']}"}
    data = SAMPLE.read_bytes()
    r = client.post(url, content=data, headers=auth, params={"lang": "zh"})
    assert r.status_code == 200, r.text
    served = r.json()
    main(["verify", str(SAMPLE), "--json", "--lang", "zh"])
    cli = json.loads(capsys.readouterr().out)
    assert _stable(served) == _stable(cli)
    assert served["reasons"] == cli["reasons"] and served["passed"] == cli["passed"]
    # the same recording again (a retry after a lost answer) gets the same answer, not a second check
    again = client.post(url, content=data, headers=auth, params={"lang": "zh"})
    assert again.status_code == 200 and again.json() == served
    # another recording for the used session is refused
    other = client.post(url, content=data + b"\x00", headers=auth)
    assert other.status_code == 409 and other.json()["error"]["code"] == "SESSION_USED"


def test_unusable_recording_is_a_coded_error(client: TestClient) -> None:
    s = client.post("/api/sessions", json={}).json()
    truncated = SAMPLE.read_bytes()[:5000]
    r = client.post(
        f"/api/sessions/{s['session_id']}/recording",
        content=truncated,
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] in {"TRUNCATED_FILE", "DAMAGED_FILE", "ZERO_FRAMES", "NOT_A_MEDIA_FILE"}
    # nothing was decided: the person may record again in the same session
    r = client.post(
        f"/api/sessions/{s['session_id']}/recording",
        content=SAMPLE.read_bytes(),
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert r.status_code == 200 and "passed" in r.json()


def test_person_enrolled_and_attempt_recorded(client: TestClient) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    headers = {"X-API-Key": ADMIN}
    person = {
        "id": "A1",
        "name": "astronaut",
        "benefit_type": "enterprise",
        "region": "110000",
        "registered_on": "2026-01-05",
    }
    assert client.post("/api/people", json=person, headers=headers).status_code == 201
    buf = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buf, format="JPEG", quality=92)
    r = client.post("/api/people/A1/enrollment", content=buf.getvalue(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["enrolled"] is True
    s = client.post("/api/sessions", json={"person_id": "A1", "prompts": 0}, headers=headers).json()
    assert s["person_bound"] is True
    r = client.post(
        f"/api/sessions/{s['session_id']}/recording",
        content=SAMPLE.read_bytes(),
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["identity_passed"] is True and "match" in result
    status = client.get("/api/people/A1", headers=headers).json()
    assert len(status["attempts"]) == 1
    attempt = status["attempts"][0]
    assert str(attempt["id"]) == r.headers["Livecert-Attempt"]
    assert attempt["decision"] == ("accepted" if result["passed"] else "rejected")
    assert attempt["recording_sha256"] == result["meta"]["input_sha256"]


def test_too_long_recording_is_refused(tmp_path: Path) -> None:
    service = make_service(tmp_path, config=ServeConfig(max_recording_s=2.0))
    with TestClient(create_app(service)) as client:
        s = client.post("/api/sessions", json={}).json()
        r = client.post(
            f"/api/sessions/{s['session_id']}/recording",
            content=SAMPLE.read_bytes(),
            headers={"Authorization": f"Bearer {s['token']}"},
        )
    assert r.status_code == 422 and r.json()["error"]["code"] == "TOO_LONG", r.text


def test_pool_is_bounded_and_survives_a_dead_worker() -> None:
    async def scenario() -> list[object]:
        pool = VerifierPool(workers=1, max_queue=1)
        try:
            await pool.run(abs, -1)  # the worker is up
            # two admitted (one running, one waiting), the third refused at once
            results = await asyncio.gather(
                pool.run(time.sleep, 1.0), pool.run(time.sleep, 1.0), pool.run(time.sleep, 1.0), return_exceptions=True
            )
            crashed: list[object] = []
            try:
                await pool.run(os._exit, 3)
            except ApiError as exc:
                crashed.append(exc.code)
            # a new worker takes the next job
            assert await pool.run(abs, -2) == 2
            return [*(r.code if isinstance(r, ApiError) else r for r in results), *crashed]
        finally:
            pool.close()

    outcomes = asyncio.run(scenario())
    assert outcomes == [None, None, ApiErrorCode.SERVER_BUSY, ApiErrorCode.WORKER_CRASHED]


@pytest.mark.parametrize("data", [SAMPLE.read_bytes(), b"not a video"], ids=["checked", "refused"])
def test_a_worker_gives_freed_memory_back_after_every_upload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes
) -> None:
    """A worker lives for many uploads: after each, answered or refused, what it freed is
    returned to the system (glibc keeps it otherwise, and the worker's memory drifts up)."""
    calls: list[int] = []
    monkeypatch.setattr(worker, "release_free_memory", lambda: calls.append(len(calls)))
    job = worker.VerifyJob(data, Mode.BLINK, "en", None, b"k" * 32, str(tmp_path / "l.sqlite"), None, LimitsConfig())
    outcome = worker.run_verify(job)
    assert (outcome.result_json is None) == (data == b"not a video")
    assert calls == [0]
