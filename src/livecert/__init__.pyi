# The public API of livecert: the one list of exported names (read by __init__.py at run time).
from livecert.config import (
    BlinkConfig as BlinkConfig,
    DigitsConfig as DigitsConfig,
    LandmarkConfig as LandmarkConfig,
    Language as Language,
    LimitsConfig as LimitsConfig,
    MatchConfig as MatchConfig,
    MatchPolicy as MatchPolicy,
    Mode as Mode,
    QualityConfig as QualityConfig,
    SessionConfig as SessionConfig,
    SpoofConfig as SpoofConfig,
    VerifyConfig as VerifyConfig,
)
from livecert.errors import (
    ChallengeError as ChallengeError,
    ErrorCode as ErrorCode,
    InputError as InputError,
    LivecertError as LivecertError,
    ModelError as ModelError,
    SessionStateError as SessionStateError,
)
from livecert.identity.embedding import Embedder as Embedder
from livecert.identity.enrollment import (
    Enrollment as Enrollment,
    EnrollmentAdvice as EnrollmentAdvice,
    EnrollmentError as EnrollmentError,
    enroll as enroll,
)
from livecert.identity.matching import enroll_video as enroll_video
from livecert.io.audio import AudioTrack as AudioTrack
from livecert.io.frames import Frame as Frame, SourceKind as SourceKind
from livecert.io.images import read_image_rgb as read_image_rgb
from livecert.io.sources import open_source as open_source
from livecert.ledger.store import Ledger as Ledger, LedgerError as LedgerError
from livecert.liveness.blink import detect_blinks as detect_blinks
from livecert.liveness.challenge import (
    Challenge as Challenge,
    MemoryNonceStore as MemoryNonceStore,
    NonceStore as NonceStore,
    PromptAction as PromptAction,
    ScheduleKind as ScheduleKind,
    SQLiteNonceStore as SQLiteNonceStore,
    generate_key as generate_key,
    load_key as load_key,
    new_blink_challenge as new_blink_challenge,
    new_challenge as new_challenge,
)
from livecert.liveness.digits import ChallengeOptions as ChallengeOptions
from livecert.results import (
    BlinkEvent as BlinkEvent,
    Content as Content,
    Cue as Cue,
    CueScore as CueScore,
    DigitsEvidence as DigitsEvidence,
    FrameTrace as FrameTrace,
    MatchResult as MatchResult,
    ModelInfo as ModelInfo,
    PromptAnswer as PromptAnswer,
    QualityFlag as QualityFlag,
    Reason as Reason,
    ReasonCode as ReasonCode,
    ResultMeta as ResultMeta,
    SpoofEvidence as SpoofEvidence,
    Timings as Timings,
    VerificationResult as VerificationResult,
)
from livecert.session.live import Enrolled as Enrolled, LivenessSession as LivenessSession
from livecert.session.steps import Guidance as Guidance, SessionUpdate as SessionUpdate, Step as Step
from livecert.session.verify import verify as verify
from livecert.speech.languages import recogniser_for as recogniser_for
from livecert.speech.recogniser import DigitRecogniser as DigitRecogniser
from livecert.speech.vosk_model import VoskDigitRecogniser as VoskDigitRecogniser

__version__: str
__all__: list[str]
