"""Exceptions raised by livecert.

A failed check (no blink, wrong person, ...) is never an exception: it is a
:class:`~livecert.results.VerificationResult` with ``passed=False``.
Exceptions are for input that cannot be used at all, for missing models and
for misuse of a stateful object.  Every exception carries a stable ``code``
and a message that names the problem and what to do about it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from livecert.enums import StrEnum


class ErrorCode(StrEnum):
    """Stable codes of the errors livecert raises (``LivecertError.code``).

    The string values never change between versions; messages may.  An
    unusable enrollment photo uses the reason code of its problem
    (``NO_FACE``, ``BLURRY``, ...).
    """

    AUDIO_DECODE_ERROR = "AUDIO_DECODE_ERROR"
    AUDIO_NOT_READY = "AUDIO_NOT_READY"
    BAD_ARGUMENT = "BAD_ARGUMENT"
    BAD_CONFIG = "BAD_CONFIG"
    BAD_DATE = "BAD_DATE"
    BAD_DIGITS = "BAD_DIGITS"
    BAD_ENROLLMENT = "BAD_ENROLLMENT"
    BAD_FRAME = "BAD_FRAME"
    BAD_INPUT = "BAD_INPUT"
    BAD_KEY = "BAD_KEY"
    BAD_LANDMARKS = "BAD_LANDMARKS"
    BAD_MANIFEST = "BAD_MANIFEST"
    BAD_MODE = "BAD_MODE"
    BAD_POLICY = "BAD_POLICY"
    BAD_RESULTS_FILE = "BAD_RESULTS_FILE"
    BAD_SOURCE = "BAD_SOURCE"
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    BAD_TRACE = "BAD_TRACE"
    BLURRY = "BLURRY"
    CAMERA_LOST = "CAMERA_LOST"
    CAMERA_UNAVAILABLE = "CAMERA_UNAVAILABLE"
    CANNOT_WRITE = "CANNOT_WRITE"
    CHALLENGE_ERROR = "CHALLENGE_ERROR"
    CHALLENGE_INVALID = "CHALLENGE_INVALID"
    CHALLENGE_REUSED = "CHALLENGE_REUSED"
    DAMAGED_FILE = "DAMAGED_FILE"
    EMPTY_AUDIO = "EMPTY_AUDIO"
    EMPTY_FILE = "EMPTY_FILE"
    ENROLLMENT_MODEL_MISMATCH = "ENROLLMENT_MODEL_MISMATCH"
    ENROLLMENT_VERSION = "ENROLLMENT_VERSION"
    EYES_CLOSED = "EYES_CLOSED"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    FACE_TURNED = "FACE_TURNED"
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
    FRAME_TOO_SMALL = "FRAME_TOO_SMALL"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    LEDGER_KEY = "LEDGER_KEY"
    LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"
    LEDGER_VERSION = "LEDGER_VERSION"
    LIVECERT_ERROR = "LIVECERT_ERROR"
    MISSING_DEPENDENCY = "MISSING_DEPENDENCY"
    MODEL_MISSING = "MODEL_MISSING"
    MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE"
    MODEL_UNUSABLE = "MODEL_UNUSABLE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    NONCE_STORE_UNAVAILABLE = "NONCE_STORE_UNAVAILABLE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    NOT_A_MEDIA_FILE = "NOT_A_MEDIA_FILE"
    NOT_A_REGULAR_FILE = "NOT_A_REGULAR_FILE"
    NOT_A_VIDEO = "NOT_A_VIDEO"
    NOT_ENROLLED = "NOT_ENROLLED"
    NO_AUDIO_STREAM = "NO_AUDIO_STREAM"
    NO_CHALLENGE = "NO_CHALLENGE"
    NO_DISPLAY = "NO_DISPLAY"
    NO_FACE = "NO_FACE"
    NO_IMAGES = "NO_IMAGES"
    NO_KEY = "NO_KEY"
    NO_POLICY = "NO_POLICY"
    NO_TIMESTAMPS = "NO_TIMESTAMPS"
    NO_TRACE = "NO_TRACE"
    NO_VIDEO_STREAM = "NO_VIDEO_STREAM"
    PERSON_EXISTS = "PERSON_EXISTS"
    SESSION_FINISHED = "SESSION_FINISHED"
    SESSION_STATE = "SESSION_STATE"
    SOURCE_USED = "SOURCE_USED"
    TIMESTAMP_NOT_INCREASING = "TIMESTAMP_NOT_INCREASING"
    TOO_LONG = "TOO_LONG"
    TOO_MANY_FRAMES = "TOO_MANY_FRAMES"
    TOO_DARK = "TOO_DARK"
    TRUNCATED_FILE = "TRUNCATED_FILE"
    UNKNOWN_PERSON = "UNKNOWN_PERSON"
    UPLOAD_TOO_LARGE = "UPLOAD_TOO_LARGE"
    WORKER_CRASHED = "WORKER_CRASHED"
    ZERO_FRAMES = "ZERO_FRAMES"


#: What a Chinese-speaking pensioner or clerk should do about each error; the
#: English message (which names the file and the problem) follows it as detail.
_MESSAGES_ZH: dict[ErrorCode, str] = {
    ErrorCode.AUDIO_DECODE_ERROR: "录像中的声音无法读取。请重新录制，或换一部手机录制。",
    ErrorCode.AUDIO_NOT_READY: "声音还没有读取完。这是程序调用顺序的问题，请联系技术人员。",
    ErrorCode.BAD_ARGUMENT: "调用参数有误。请联系技术人员检查调用方式（命令行可查看 livecert --help）。",
    ErrorCode.BAD_CONFIG: "配置参数有误。请联系技术人员检查配置。",
    ErrorCode.BAD_DIGITS: "数字格式有误，应为 1 到 8 位数字。请重新生成验证码。",
    ErrorCode.BAD_ENROLLMENT: "登记文件无法使用。请重新登记本人照片。",
    ErrorCode.BAD_FRAME: "视频画面的格式有误。请重新录制视频。",
    ErrorCode.BAD_INPUT: "输入的内容无法使用。请检查后重试。",
    ErrorCode.BAD_KEY: "签名密钥无效或缺失。请联系技术人员检查密钥文件。",
    ErrorCode.BAD_LANDMARKS: "人脸关键点数据有误。请联系技术人员。",
    ErrorCode.BAD_MODE: "认证方式有误，只能是眨眼（blink）或读数（digits）。请联系技术人员。",
    ErrorCode.BAD_SOURCE: "无法识别视频来源。请提供视频文件、图片文件夹或摄像头编号。",
    ErrorCode.BAD_TIMESTAMP: "视频的时间信息有误。请重新录制视频。",
    ErrorCode.BAD_TRACE: "逐帧数据有误。请联系技术人员。",
    ErrorCode.BLURRY: "登记照片模糊。请使用清晰的照片。",
    ErrorCode.CAMERA_LOST: "摄像头中断了。请检查摄像头连线，关闭其他使用摄像头的程序后重试。",
    ErrorCode.CAMERA_UNAVAILABLE: "无法打开摄像头。请检查摄像头是否接好、是否被别的程序占用、是否允许使用摄像头。",
    ErrorCode.CANNOT_WRITE: "无法保存文件。请检查保存位置是否存在、是否有写入权限、磁盘是否已满。",
    ErrorCode.CHALLENGE_ERROR: "验证码无法生成或读取。请重新开始认证。",
    ErrorCode.CHALLENGE_INVALID: "验证码无效。请重新开始认证。",
    ErrorCode.CHALLENGE_REUSED: "该验证码已经用过。请重新开始认证。",
    ErrorCode.EMPTY_AUDIO: "录像中没有声音。请打开麦克风后重新录制。",
    ErrorCode.EMPTY_FILE: "文件是空的。请重新录制或重新上传。",
    ErrorCode.ENROLLMENT_MODEL_MISMATCH: "登记文件是用另一种人脸模型生成的。请用本系统重新登记本人照片。",
    ErrorCode.ENROLLMENT_VERSION: "登记文件的版本不受支持。请用本系统重新登记本人照片。",
    ErrorCode.EYES_CLOSED: "登记照片中的眼睛是闭着的。请使用睁眼、正视镜头的照片。",
    ErrorCode.FACE_TOO_SMALL: "登记照片中的人脸太小。请使用近一些或更清楚的照片。",
    ErrorCode.FACE_TURNED: "登记照片中的脸部偏转。请使用正面照片。",
    ErrorCode.FILE_NOT_FOUND: "找不到文件。请检查文件名和存放位置是否正确。",
    ErrorCode.FILE_UNREADABLE: "无法读取文件。请检查文件权限，或重新上传。",
    ErrorCode.LIVECERT_ERROR: "认证程序出错。请重试；如仍出错，请联系技术人员。",
    ErrorCode.MISSING_DEPENDENCY: "缺少需要的软件组件。请联系技术人员按说明安装。",
    ErrorCode.MODEL_MISSING: "缺少模型文件。请联系技术人员重新安装本软件。",
    ErrorCode.MODEL_UNAVAILABLE: "模型无法加载。请联系技术人员重新安装本软件。",
    ErrorCode.MODEL_UNUSABLE: "模型文件已损坏。请联系技术人员重新安装本软件。",
    ErrorCode.MULTIPLE_FACES: "登记照片中有多张人脸。请使用只有本人的照片。",
    ErrorCode.NONCE_STORE_UNAVAILABLE: "无法打开验证码使用记录。请联系技术人员检查文件夹和写入权限。",
    ErrorCode.NOT_AN_IMAGE: "文件不是图片。请使用 JPEG 或 PNG 格式的照片。",
    ErrorCode.NOT_A_MEDIA_FILE: "文件不是视频。请上传手机录制的视频文件。",
    ErrorCode.NOT_A_VIDEO: "这不是能播放的视频（可能是一张图片或别的文件）。认证需要录像：请录制几秒钟的视频后再试。",
    ErrorCode.NO_AUDIO_STREAM: "视频中没有声音。请打开麦克风后重新录制。",
    ErrorCode.NO_CHALLENGE: "读数认证缺少验证码。请联系技术人员检查调用方式。",
    ErrorCode.NO_DISPLAY: "没有可用的显示屏。请在有屏幕的电脑上运行，或加上 --headless --record 保存录像。",
    ErrorCode.NO_FACE: "登记照片中未检测到人脸。请使用正面、完整露出面部的照片。",
    ErrorCode.NO_IMAGES: "文件夹中没有图片。请检查选择的文件夹是否正确。",
    ErrorCode.NO_KEY: "验证码缺少签名密钥。请联系技术人员检查调用方式。",
    ErrorCode.NO_TIMESTAMPS: "视频缺少时间信息。请重新录制视频。",
    ErrorCode.NO_TRACE: "没有逐帧数据可以绘图。请联系技术人员。",
    ErrorCode.NO_VIDEO_STREAM: "文件中没有视频画面。请上传带画面的录像。",
    ErrorCode.SESSION_FINISHED: "本次认证已经结束。请重新开始一次认证。",
    ErrorCode.SESSION_STATE: "认证步骤的顺序有误。请重新开始认证。",
    ErrorCode.SOURCE_USED: "视频已经读取过一次。这是程序调用的问题，请联系技术人员。",
    ErrorCode.TIMESTAMP_NOT_INCREASING: "视频的时间顺序有误。请重新录制视频。",
    ErrorCode.TOO_DARK: "登记照片太暗。请使用光线充足时拍摄的照片。",
    ErrorCode.TRUNCATED_FILE: "视频文件不完整（可能上传中断了）。请重新上传或重新录制。",
    ErrorCode.UPLOAD_TOO_LARGE: "上传的录像文件太大。请录制短一些的视频（几秒到几十秒即可）后重新上传。",
    ErrorCode.ZERO_FRAMES: "视频中没有可用的画面。请重新录制视频。",
    ErrorCode.DAMAGED_FILE: "视频文件已损坏。请重新录制，或重新复制、上传一次。",
    ErrorCode.FRAME_TOO_LARGE: "视频画面太大。请用 1080p 或 720p 重新录制。",
    ErrorCode.FRAME_TOO_SMALL: "视频画面太小，看不清人脸。请用更高的分辨率重新录制。",
    ErrorCode.IMAGE_TOO_LARGE: "图片太大。请发送小一些的照片（每边 2000 像素以内即可）。",
    ErrorCode.NOT_A_REGULAR_FILE: "这不是普通文件。请先把录像保存成文件，再进行认证。",
    ErrorCode.TOO_LONG: "录像太长。请录制短一些的视频（几秒到几十秒即可）。",
    ErrorCode.TOO_MANY_FRAMES: "录像的画面太多。请录制短一些的视频。",
    ErrorCode.BAD_DATE: "日期格式有误。请按 年-月-日 填写，例如 2026-03-01。",
    ErrorCode.BAD_POLICY: "认证政策设置有误（例如周期为负数或认证期重叠）。请联系技术人员按提示修改政策文件。",
    ErrorCode.LEDGER_KEY: "加密密钥缺失或不对，无法读取人脸登记数据。请联系技术人员提供正确的密钥文件。",
    ErrorCode.LEDGER_UNAVAILABLE: "认证台账数据库无法打开或写入。请稍后重试；如仍出错，请联系技术人员检查数据库。",
    ErrorCode.LEDGER_VERSION: "认证台账数据库的版本比本程序新。请联系技术人员升级本软件。",
    ErrorCode.NO_POLICY: "没有适用于该待遇类别和地区的认证政策。请联系技术人员导入政策文件。",
    ErrorCode.NOT_ENROLLED: "此人还没有登记人脸照片。请先到经办机构登记本人照片，再进行认证。",
    ErrorCode.PERSON_EXISTS: "该人员编号已经登记过。请核对编号，不要重复登记。",
    ErrorCode.UNKNOWN_PERSON: "台账中没有这个人员编号。请核对编号是否正确，或先登记此人。",
    ErrorCode.BAD_MANIFEST: "批量认证的清单文件（CSV）有误，没有开始任何认证。请按提示的行和列改正清单后重试。",
    ErrorCode.BAD_RESULTS_FILE: "批量认证的结果文件无法续写（内容有误或正被使用）。请检查该文件，或换一个结果文件。",
    ErrorCode.WORKER_CRASHED: "处理这段录像时程序意外退出，已跳过。请单独认证这段录像查看原因，或联系技术人员。",
}

#: For a code without a Chinese text of its own (the English message follows).
_GENERIC_ZH = "出现错误，无法完成认证。请重试；如仍出错，请联系技术人员。"


class LivecertError(Exception):
    """Base class of every error livecert raises on purpose.

    Parameters
    ----------
    message : str
        One line naming the problem and what to do.
    code : ErrorCode or str, optional
        Stable machine-readable code, e.g. ``ErrorCode.EMPTY_FILE``.
    """

    default_code = ErrorCode.LIVECERT_ERROR

    def __init__(self, message: str, *, code: ErrorCode | str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code) if code is not None else self.default_code

    @property
    def message(self) -> str:
        """The English message: names the file or argument and the problem."""
        return str(self.args[0]) if self.args else ""

    def message_in(self, lang: str = "en") -> str:
        """The message in ``"en"`` (:attr:`message`) or ``"zh"``: what to do, in
        Chinese, followed by the English message as detail.

        Raises
        ------
        ValueError
            ``lang`` is neither ``"en"`` nor ``"zh"``.
        """
        if lang not in ("en", "zh"):
            raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
        if lang == "en":
            return self.message
        zh = _MESSAGES_ZH.get(self.code, _GENERIC_ZH)
        return f"{zh}（详细信息：{self.message}）" if self.message else zh


class InputError(LivecertError, ValueError):
    """The source, image, frame or argument cannot be used (missing, empty,
    truncated, not a video, wrong dtype or shape, bad timestamps, ...)."""

    default_code = ErrorCode.BAD_INPUT


class ModelError(LivecertError, RuntimeError):
    """A model file or an optional dependency is missing or unusable."""

    default_code = ErrorCode.MODEL_UNAVAILABLE


def not_loaded(package: str, exc: BaseException | None, install: str) -> str:
    """The message for a package that is missing or fails to import.

    Parameters
    ----------
    package : str
        The package, as the user installs it (``"onnxruntime"``, ``"moonshine-cpp"``).
    exc : BaseException or None
        The import's error, quoted in the message; None when the package was
        looked for without importing it (and so is simply absent).
    install : str
        What installs it, starting with the pip command
        (``"pip install onnxruntime"``).

    Returns
    -------
    str
        ``"<package> is not installed or does not load (<exc>); install it
        with: <install>"`` (without the import error when ``exc`` is None).
    """
    problem = "is not installed" if exc is None else f"is not installed or does not load ({exc})"
    return f"{package} {problem}; install it with: {install}"


def import_extra(module: str, *, extra: str, needs: frozenset[str], what: str) -> ModuleType:
    """Import a livecert module that needs an optional extra.

    Parameters
    ----------
    module : str
        The livecert module, e.g. ``"livecert.serve.server"``.
    extra : str
        The extra that installs its third-party packages (``pip install 'livecert[extra]'``).
    needs : frozenset of str
        Those packages' top-level module names.
    what : str
        What needs them, for the message (``"livecert serve"``).

    Raises
    ------
    ModelError
        ``MISSING_DEPENDENCY`` naming the missing package and the pip command; a
        missing module that is not one of ``needs`` is re-raised as it is (a bug).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in needs:
            raise
        raise ModelError(
            f"{what} needs {exc.name}: pip install -c constraints.txt 'livecert[{extra}]'",
            code=ErrorCode.MISSING_DEPENDENCY,
        ) from None


class ChallengeError(LivecertError, ValueError):
    """A read-digits challenge could not be created or parsed."""

    default_code = ErrorCode.CHALLENGE_ERROR


class SessionStateError(LivecertError, RuntimeError):
    """A stateful object was used out of order (timestamps not increasing,
    ``push()`` after the session finished, use after ``close()``)."""

    default_code = ErrorCode.SESSION_STATE
