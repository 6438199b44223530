"""``livecert serve``'s API without running verify(): sessions, tokens, limits, errors, OpenAPI."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="livecert serve needs the serve extra (pip install 'livecert[serve]')")
pytest.importorskip("httpx", reason="the API tests need httpx (the serve-test extra)")

from fastapi.testclient import TestClient  # noqa: E402
from jsonschema import validate  # noqa: E402

from livecert.app.cli import main  # noqa: E402
from livecert.config import Mode  # noqa: E402
from livecert.errors import InputError  # noqa: E402
from livecert.ledger.store import Ledger  # noqa: E402
from livecert.liveness.challenge import Challenge, generate_key  # noqa: E402
from livecert.schemas import load_schema  # noqa: E402
from livecert.serve.app import Service, create_app  # noqa: E402
from livecert.serve.claims import ClaimState, UploadLog  # noqa: E402
from livecert.serve.config import ServeConfig  # noqa: E402
from livecert.serve.errors import STATUS, ApiErrorCode  # noqa: E402
from livecert.serve.pool import VerifierPool  # noqa: E402
from livecert.serve.ratelimit import RateLimiter  # noqa: E402
from livecert.serve.server import open_ledger  # noqa: E402
from livecert.serve.sniff import MediaKind, sniff  # noqa: E402
from livecert.serve.tokens import SessionGrant  # noqa: E402

ADMIN = "admin-key-for-tests-0123456789"


class Clock:
    """A settable clock (unix seconds)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make_service(
    tmp: Path,
    *,
    config: ServeConfig | None = None,
    clock: Clock | None = None,
    db: str | None = None,
    key: bytes | None = None,
) -> Service:
    """A service on the ledger ``db`` (default a SQLite file in ``tmp``); two services given the
    same ``db`` and ``key`` are two instances of one deployment."""
    config = config or ServeConfig()
    db = db or str(tmp / "ledger.sqlite")
    ledger = open_ledger(db)
    return Service(
        config=config,
        key=key or generate_key(),
        admin_key=ADMIN,
        ledger=ledger,
        uploads=UploadLog(db, stale_s=config.max_check_s),
        db=db,
        pool=VerifierPool(config.workers, config.max_queue),
        limiter=RateLimiter(config.rate_per_minute, config.rate_burst),
        clock=clock or Clock(),
    )


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return make_service(tmp_path)


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


