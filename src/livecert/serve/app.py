"""The web application: sessions, uploads, enrollment, people, the capture page.

:func:`create_app` builds it from a :class:`Service` (the key, the ledger, the single-use
stores, the worker pool).  Routes (every refusal is ``{"error": {"code", "message"}}`` with a
stable code, :mod:`livecert.serve.errors`; ``?lang=zh`` gives Chinese messages):

- ``GET /``: the capture page; ``GET /static/...``: its script and style.
- ``GET /healthz``: liveness of the server and its workers.
- ``POST /api/sessions``: a signed one-time session (mode, challenge, expiry); bound to a
  person it needs the API key (``X-API-Key``), otherwise ``ServeConfig.open_sessions``.
- ``GET /api/sessions/{id}``: what the page shows (session token as ``Authorization: Bearer``).
- ``POST /api/sessions/{id}/recording``: the recording (raw body, WebM or MP4); the answer is
  exactly ``livecert verify --json``'s object, and a person's attempt is recorded in the ledger.
- ``WS /api/sessions/{id}/guide?token=...``: live guidance while the person gets into
  position (JPEG frames in, ``{"guidance", "message", "ready"}`` out; :mod:`livecert.serve.guide`).
- ``POST /api/people``, ``POST /api/people/{id}/enrollment``, ``GET /api/people/{id}``: admin.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Body, FastAPI, Header, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from livecert.config import Mode
from livecert.errors import ErrorCode, LivecertError
from livecert.identity.enrollment import Enrollment
from livecert.ledger.policy import BenefitType
from livecert.ledger.records import NewPerson, PersonReport
from livecert.ledger.store import Ledger
from livecert.liveness.challenge import Challenge, ScheduleKind, new_blink_challenge, new_challenge
from livecert.schemas import app_message
from livecert.serve.claims import ClaimState, UploadLog
from livecert.serve.config import ServeConfig
from livecert.serve.errors import ApiError, ApiErrorCode
from livecert.serve.guide import Guide, decode_frame
from livecert.serve.pool import VerifierPool
from livecert.serve.proxy import client_address
from livecert.serve.ratelimit import RateLimiter
from livecert.serve.sniff import PHOTO_KINDS, VIDEO_KINDS, MediaKind, sniff
from livecert.serve.tokens import SessionGrant
from livecert.serve.worker import EnrollJob, EnrollOutcome, VerifyJob, VerifyOutcome, run_enroll, run_verify

log = logging.getLogger(__name__)
access_log = logging.getLogger("livecert.serve.access")

VERSION = "1"


@dataclass(frozen=True)
class ChallengeRequest:
    """What a new session's challenge is to ask (the request's fields, or the server's defaults).

    ``prompts`` "blink now" prompts (0: blink freely) with ``mouth_prompts`` "open your
    mouth" and ``turn_prompts`` "turn your head" prompts among them in blink mode;
    ``n_digits`` digits shown as ``schedule`` says in digits mode.
    """

    mode: Mode
    prompts: int
    schedule: ScheduleKind
    ttl_s: float
    n_digits: int
    mouth_prompts: int
    turn_prompts: int = 0


#: Draws a session's challenge from what the request asks: a challenge, or None to blink freely.
ChallengeFactory = Callable[[ChallengeRequest], Challenge | None]


def default_challenge(request: ChallengeRequest) -> Challenge | None:
    """A fresh random challenge: digits to read, blink-challenge prompts, or none (free blinking)."""
    if request.mode is Mode.DIGITS:
        return new_challenge(request.n_digits, ttl_s=request.ttl_s, schedule=request.schedule)
    if request.prompts == 0:
        return None
    return new_blink_challenge(
        request.prompts, mouth_prompts=request.mouth_prompts, turn_prompts=request.turn_prompts, ttl_s=request.ttl_s
    )


@dataclass
class Service:
    """What the routes share.

    Attributes
    ----------
    config : ServeConfig
    key : bytes
        Signs sessions and challenges.
    admin_key : str
        The API key of the admin endpoints.
    ledger : Ledger
        People, their enrolled faces and their attempts.
    uploads : UploadLog
        One answer per session (in the ledger's database).
    db : str
        The ledger's database (SQLite file or ``postgresql://`` URL), whose used-challenge
        table ``verify()`` in the workers spends challenges in (a session without a
        challenge is spent by its claim in ``uploads``).
    pool : VerifierPool
    limiter : RateLimiter
    challenge_factory : ChallengeFactory
        :func:`default_challenge` in production; tests pin a clip's digits with it.
    clock : callable returning float
        Unix seconds.
    """

    config: ServeConfig
    key: bytes
    admin_key: str
    ledger: Ledger
    uploads: UploadLog
    db: str
    pool: VerifierPool
    limiter: RateLimiter
    challenge_factory: ChallengeFactory = default_challenge
    clock: Callable[[], float] = time.time
    started_at: float = field(default_factory=time.time)
    guides_open: int = 0


# ---------------------------------------------------------------------- request and response bodies


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable code: livecert.ErrorCode or livecert.serve.errors.ApiErrorCode")
    message: str = Field(description="What went wrong and what to do, in ?lang")


class ErrorBody(BaseModel):
    """Every refusal (livecert/schemas/error.schema.json)."""

    error: ErrorDetail


class SessionRequest(BaseModel):
    mode: Mode | None = Field(default=None, description="blink or digits (default: the server's)")
    person_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="bind to this enrolled person (needs X-API-Key)"
    )
    prompts: int | None = Field(
        default=None, ge=0, le=5, description="blink mode: 'blink now' prompts, 0 to blink freely"
    )
    mouth_prompts: int | None = Field(
        default=None, ge=0, le=3, description="blink mode: 'open your mouth' prompts among them (0-3)"
    )
    turn_prompts: int | None = Field(
        default=None, ge=0, le=3, description="blink mode: 'turn your head' prompts among them (0-3)"
    )
    schedule: ScheduleKind = Field(default=ScheduleKind.ONE_BY_ONE, description="digits mode: one_by_one or all")


class SessionOut(BaseModel):
    session_id: str
    token: str = Field(description="send as Authorization: Bearer TOKEN to the session's endpoints")
    mode: Mode
    person_bound: bool
    expires_at: float = Field(description="unix seconds")
    page_url: str = Field(description="the capture page for this session (token in the fragment)")
    challenge: dict[str, object] = Field(description="what to show when (livecert/schemas/app_challenge.schema.json)")
    max_recording_s: float


class PersonIn(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    benefit_type: BenefitType
    region: str = Field(min_length=1, max_length=32)
    registered_on: date


class PersonOut(BaseModel):
    person_id: str
    status: str = Field(description="certified, due, overdue or suspended (today)")
    enrolled: bool
    last_certified_on: date
    due_from: date
    due_on: date
    suspended_from: date | None
    attempts: list[dict[str, object]]


class Health(BaseModel):
    status: str
    workers: int
    in_flight: int
    capacity: int
    ledger: str
    uptime_s: float


_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 410, 413, 415, 422, 429, 503)
}

_STATIC = resources.files("livecert.serve").joinpath("static")

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self)",
}


def create_app(service: Service) -> FastAPI:
    """The ASGI application for ``service`` (close it with the app's lifespan)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.pool.close()
        service.uploads.close()
        service.ledger.close()

    app = FastAPI(
        title="livecert serve",
        version=VERSION,
        description="Certify that a live, specific person is in front of a camera, from a browser.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's documentation pages load their scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    _handlers(app)
    _middleware(app)
    _routes(app, service)
    static_dir = Path(str(_STATIC))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    return app


def _lang(request: Request) -> str:
    return "zh" if request.query_params.get("lang") == "zh" else "en"


def _handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = {} if exc.retry_after_s is None else {"Retry-After": str(math.ceil(exc.retry_after_s))}
        return JSONResponse(exc.body(_lang(request)), status_code=exc.status, headers=headers)

    async def on_livecert_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LivecertError)
        return await on_api_error(request, ApiError.from_livecert(exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return await on_api_error(request, ApiError(ApiErrorCode.BAD_REQUEST, message))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = ApiErrorCode.NOT_FOUND if exc.status_code in (404, 405) else ApiErrorCode.BAD_REQUEST
        return await on_api_error(request, ApiError(code, str(exc.detail), status=exc.status_code))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(LivecertError, on_livecert_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def log_and_secure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        route = request.scope.get("route")
        access_log.info(
            json.dumps(
                {
                    "at": round(time.time(), 3),
                    "event": "request",
                    "method": request.method,
                    # the route's template, never the raw path: no session ids or person ids in the log
                    "route": getattr(route, "path", "?"),
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - t0) * 1e3, 1),
                }
            )
        )
        return response


def _client(service: Service, request: Request) -> str:
    peer = request.client.host if request.client is not None else "?"
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, service.config.proxy_networks)


def _rate(service: Service, request: Request) -> None:
    wait = service.limiter.take(_client(service, request))
    if wait > 0:
        raise ApiError(
            ApiErrorCode.RATE_LIMITED, f"too many requests; try again in {math.ceil(wait)} s", retry_after_s=wait
        )


def _admin(service: Service, api_key: str | None) -> None:
    if api_key is None or not hmac.compare_digest(api_key.encode(), service.admin_key.encode()):
        raise ApiError(ApiErrorCode.UNAUTHORIZED, "this endpoint needs the server's API key in the X-API-Key header")


def _grant(service: Service, session_id: str, authorization: str | None) -> SessionGrant:
    if authorization is None or not authorization.startswith("Bearer "):
        raise ApiError(ApiErrorCode.SESSION_INVALID, "the session token is missing; open the page from its link")
    grant = SessionGrant.from_token(authorization.removeprefix("Bearer "), service.key)
    if grant.session_id != session_id:
        raise ApiError(ApiErrorCode.SESSION_INVALID, "the session token is for another session")
    if service.clock() > grant.expires_at:
        raise ApiError(ApiErrorCode.SESSION_EXPIRED, "the session expired; start again")
    return grant


def _session_out(service: Service, grant: SessionGrant, token: str) -> SessionOut:
    challenge = None if grant.challenge_token is None else Challenge.from_token(grant.challenge_token, service.key)
    message = app_message(challenge, grant.challenge_token)
    return SessionOut(
        session_id=grant.session_id,
        token=token,
        mode=grant.mode,
        person_bound=grant.person_id is not None,
        expires_at=grant.expires_at,
        page_url=f"/#session={grant.session_id}&token={token}",
        challenge=message,
        max_recording_s=service.config.max_recording_s,
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(ApiErrorCode.UPLOAD_TOO_LARGE, f"the upload is {int(declared)} bytes; at most {limit} are taken")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(ApiErrorCode.UPLOAD_TOO_LARGE, f"the upload is over {limit} bytes, the most taken")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ApiError(ApiErrorCode.UNSUPPORTED_MEDIA, "the upload is empty; record again")
    return data


def _sniffed(data: bytes, allowed: frozenset[MediaKind], what: str) -> MediaKind:
    kind = sniff(data[:16])
    if kind not in allowed:
        names = ", ".join(sorted(k.value for k in allowed))
        raise ApiError(ApiErrorCode.UNSUPPORTED_MEDIA, f"the upload is not {what} ({names}), judged by its bytes")
    return kind


def _person_out(report: PersonReport) -> PersonOut:
    p = report.person
    return PersonOut(
        person_id=p.id,
        status=report.status.value,
        enrolled=p.enrolled,
        last_certified_on=p.state.last_certified_on,
        due_from=p.state.due_from,
        due_on=p.state.due_on,
        suspended_from=p.state.suspended_from,
        attempts=[a.to_dict() for a in report.attempts],
    )


def _routes(app: FastAPI, service: Service) -> None:
    cfg = service.config

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(Path(str(_STATIC.joinpath("index.html"))), headers={"Cache-Control": "no-cache"})

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(
            status="ok",
            workers=service.pool.workers,
            in_flight=service.pool.in_flight,
            capacity=service.pool.capacity,
            ledger=service.ledger.dialect,
            uptime_s=round(time.time() - service.started_at, 1),
        )

    @app.post("/api/sessions", response_model=SessionOut, status_code=201, responses=_ERRORS)
    async def create_session(
        request: Request,
        request_body: Annotated[SessionRequest | None, Body()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> SessionOut:
        _rate(service, request)
        body = request_body or SessionRequest()
        if body.person_id is not None:
            _admin(service, x_api_key)
            person = await asyncio.to_thread(service.ledger.person, body.person_id)
            if not person.enrolled:
                raise ApiError(
                    ErrorCode.NOT_ENROLLED, f"person {body.person_id} has no enrolled face; enroll a photo first"
                )
        elif not cfg.open_sessions:
            raise ApiError(ApiErrorCode.OPEN_SESSIONS_OFF, "this server only takes sessions bound to a person")
        mode = body.mode or cfg.default_mode
        wanted = ChallengeRequest(
            mode,
            cfg.blink_prompts if body.prompts is None else body.prompts,
            body.schedule,
            cfg.session_ttl_s,
            cfg.n_digits,
            cfg.mouth_prompts if body.mouth_prompts is None else body.mouth_prompts,
            cfg.turn_prompts if body.turn_prompts is None else body.turn_prompts,
        )
        now = service.clock()
        challenge = service.challenge_factory(wanted)
        grant = SessionGrant(
            session_id=secrets.token_urlsafe(16) if challenge is None else challenge.nonce,
            mode=mode,
            person_id=body.person_id,
            issued_at=now,
            expires_at=now + cfg.session_ttl_s,
            challenge_token=None if challenge is None else challenge.to_token(service.key),
        )
        return _session_out(service, grant, grant.to_token(service.key))

    @app.get("/api/sessions/{session_id}", response_model=SessionOut, responses=_ERRORS)
    async def get_session(session_id: str, authorization: Annotated[str | None, Header()] = None) -> SessionOut:
        grant = _grant(service, session_id, authorization)
        assert authorization is not None
        return _session_out(service, grant, authorization.removeprefix("Bearer "))

    @app.post(
        "/api/sessions/{session_id}/recording",
        responses={
            200: {"description": "the result: exactly `livecert verify --json`'s object (result.schema.json)"},
            **_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("video/webm", "video/mp4")},
            }
        },
    )
    async def upload_recording(
        request: Request,
        session_id: str,
        lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        grant = _grant(service, session_id, authorization)
        _rate(service, request)
        data = await _read_body(request, cfg.max_upload_bytes)
        _sniffed(data, VIDEO_KINDS, "a video")
        digest = hashlib.sha256(data).hexdigest()
        claim = await asyncio.to_thread(service.uploads.claim, session_id, digest)
        if claim.state is ClaimState.DONE:
            return Response(claim.body, status_code=claim.status, media_type="application/json")
        if claim.state is ClaimState.BUSY:
            raise ApiError(ApiErrorCode.SESSION_BUSY, "this recording is being checked; wait for its result")
        if claim.state is ClaimState.USED:
            raise ApiError(ApiErrorCode.SESSION_USED, "this session was used for another recording; start again")
        try:
            status, body, headers = await _check(service, grant, data, lang)
        except ApiError:
            # Nothing was decided (an unusable recording, a busy server, a dead worker): the
            # session stays open for another recording; verify() spends a challenge only once
            # the recording was read whole.
            await asyncio.to_thread(service.uploads.release, session_id, claim.claimed_at)
            raise
        stored = await asyncio.to_thread(service.uploads.finish, session_id, status, body)
        if (stored.status, stored.body) != (status, body):  # another server answered this claim first
            return Response(stored.body, status_code=stored.status, media_type="application/json")
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    @app.websocket("/api/sessions/{session_id}/guide")
    async def guide(websocket: WebSocket, session_id: str, token: str = "", lang: str = "en") -> None:
        try:
            _grant(service, session_id, f"Bearer {token}")
        except ApiError as exc:
            await websocket.close(code=4401, reason=str(exc.code))
            return
        await websocket.accept()
        if service.guides_open >= cfg.max_guides:
            await websocket.send_json({"unavailable": True})
            await websocket.close()
            return
        service.guides_open += 1
        guide = Guide("zh" if lang == "zh" else "en")
        try:
            while True:
                data = await websocket.receive_bytes()
                try:
                    rgb = decode_frame(data)
                except LivecertError as exc:
                    await websocket.send_json({"error": {"code": exc.code.value, "message": exc.message_in(lang)}})
                    continue
                update = await asyncio.to_thread(guide.push, rgb)
                await websocket.send_json(update.to_dict())
        except WebSocketDisconnect:
            pass
        finally:
            service.guides_open -= 1
            await asyncio.to_thread(guide.close)

    @app.post("/api/people", response_model=PersonOut, status_code=201, responses=_ERRORS)
    async def add_person(person: PersonIn, x_api_key: Annotated[str | None, Header()] = None) -> PersonOut:
        _admin(service, x_api_key)
        new = NewPerson(person.id, person.name, person.benefit_type, person.region, person.registered_on)
        await asyncio.to_thread(service.ledger.add_person, new, actor="serve")
        return _person_out(await asyncio.to_thread(service.ledger.report, person.id))

    @app.post(
        "/api/people/{person_id}/enrollment",
        response_model=PersonOut,
        responses=_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png")},
            }
        },
    )
    async def enroll_person(
        request: Request, person_id: str, x_api_key: Annotated[str | None, Header()] = None
    ) -> PersonOut:
        _admin(service, x_api_key)
        await asyncio.to_thread(service.ledger.person, person_id)  # UNKNOWN_PERSON before any work
        data = await _read_body(request, cfg.max_photo_bytes)
        kind = _sniffed(data, PHOTO_KINDS, "a photo")
        outcome: EnrollOutcome = await service.pool.run(run_enroll, EnrollJob(data, f".{kind.value}"))
        if outcome.error is not None or outcome.enrollment is None:
            assert outcome.error is not None
            raise ApiError(ErrorCode(outcome.error.code), outcome.error.message_en, zh=outcome.error.message_zh)
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(
            service.ledger.enroll, person_id, outcome.enrollment, photo_sha256=digest, actor="serve"
        )
        return _person_out(await asyncio.to_thread(service.ledger.report, person_id))

    @app.get("/api/people/{person_id}", response_model=PersonOut, responses=_ERRORS)
    async def get_person(person_id: str, x_api_key: Annotated[str | None, Header()] = None) -> PersonOut:
        _admin(service, x_api_key)
        return _person_out(await asyncio.to_thread(service.ledger.report, person_id))


async def _check(service: Service, grant: SessionGrant, data: bytes, lang: str) -> tuple[int, str, dict[str, str]]:
    """Verify ``data`` for ``grant`` in the pool; record a person's attempt. (status, body, headers)."""
    enrollment: Enrollment | None = None
    if grant.person_id is not None:
        enrollment = await asyncio.to_thread(service.ledger.enrollment, grant.person_id)
    job = VerifyJob(
        data=data,
        mode=grant.mode,
        lang=lang,
        challenge_token=grant.challenge_token,
        key=service.key,
        db=service.db,
        enrollment=enrollment,
        limits=service.config.limits,
        attempt=grant.person_id is not None,
        keep_frame=service.ledger.settings.keep_frames,
    )
    outcome: VerifyOutcome = await service.pool.run(run_verify, job)
    if outcome.error is not None or outcome.result_json is None:
        assert outcome.error is not None
        raise ApiError(ErrorCode(outcome.error.code), outcome.error.message_en, zh=outcome.error.message_zh)
    headers: dict[str, str] = {}
    if grant.person_id is not None and outcome.attempt is not None:
        record = await asyncio.to_thread(service.ledger.record_attempt, grant.person_id, outcome.attempt, actor="serve")
        headers = {"Livecert-Attempt": str(record.id), "Livecert-Status": record.status_after.value}
    event = {"event": "verified", "mode": grant.mode.value, "passed": outcome.passed, "pid": outcome.pid}
    log.info(json.dumps({"at": round(time.time(), 3), **event}))
    return 200, outcome.result_json, headers
