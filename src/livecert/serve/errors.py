"""Refusals of the web API: one JSON shape, stable codes, a message a person can act on.

Every refusal is ``{"error": {"code": ..., "message": ...}}``, the shape of ``livecert verify
--json``'s errors (``livecert/schemas/error.schema.json``).  Codes of the library's own errors
(:class:`~livecert.errors.ErrorCode`: ``TRUNCATED_FILE``, ``UNKNOWN_PERSON``, ...) pass through
unchanged; :class:`ApiErrorCode` adds the refusals only a server makes.
"""

from __future__ import annotations

from livecert.enums import StrEnum
from livecert.errors import ErrorCode, LivecertError


class ApiErrorCode(StrEnum):
    """Stable codes of the refusals only the server makes (the HTTP status is in :data:`STATUS`)."""

    #: An admin endpoint without the right API key (``Authorization: Bearer KEY``).
    UNAUTHORIZED = "UNAUTHORIZED"
    #: A session endpoint without a valid session token.
    SESSION_INVALID = "SESSION_INVALID"
    #: The session's time ran out before the recording came.
    SESSION_EXPIRED = "SESSION_EXPIRED"
    #: The session already has a result for another recording (a session is used once).
    SESSION_USED = "SESSION_USED"
    #: The session's recording is being checked (the same upload sent twice at once).
    SESSION_BUSY = "SESSION_BUSY"
    #: The upload is not a recording (or photo) of a kind the server reads, judged by its bytes.
    UNSUPPORTED_MEDIA = "UNSUPPORTED_MEDIA"
    #: The upload is larger than the server accepts.
    UPLOAD_TOO_LARGE = "UPLOAD_TOO_LARGE"
    #: Too many requests from this client; wait ``Retry-After`` seconds.
    RATE_LIMITED = "RATE_LIMITED"
    #: Every worker is busy and the queue is full; try again shortly.
    SERVER_BUSY = "SERVER_BUSY"
    #: A worker process died while checking this recording; send it again.
    WORKER_CRASHED = "WORKER_CRASHED"
    #: Sessions for no one in particular are switched off on this server.
    OPEN_SESSIONS_OFF = "OPEN_SESSIONS_OFF"
    #: A request whose fields are missing or wrong.
    BAD_REQUEST = "BAD_REQUEST"
    #: No such endpoint.
    NOT_FOUND = "NOT_FOUND"


#: HTTP status of each server refusal.
STATUS: dict[ApiErrorCode, int] = {
    ApiErrorCode.UNAUTHORIZED: 401,
    ApiErrorCode.SESSION_INVALID: 401,
    ApiErrorCode.SESSION_EXPIRED: 410,
    ApiErrorCode.SESSION_USED: 409,
    ApiErrorCode.SESSION_BUSY: 409,
    ApiErrorCode.UNSUPPORTED_MEDIA: 415,
    ApiErrorCode.UPLOAD_TOO_LARGE: 413,
    ApiErrorCode.RATE_LIMITED: 429,
    ApiErrorCode.SERVER_BUSY: 503,
    ApiErrorCode.WORKER_CRASHED: 503,
    ApiErrorCode.OPEN_SESSIONS_OFF: 403,
    ApiErrorCode.BAD_REQUEST: 422,
    ApiErrorCode.NOT_FOUND: 404,
}

#: What to do, in Chinese, for each server refusal (the English message follows it).
_ZH: dict[ApiErrorCode, str] = {
    ApiErrorCode.UNAUTHORIZED: "需要管理员密钥。",
    ApiErrorCode.SESSION_INVALID: "认证链接无效。请重新打开认证页面。",
    ApiErrorCode.SESSION_EXPIRED: "认证已超时。请重新开始。",
    ApiErrorCode.SESSION_USED: "这次认证已经完成。如需再试，请重新开始。",
    ApiErrorCode.SESSION_BUSY: "正在检查您的录像，请稍候。",
    ApiErrorCode.UNSUPPORTED_MEDIA: "上传的文件不是可识别的视频或照片。请重新录制。",
    ApiErrorCode.UPLOAD_TOO_LARGE: "上传的文件太大。请录制短一些的视频。",
    ApiErrorCode.RATE_LIMITED: "操作太频繁。请稍等片刻再试。",
    ApiErrorCode.SERVER_BUSY: "服务器繁忙。请稍等片刻再试。",
    ApiErrorCode.WORKER_CRASHED: "检查时出错。请再上传一次。",
    ApiErrorCode.OPEN_SESSIONS_OFF: "请从社保机构提供的链接进入认证。",
    ApiErrorCode.BAD_REQUEST: "请求有误。",
    ApiErrorCode.NOT_FOUND: "没有这个地址。",
}

#: HTTP status of the library's own errors that are not the client's recording being unusable.
_LIBRARY_STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNKNOWN_PERSON: 404,
    ErrorCode.PERSON_EXISTS: 409,
    ErrorCode.NOT_ENROLLED: 409,
    ErrorCode.UPLOAD_TOO_LARGE: 413,
    ErrorCode.LEDGER_UNAVAILABLE: 503,
    ErrorCode.NONCE_STORE_UNAVAILABLE: 503,
    ErrorCode.MODEL_MISSING: 500,
    ErrorCode.MODEL_UNAVAILABLE: 500,
    ErrorCode.MODEL_UNUSABLE: 500,
    ErrorCode.MISSING_DEPENDENCY: 500,
}


class ApiError(Exception):
    """A refusal: an HTTP status, a stable code and a message in English and Chinese.

    Parameters
    ----------
    code : ApiErrorCode or ErrorCode
    message : str
        English: what is wrong and what to do.
    status : int, optional
        Default :data:`STATUS` for an :class:`ApiErrorCode`, 422 for a library code.
    zh : str, optional
        Chinese text; default the code's own (:data:`_ZH`, or the library's).
    retry_after_s : float, optional
        Sent as ``Retry-After`` (rate limit, busy server).
    """

    def __init__(
        self,
        code: ApiErrorCode | ErrorCode,
        message: str,
        *,
        status: int | None = None,
        zh: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        default_status = STATUS[code] if isinstance(code, ApiErrorCode) else _LIBRARY_STATUS.get(code, 422)
        self.status = default_status if status is None else status
        self._zh = zh
        self.retry_after_s = retry_after_s

    @classmethod
    def from_livecert(cls, exc: LivecertError) -> ApiError:
        """A library error (an unusable recording, an unknown person, ...) as a refusal."""
        return cls(exc.code, exc.message, zh=exc.message_in("zh"))

    def message_in(self, lang: str) -> str:
        """The message in ``"en"`` or ``"zh"`` (Chinese: what to do, then the English message)."""
        if lang != "zh":
            return self.message
        if self._zh is not None:
            return self._zh
        zh = _ZH.get(self.code) if isinstance(self.code, ApiErrorCode) else None
        return f"{zh} ({self.message})" if zh else self.message

    def body(self, lang: str) -> dict[str, dict[str, str]]:
        """The JSON body: ``{"error": {"code": ..., "message": ...}}``."""
        return {"error": {"code": str(self.code), "message": self.message_in(lang)}}