def error_of(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    validate(body, load_schema("error"))
    return str(body["error"]["code"])


def test_healthz_and_page(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["workers"] == 1 and health["ledger"] == "sqlite"
    page = client.get("/")
    assert page.status_code == 200 and "养老金资格认证" in page.text
    assert "'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    """No CDN: every script, style, image and request goes to the server itself."""
    texts = [client.get(p).text for p in ("/", "/static/app.js", "/static/style.css")]
    for text in texts:
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
        assert not re.search(r"""(fetch|open|url)\(\s*["'`]?(https?:)?//""", text)
        assert not re.search(r"""["'`]https?://""", text)


def test_open_session_blink_and_token(client: TestClient, service: Service) -> None:
    r = client.post("/api/sessions", json={"prompts": 0})
    assert r.status_code == 201
    s = r.json()
    assert s["mode"] == "blink" and not s["person_bound"] and s["challenge"] == {"version": 1, "mode": "blink"}
    validate(s["challenge"], load_schema("app_challenge"))
    got = client.get(f"/api/sessions/{s['session_id']}", headers={"Authorization": f"Bearer {s['token']}"})
    assert got.status_code == 200 and got.json()["session_id"] == s["session_id"]
    grant = SessionGrant.from_token(s["token"], service.key)
    assert grant.mode is Mode.BLINK and grant.person_id is None and grant.challenge_token is None


def test_digits_session_carries_a_signed_challenge(client: TestClient, service: Service) -> None:
    s = client.post("/api/sessions", json={"mode": "digits"}).json()
    c = s["challenge"]
    validate(c, load_schema("app_challenge"))
    assert c["mode"] == "digits" and len(c["digits"]) == 4 and len(c["schedule"]) == 4
    challenge = Challenge.from_token(c["token"], service.key)
    assert challenge.nonce == s["session_id"] and challenge.digits == c["digits"]


def test_blink_prompts_session(client: TestClient) -> None:
    c = client.post("/api/sessions", json={"mode": "blink", "prompts": 3}).json()["challenge"]
    assert c["schedule_kind"] == "blink" and [s["action"] for s in c["schedule"]].count("blink") == 3
    c = client.post("/api/sessions", json={"prompts": 1, "mouth_prompts": 0}).json()["challenge"]
    assert [s["action"] for s in c["schedule"]] == ["blink"]  # for people who cannot open the mouth on request
    c = client.post("/api/sessions", json={"prompts": 1, "mouth_prompts": 2}).json()["challenge"]
    assert sorted(s["action"] for s in c["schedule"]) == ["blink", "open_mouth", "open_mouth"]
    c = client.post("/api/sessions", json={"prompts": 1, "mouth_prompts": 0, "turn_prompts": 1}).json()["challenge"]
    validate(c, load_schema("app_challenge"))
    assert sorted(s["action"] for s in c["schedule"]) == ["blink", "turn_head"]
    for bad in ({"mouth_prompts": 4}, {"turn_prompts": 4}):
        r = client.post("/api/sessions", json=bad)
        assert r.status_code == 422 and error_of(r) == "BAD_REQUEST"


def test_blink_sessions_ask_for_two_blinks_and_the_mouth_by_default(client: TestClient, service: Service) -> None:
    """A recording played into the camera answers random prompts only by chance: on unless asked off."""
    c = client.post("/api/sessions", json={}).json()["challenge"]
    validate(c, load_schema("app_challenge"))
    assert c["mode"] == "blink" and c["schedule_kind"] == "blink"
    assert sorted(s["action"] for s in c["schedule"]) == ["blink", "blink", "open_mouth"]
    challenge = Challenge.from_token(c["token"], service.key)
    assert challenge.windows() == tuple((s["show_at_s"], s["hide_at_s"]) for s in c["schedule"])


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "SESSION_INVALID"), ("garbage", "SESSION_INVALID"), ("a.b", "SESSION_INVALID")],
)
def test_bad_session_tokens(client: TestClient, token: str | None, code: str) -> None:
    s = client.post("/api/sessions", json={}).json()
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    r = client.post(
        f"/api/sessions/{s['session_id']}/recording", content=b"\x1a\x45\xdf\xa3" + b"0" * 64, headers=headers
    )
    assert r.status_code == 401 and error_of(r) == code


