"""The server's settings (:class:`ServeConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecert.config import LimitsConfig, Mode
from livecert.errors import ErrorCode, InputError
from livecert.serve.proxy import IPNetwork, parse_networks


@dataclass(frozen=True)
class ServeConfig:
    """Limits and defaults of ``livecert serve``.

    Attributes
    ----------
    workers : int
        Processes that run :func:`livecert.verify` (1 to 64).
    max_queue : int
        Verifications waiting for a worker beyond those running; one more is refused with
        ``SERVER_BUSY`` (HTTP 503) rather than left to wait without bound.
    max_upload_bytes : int
        Largest recording accepted, bytes (``UPLOAD_TOO_LARGE``, HTTP 413).  Default 40 MB:
        30 s of a phone's 1080p video.
    max_photo_bytes : int
        Largest enrollment photo, bytes.
    max_recording_s : float
        Longest recording judged, seconds (``TOO_LONG``).
    session_ttl_s : float
        How long a session (and its challenge) stays valid, seconds.
    default_mode : Mode
        What a session asks for when the request does not say.
    n_digits : int
        Digits in a read-digits challenge.
    blink_prompts : int
        "Blink now" prompts in a blink session when the request does not say.  Two by
        default, with one "open your mouth" prompt among them
        (:func:`~livecert.liveness.challenge.new_blink_challenge`): a recording played into
        the camera (an old video of the person, a screen replay, an animated photo rendered
        in advance) answers them all only by chance (README, "Blink prompts at random
        moments").  0 lets the person blink freely, which such a recording passes.
    mouth_prompts : int
        "Open your mouth" prompts among the blink prompts (0-3) when the request does not
        say; 0 for people who cannot open the mouth on request (after a stroke, say), at the
        cost of a weaker check against recordings.
    turn_prompts : int
        "Turn your head" prompts among them (0-3) when the request does not say.  A
        photo or print turned in the hand, or a recording of a person sitting still, does
        not answer one (README, "Head-turn prompts"); 0 by default, since no recording of
        old people asked to turn their head was available to check it on.
    rate_per_minute : float
        Requests a client (one IP address) may make per minute to the session and upload
        endpoints; more are refused with ``RATE_LIMITED`` (HTTP 429).
    rate_burst : int
        Requests a client may make at once before the rate applies.
    max_check_s : float
        Longest a check may take, seconds.  A session whose check started longer ago without
        an answer (the server was killed during it) may be checked again, once, when its
        recording is sent again.
    max_guides : int
        Pages guided live at once (each runs a face tracker in the server process); a page
        beyond them goes on without live guidance.
    open_sessions : bool
        Anyone may start a liveness-only session (no person, nothing recorded in the ledger)
        from the page; sessions bound to a person always need the API key.
    trusted_proxies : tuple of str
        Reverse proxies or load balancers (addresses or CIDR networks) whose
        ``X-Forwarded-For`` names the client for the rate limit; empty (the default): the
        socket's peer is the client, whatever the headers say (:mod:`livecert.serve.proxy`).
    proxy_networks : tuple of IPNetwork
        ``trusted_proxies`` parsed (set from it).
    """

    workers: int = 1
    max_queue: int = 8
    max_upload_bytes: int = 40_000_000
    max_photo_bytes: int = 10_000_000
    max_recording_s: float = 60.0
    session_ttl_s: float = 600.0
    default_mode: Mode = Mode.BLINK
    n_digits: int = 4
    blink_prompts: int = 2
    mouth_prompts: int = 1
    turn_prompts: int = 0
    rate_per_minute: float = 30.0
    rate_burst: int = 10
    max_check_s: float = 120.0
    max_guides: int = 2
    open_sessions: bool = True
    trusted_proxies: tuple[str, ...] = ()
    limits: LimitsConfig = field(init=False, repr=False)
    proxy_networks: tuple[IPNetwork, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        checks: tuple[tuple[str, float, float, float], ...] = (
            ("workers", self.workers, 1, 64),
            ("max_queue", self.max_queue, 0, 10_000),
            ("max_upload_bytes", self.max_upload_bytes, 1_000, 1 << 32),
            ("max_photo_bytes", self.max_photo_bytes, 1_000, 1 << 28),
            ("max_recording_s", self.max_recording_s, 1.0, 600.0),
            ("session_ttl_s", self.session_ttl_s, 10.0, 86_400.0),
            ("n_digits", self.n_digits, 1, 8),
            ("blink_prompts", self.blink_prompts, 0, 5),
            ("mouth_prompts", self.mouth_prompts, 0, 3),
            ("turn_prompts", self.turn_prompts, 0, 3),
            ("rate_per_minute", self.rate_per_minute, 0.1, 1e6),
            ("rate_burst", self.rate_burst, 1, 1e6),
            ("max_check_s", self.max_check_s, 1.0, 3600.0),
            ("max_guides", self.max_guides, 0, 64),
        )
        for name, value, low, high in checks:
            if isinstance(value, bool) or not low <= value <= high:
                raise InputError(
                    f"ServeConfig.{name} must be from {low:g} to {high:g}, not {value!r}", code=ErrorCode.BAD_CONFIG
                )
        object.__setattr__(self, "default_mode", Mode.parse(self.default_mode))
        limits = LimitsConfig(max_duration_s=self.max_recording_s, max_upload_bytes=self.max_upload_bytes)
        object.__setattr__(self, "limits", limits)
        if isinstance(self.trusted_proxies, str):
            raise InputError(
                "ServeConfig.trusted_proxies is a tuple of addresses or networks, not one string",
                code=ErrorCode.BAD_CONFIG,
            )
        object.__setattr__(self, "trusted_proxies", tuple(self.trusted_proxies))
        object.__setattr__(self, "proxy_networks", parse_networks(self.trusted_proxies))