def test_tampered_and_foreign_tokens(client: TestClient, service: Service) -> None:
    a = client.post("/api/sessions", json={}).json()
    b = client.post("/api/sessions", json={}).json()
    # b's token on a's session
    r = client.get(f"/api/sessions/{a['session_id']}", headers={"Authorization": f"Bearer {b['token']}"})
    assert r.status_code == 401 and error_of(r) == "SESSION_INVALID"
    # a token signed with another key
    other = SessionGrant(a["session_id"], Mode.BLINK, "someone", 0.0, 4e9, None).to_token(generate_key())
    r = client.get(f"/api/sessions/{a['session_id']}", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 401
    # one character changed in the payload
    payload, sig = a["token"].split(".")
    flipped = ("A" if payload[5] != "A" else "B").join((payload[:5], payload[6:]))
    r = client.get(f"/api/sessions/{a['session_id']}", headers={"Authorization": f"Bearer {flipped}.{sig}"})
    assert r.status_code == 401


def test_expired_session(tmp_path: Path) -> None:
    clock = Clock()
    service = make_service(tmp_path, clock=clock)
    with TestClient(create_app(service)) as client:
        s = client.post("/api/sessions", json={}).json()
        clock.now += service.config.session_ttl_s + 1
        r = client.get(f"/api/sessions/{s['session_id']}", headers={"Authorization": f"Bearer {s['token']}"})
        assert r.status_code == 410 and error_of(r) == "SESSION_EXPIRED"


def test_person_sessions_need_the_api_key(client: TestClient) -> None:
    r = client.post("/api/sessions", json={"person_id": "P1"})
    assert r.status_code == 401 and error_of(r) == "UNAUTHORIZED"
    r = client.post("/api/sessions", json={"person_id": "P1"}, headers={"X-API-Key": "wrong" * 8})
    assert r.status_code == 401
    r = client.post("/api/sessions", json={"person_id": "P1"}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 404 and error_of(r) == "UNKNOWN_PERSON"
    person = {
        "id": "P1",
        "name": "张三",
        "benefit_type": "enterprise",
        "region": "330100",
        "registered_on": "2020-01-05",
    }
    assert client.post("/api/people", json=person).status_code == 401
    r = client.post("/api/people", json=person, headers={"X-API-Key": ADMIN})
    assert r.status_code == 201 and r.json()["enrolled"] is False
    assert client.post("/api/people", json=person, headers={"X-API-Key": ADMIN}).status_code == 409
    r = client.post("/api/sessions", json={"person_id": "P1"}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 409 and error_of(r) == "NOT_ENROLLED"
    got = client.get("/api/people/P1", headers={"X-API-Key": ADMIN}).json()
    assert got["person_id"] == "P1" and got["attempts"] == [] and "name" not in got
    r = client.post("/api/people/P1/enrollment", content=b"not a photo at all", headers={"X-API-Key": ADMIN})
    assert r.status_code == 415 and error_of(r) == "UNSUPPORTED_MEDIA"
    r = client.post("/api/people/NOBODY/enrollment", content=b"\xff\xd8\xff" + b"0" * 64, headers={"X-API-Key": ADMIN})
    assert r.status_code == 404


def test_closed_server_refuses_open_sessions(tmp_path: Path) -> None:
    service = make_service(tmp_path, config=ServeConfig(open_sessions=False))
    with TestClient(create_app(service)) as client:
        r = client.post("/api/sessions", json={}, params={"lang": "zh"})
        assert r.status_code == 403 and error_of(r) == "OPEN_SESSIONS_OFF"
        assert "社保" in r.json()["error"]["message"]


def test_upload_limits(tmp_path: Path) -> None:
    service = make_service(tmp_path, config=ServeConfig(max_upload_bytes=10_000))
    with TestClient(create_app(service)) as client:
        s = client.post("/api/sessions", json={}).json()
        url, auth = f"/api/sessions/{s['session_id']}/recording", {"Authorization": f"Bearer {s['token']}"}
        r = client.post(url, content=b"%PDF-1.7 not a video" * 10, headers=auth)
        assert r.status_code == 415 and error_of(r) == "UNSUPPORTED_MEDIA"
        r = client.post(url, content=b"", headers=auth)
        assert r.status_code == 415
        r = client.post(url, content=b"\x1a\x45\xdf\xa3" + bytes(20_000), headers=auth)
        assert r.status_code == 413 and error_of(r) == "UPLOAD_TOO_LARGE"
        # nothing was claimed by the refusals: the session is still unused
        assert service.uploads.count() == (0, 0)


def test_rate_limit(tmp_path: Path) -> None:
    service = make_service(tmp_path, config=ServeConfig(rate_per_minute=1.0, rate_burst=3))
    with TestClient(create_app(service)) as client:
        codes = [client.post("/api/sessions", json={}).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        r = client.post("/api/sessions", json={})
        assert error_of(r) == "RATE_LIMITED" and int(r.headers["Retry-After"]) > 0


def test_bad_request_is_a_coded_error(client: TestClient) -> None:
    r = client.post("/api/sessions", json={"mode": "sing"})
    assert r.status_code == 422 and error_of(r) == "BAD_REQUEST" and "mode" in r.json()["error"]["message"]
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and error_of(r) == "NOT_FOUND"


def test_openapi_documents_every_route_and_refusal(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("/healthz", "get"),
        ("/api/sessions", "post"),
        ("/api/sessions/{session_id}", "get"),
        ("/api/sessions/{session_id}/recording", "post"),
        ("/api/people", "post"),
        ("/api/people/{person_id}", "get"),
        ("/api/people/{person_id}/enrollment", "post"),
    }
    assert {(p, m) for p, ops in paths.items() for m in ops} == expected
    for path, method in expected - {("/healthz", "get")}:
        responses = paths[path][method]["responses"]
        for status in ("401", "422", "429", "503"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), path
    upload = paths["/api/sessions/{session_id}/recording"]["post"]
    assert set(upload["requestBody"]["content"]) == {"video/webm", "video/mp4"}
    session = spec["components"]["schemas"]["SessionOut"]
    assert {"session_id", "token", "mode", "expires_at", "challenge"} <= set(session["required"])
    # every server refusal code has a status, and the statuses the routes use are documented
    assert set(STATUS) == set(ApiErrorCode)


def test_request_log_is_json_without_ids(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="livecert.serve.access")
    s = client.post("/api/sessions", json={}).json()
    client.get(f"/api/sessions/{s['session_id']}", headers={"Authorization": f"Bearer {s['token']}"})
    client.get("/api/people/SECRET-ID", headers={"X-API-Key": ADMIN})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "livecert.serve.access"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/api/sessions", 201),
        ("GET", "/api/sessions/{session_id}", 200),
        ("GET", "/api/people/{person_id}", 404),
    ]
    text = caplog.text
    assert s["session_id"] not in text and s["token"] not in text and "SECRET-ID" not in text


def test_sniff() -> None:
    assert sniff(b"\x1a\x45\xdf\xa3\x01\x00") is MediaKind.WEBM
    assert sniff(b"\x00\x00\x00\x20ftypisom\x00\x00") is MediaKind.MP4
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") is MediaKind.AVI
    assert sniff(b"\x00\x00\x01\xba\x44\x00") is MediaKind.MPEG_PS
    assert sniff(b"\xff\xd8\xff\xe0") is MediaKind.JPEG
    assert sniff(b"\x89PNG\r\n\x1a\n") is MediaKind.PNG
    assert sniff(b"<html>") is None and sniff(b"") is None


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(60.0, 2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # clients are counted apart
    now[0] += 1.0
    assert limiter.take("a") == 0.0


def test_upload_log_one_answer_per_session(tmp_path: Path) -> None:
    log = UploadLog(tmp_path / "u.sqlite", stale_s=60, purge_every_s=1e9)
    assert log.claim("s1", "aaa", now=0).state is ClaimState.CLAIMED
    assert log.claim("s1", "aaa", now=1).state is ClaimState.BUSY
    assert log.claim("s1", "bbb", now=1).state is ClaimState.USED
    log.finish("s1", 200, '{"passed": true}', now=2)
    done = log.claim("s1", "aaa", now=3)
    assert done.state is ClaimState.DONE and json.loads(done.body) == {"passed": True} and done.status == 200
    assert log.claim("s1", "bbb", now=3).state is ClaimState.USED
    # a claim whose check was lost (server killed) is taken over once stale, by the same recording only
    assert log.claim("s2", "ccc", now=0).state is ClaimState.CLAIMED
    assert log.claim("s2", "ddd", now=100).state is ClaimState.USED
    assert log.claim("s2", "ccc", now=100).state is ClaimState.CLAIMED
    log.release("s2")
    assert log.claim("s2", "eee", now=101).state is ClaimState.CLAIMED
    assert log.count() == (2, 1)
    # the first answer stored is the session's: a late second answer gets it back
    assert log.finish("s2", 200, '{"passed": false}', now=102).body == '{"passed": false}'
    late = log.finish("s2", 200, '{"passed": true}', now=103)
    assert late.state is ClaimState.DONE and late.body == '{"passed": false}'
    # release gives back only its own claim, not a take-over of it
    first = log.claim("s3", "fff", now=0)
    assert log.claim("s3", "fff", now=100).state is ClaimState.CLAIMED  # taken over
    log.release("s3", first.claimed_at)
    assert log.claim("s3", "fff", now=101).state is ClaimState.BUSY


def test_config_is_checked() -> None:
    with pytest.raises(InputError):
        ServeConfig(workers=0)
    with pytest.raises(InputError):
        ServeConfig(blink_prompts=9)
    with pytest.raises(InputError):
        ServeConfig(mouth_prompts=4)
    with pytest.raises(InputError):
        ServeConfig(turn_prompts=-1)
    assert ServeConfig(max_recording_s=30).limits.max_duration_s == 30
    assert ServeConfig(default_mode="digits").default_mode is Mode.DIGITS  # type: ignore[arg-type]


def test_ledger_is_reopened(tmp_path: Path) -> None:
    first = open_ledger(str(tmp_path / "l.sqlite"))
    first.close()
    again = open_ledger(str(tmp_path / "l.sqlite"))
    assert isinstance(again, Ledger)
    again.close()


def test_serve_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    """A port outside 1-65535 is a usage error (exit 2) naming the range, not a traceback from bind()."""
    assert main(["serve", "--port", "99999"]) == 2
    assert "port must be from 1 to 65535" in capsys.readouterr().err
