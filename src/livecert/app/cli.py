"""The ``livecert`` command.

Exit codes: 0 passed, 1 not passed, 2 unusable input or usage error.  With
``--json``, an unusable input or a usage error is one JSON object on stdout,
``{"error": {"code": ..., "message": ...}}`` (message in ``--lang``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast

from livecert.app import batch_cli, ledger_cli
from livecert.app.demo import run_demo
from livecert.app.plotting import plot_digits_trace, plot_trace
from livecert.config import Language, MatchConfig, MatchPolicy, VerifyConfig
from livecert.errors import ChallengeError, ErrorCode, InputError, LivecertError, import_extra
from livecert.identity.enrollment import enroll
from livecert.identity.matching import enroll_video
from livecert.io.files import check_file
from livecert.liveness.challenge import (
    BLINK_PROMPTS_RANGE,
    MOUTH_PROMPTS_RANGE,
    N_DIGITS_RANGE,
    TURN_PROMPTS_RANGE,
    Challenge,
    NonceStore,
    ScheduleKind,
    SQLiteNonceStore,
    generate_key,
    load_key,
    new_blink_challenge,
    new_challenge,
    save_key,
)
from livecert.liveness.digits import ChallengeOptions
from livecert.results import VerificationResult, flag_names
from livecert.schemas import app_message
from livecert.serve import cli as serve_cli
from livecert.session.verify import verify
from livecert.speech.languages import content_check
from livecert.speech.recogniser import DigitRecogniser

log = logging.getLogger(__name__)


EXIT_PASSED, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

LANGS = tuple(lang.value for lang in Language)
_LANG_HELP = "language of the messages, and (digits mode) the one the digits are read in"

#: The command's own lines for people, (English, Chinese); ``{}`` fields are filled in.
_TEXT: dict[str, tuple[str, str]] = {
    "passed": ("PASSED", "认证通过"),
    "not_passed": ("NOT PASSED", "认证未通过"),
    "summary": (
        "{frames} frames ({faces} with a face), {seconds:.2f} s, {blinks} blinks, {ms:.0f} ms",
        "共 {frames} 帧（{faces} 帧有人脸），{seconds:.2f} 秒，眨眼 {blinks} 次，用时 {ms:.0f} 毫秒",
    ),
    "blink": ("blink {start:.2f}-{end:.2f} s", "眨眼 {start:.2f}-{end:.2f} 秒"),
    "digits": (
        "digits expected {expected}, heard {heard}, {openings} mouth openings",
        "应读数字 {expected}，听到 {heard}，张嘴 {openings} 次",
    ),
    "no_audio": ("(no audio track: judged on lip movement only)", "（没有声音：只按口型判断）"),
    "match": (
        "face distance {distance:.3f} (threshold {threshold:.2f}) over {frames} frames",
        "人脸距离 {distance:.3f}（阈值 {threshold:.2f}），比对 {frames} 帧",
    ),
    "enrolled": ("enrolled {photo} -> {out} (model {model})", "已登记 {photo} -> {out}（模型 {model}）"),
    "advice": ("advice", "建议"),
    "wrote": ("wrote {path}", "已写入 {path}"),
    "wrote_frames": ("wrote {n} frames to {path}", "已将 {n} 帧写入 {path}"),
    "frames": ("{n} frames", "{n} 帧"),
    "challenge": ("read these digits: {digits}", "请读出这些数字：{digits}"),
    "challenge_one_by_one": ("read each digit aloud as it appears: {steps}", "每个数字出现时请大声读出：{steps}"),
    "challenge_step": ("{digit} at {show:.2f} s", "{show:.2f} 秒 {digit}"),
    "challenge_sep": (", ", "，"),
    "challenge_blink": ("blink when asked: {windows}", "提示时请眨眼：{windows}"),
    "challenge_mouth": ("open your mouth when asked: {windows}", "提示时请张嘴：{windows}"),
    "challenge_turn": ("turn your head to one side when asked: {windows}", "提示时请向一侧转头：{windows}"),
    "interrupted": ("interrupted", "已中断"),
    "error": ("error", "错误"),
}


def _t(key: str, lang: str, **fields: object) -> str:
    en, zh = _TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)


class _UsageError(Exception):
    """A command-line usage error (argparse's, or one of the checks below).

    Parameters
    ----------
    message : str
    usage : str
        The usage line of the (sub)command, printed before the message without ``--json``.
    """

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors can become JSON (``--json``) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}", self.format_usage())


def _int_from(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number from ``low`` to ``high``.

    Parameters
    ----------
    low, high : int
        The smallest and the largest value allowed.

    Returns
    -------
    callable
        Parses an option's text; a bad value is a usage error naming the option.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {text!r}")
        return value

    return parse


def _parser() -> _Parser:
    p = _Parser(prog="livecert", description="Certify that a live, specific person is on camera.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="check a recording; exit 0 passed, 1 not passed, 2 unusable")
    v.add_argument("video", help="video file (mp4, avi, mpg, webm, mov) or a folder of images")
    v.add_argument("--mode", choices=["blink", "digits"], default="blink")
    v.add_argument("--json", action="store_true", help="print one JSON object on stdout (errors too)")
    v.add_argument("--lang", choices=LANGS, default="en", help=_LANG_HELP)
    v.add_argument("--enrolled", metavar="PHOTO", help="enrolled photo, or an enrollment .npz from `livecert enroll`")
    v.add_argument(
        "--policy",
        choices=[p.value for p in MatchPolicy],
        help="face-match operating point, with --enrolled; measured rates (README 'Face matching'): genuine "
        "video/photo pairs of held-out people refused, and impostor pairs accepted: "
        f"strict (threshold {MatchPolicy.STRICT.threshold}) 3 of 46 refused, 0 of 3,193 accepted; "
        f"default ({MatchPolicy.DEFAULT.threshold}, used without --policy) 1 of 46, 0 of 3,193; "
        f"lenient ({MatchPolicy.LENIENT.threshold}) 0 of 46, 3 of 3,193",
    )
    _add_digits_arguments(v)

    e = sub.add_parser("enroll", help="check enrollment photos and save their face template (.npz)")
    e.add_argument(
        "photo",
        nargs="+",
        help="photo with exactly one face (JPEG or PNG); several recent photos of the person make a better "
        "template; or one short video of the person facing the camera (mp4, avi, mpg, mov, webm, mkv)",
    )
    e.add_argument("--out", type=Path, required=True, help="enrollment file to write (.npz)")
    e.add_argument("--lang", choices=LANGS, default="en", help="language of the messages")

    c = sub.add_parser("challenge", help="print a new signed challenge token: digits to read, or blink prompts")
    c.add_argument("--mode", choices=["blink", "digits"], default="digits", help="what the person is asked to do")
    c.add_argument(
        "--digits",
        type=_int_from(*N_DIGITS_RANGE),
        default=None,
        help="how many digits (1-8; default 4, or 6 with --schedule one_by_one)",
    )
    for option, (low, high), default, prompt in (
        ("--prompts", BLINK_PROMPTS_RANGE, 2, "blink now"),
        ("--mouth-prompts", MOUTH_PROMPTS_RANGE, 1, "open your mouth"),
        ("--turn-prompts", TURN_PROMPTS_RANGE, 0, "turn your head"),
    ):
        c.add_argument(
            option,
            type=_int_from(low, high),
            default=default,
            help=f"blink mode: how many '{prompt}' prompts ({low}-{high}, default {default})",
        )
    c.add_argument("--key-file", type=Path, required=True, help="HMAC key file; created (mode 600) if missing")
    c.add_argument("--ttl", type=float, default=300.0, help="seconds the challenge stays valid (default 300)")
    c.add_argument("--schedule", choices=["all", "one_by_one"], default="all")
    c.add_argument(
        "--json", action="store_true", help="print what the server sends the app (schemas/app_challenge.json)"
    )
    c.add_argument("--lang", choices=LANGS, default="en", help="language of the messages")

    d = sub.add_parser("demo", help="webcam (or a recording played as one) with live guidance")
    src = d.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, help="camera number (default 0)")
    src.add_argument("--video", help="play this recording as if it were the camera, at its real timestamps")
    d.add_argument("--mode", choices=["blink", "digits"], default="blink")
    d.add_argument("--enrolled", help="enrollment photo or .npz to match the face against")
    d.add_argument("--lang", choices=LANGS, default="zh")
    d.add_argument("--font", type=Path, help="TrueType/OpenType font file for the text (default: a CJK font found)")
    d.add_argument("--record", type=Path, help="write the annotated frames to this mp4")
    d.add_argument("--headless", action="store_true", help="no window (with --record, how CI sees it work)")
    d.add_argument("--expect-digits", metavar="DIGITS", help="TESTING AID: digits mode with known digits")
    d.add_argument(
        "--blink-prompts",
        type=int,
        metavar="N",
        help="blink mode: 'blink now' prompts at random moments (0-5; default 2 from a camera, 0 with --video)",
    )
    d.add_argument(
        "--mouth-prompts",
        type=int,
        metavar="N",
        help="blink mode: 'open your mouth' prompts among the blink prompts (0-3, default 1)",
    )
    d.add_argument(
        "--turn-prompts",
        type=int,
        metavar="N",
        help="blink mode: 'turn your head' prompts among the blink prompts (0-3, default 0)",
    )
    d.add_argument(
        "--speech-model",
        type=Path,
        metavar="DIR",
        help="digits mode: a Vosk model folder for the --lang language (as verify's); without one, "
        "Mandarin readings are not checked for which digits were said",
    )

    batch_cli.add_parser(sub, LANGS)
    ledger_cli.add_parser(sub)
    serve_cli.add_parser(sub)

    t = sub.add_parser("trace", help="write the per-frame signals (CSV) and/or a plot (PNG)")
    t.add_argument("video")
    t.add_argument("--mode", choices=["blink", "digits"], default="blink")
    t.add_argument("--out", type=Path, help="CSV file to write")
    t.add_argument(
        "--plot", type=Path, help="PNG file to write: eye aperture with blinks, or (digits) mouth, voice and prompts"
    )
    t.add_argument("--lang", choices=LANGS, default="en", help=_LANG_HELP)
    _add_digits_arguments(t)
    return p


def _add_digits_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--speech-model",
        type=Path,
        metavar="DIR",
        help="digits mode: a Vosk model folder for the --lang language (for Mandarin e.g. vosk-model-small-cn-0.22, "
        "downloaded and unpacked by you); without one, Mandarin readings are not checked for which digits were said",
    )
    p.add_argument(
        "--challenge", metavar="TOKEN", help="the token printed by `livecert challenge` (digits, or blink prompts)"
    )
    p.add_argument("--key-file", type=Path, help="HMAC key file the token was signed with")
    p.add_argument(
        "--nonce-db",
        metavar="FILE_OR_URL",
        help="SQLite file recording used challenges (single use across runs), or a ledger database URL "
        "(postgresql://... or sqlite:///ledger.sqlite) whose used-challenge table livecert serve shares",
    )
    p.add_argument(
        "--expect-digits",
        metavar="DIGITS",
        help="TESTING AID for recorded clips whose digits are known: stands in for a token, no single-use check",
    )


def _lang_of(argv: Sequence[str]) -> str:
    """``--lang`` as given, read before parsing (for a usage error's message); ``"en"`` otherwise."""
    values = [b for a, b in zip(argv, argv[1:]) if a == "--lang"]
    values += [a.removeprefix("--lang=") for a in argv if a.startswith("--lang=")]
    return next((v for v in values if v in LANGS), "en")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json, lang = "--json" in argv, _lang_of(argv)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        if not as_json:
            print(exc.usage, end="", file=sys.stderr)
        return _print_error(InputError(str(exc), code=ErrorCode.BAD_ARGUMENT), lang, as_json)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="livecert: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "verify":
            return _cmd_verify(args)
        if args.command == "challenge":
            return _cmd_challenge(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "enroll":
            return _cmd_enroll(args)
        if args.command == "trace":
            return _cmd_trace(args)
        if args.command == "batch":
            return batch_cli.run(args)
        if args.command == "ledger":
            return ledger_cli.run(args)
        if args.command == "serve":
            return serve_cli.run(args)
    except _UsageError as exc:
        return _print_error(InputError(str(exc), code=ErrorCode.BAD_ARGUMENT), lang, as_json)
    except LivecertError as exc:
        return _print_error(exc, lang, as_json)
    except KeyboardInterrupt:
        print(f"livecert: {_t('interrupted', lang)}", file=sys.stderr)
        return 130
    return _print_error(InputError(f"unknown command {args.command}", code=ErrorCode.BAD_ARGUMENT), lang, as_json)


def _print_error(exc: LivecertError, lang: str, as_json: bool) -> int:
    """One JSON object on stdout (``--json``) or one line on stderr; exit code 2."""
    message = exc.message_in(lang)
    if as_json:
        print(json.dumps({"error": {"code": exc.code.value, "message": message}}, ensure_ascii=False))
    else:
        print(f"livecert: {_t('error', lang)}: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


_VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mpg", ".mpeg", ".mov", ".webm", ".mkv"})


def _cmd_enroll(args: argparse.Namespace) -> int:
    paths = [str(p) for p in args.photo]
    videos = [p for p in paths if Path(p).suffix.lower() in _VIDEO_SUFFIXES]
    if videos and len(paths) > 1:
        raise InputError(
            f"enroll from one video or from photos, not both: got {len(paths)} files with {videos[0]} among them",
            code=ErrorCode.BAD_ARGUMENT,
        )
    enrollment = enroll_video(paths[0]) if videos else enroll(paths)
    out = args.out if args.out.suffix == ".npz" else args.out.with_suffix(".npz")
    try:
        enrollment.save(out)
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror})", code=ErrorCode.CANNOT_WRITE) from exc
    print(_t("enrolled", args.lang, photo=", ".join(args.photo), out=out, model=enrollment.model_id))
    for advice in enrollment.advice:
        print(f"  {_t('advice', args.lang)} {advice.code.value}: {advice.message(args.lang)}")
    return EXIT_PASSED


def _cmd_demo(args: argparse.Namespace) -> int:
    result = run_demo(
        camera=args.camera,
        video=args.video,
        mode=args.mode,
        enrolled=args.enrolled,
        lang=args.lang,
        record=args.record,
        headless=args.headless,
        expect_digits=args.expect_digits,
        font=args.font,
        speech_model=args.speech_model,
        blink_prompts=args.blink_prompts,
        mouth_prompts=args.mouth_prompts,
        turn_prompts=args.turn_prompts,
    )
    lang = args.lang
    if result.passed:
        verdict = _t("passed", lang)
    else:
        verdict = f"{_t('not_passed', lang)}: " + ", ".join(result.reason_codes)
    print(f"{verdict} ({_t('frames', lang, n=result.frames_total)})")
    if args.record is not None:
        print(_t("wrote", lang, path=args.record))
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _cmd_challenge(args: argparse.Namespace) -> int:
    # Draw first: it checks every option, so a mistake leaves no new key file behind.
    if args.mode == "blink":
        challenge = new_blink_challenge(
            args.prompts, mouth_prompts=args.mouth_prompts, turn_prompts=args.turn_prompts, ttl_s=args.ttl
        )
    else:
        challenge = new_challenge(args.digits, ttl_s=args.ttl, schedule=args.schedule)
    if not args.key_file.exists():
        save_key(args.key_file, generate_key())
        log.warning("created a new key in %s", args.key_file)
    token = challenge.to_token(load_key(args.key_file))
    if args.json:
        print(json.dumps(app_message(challenge, token)))
    else:
        print(token)
        print(_challenge_text(challenge, args.lang))
    return EXIT_PASSED


def _challenge_text(challenge: Challenge, lang: str) -> str:
    """What to read or when to blink, in ``lang``, for a person trying a challenge by hand."""
    if challenge.schedule_kind is ScheduleKind.BLINK:
        lines = [_t("challenge_blink", lang, windows=_windows_text(challenge.blink_windows))]
        if challenge.mouth_windows:
            lines.append(_t("challenge_mouth", lang, windows=_windows_text(challenge.mouth_windows)))
        if challenge.turn_windows:
            lines.append(_t("challenge_turn", lang, windows=_windows_text(challenge.turn_windows)))
        return "\n".join(lines)
    if challenge.schedule_kind is ScheduleKind.ONE_BY_ONE:
        steps = _t("challenge_sep", lang).join(
            _t("challenge_step", lang, digit=s.text, show=s.show_at_s) for s in challenge.schedule
        )
        return _t("challenge_one_by_one", lang, steps=steps)
    return _t("challenge", lang, digits=challenge.digits)


def _windows_text(windows: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{show:.2f}-{hide:.2f}s" for show, hide in windows)


def _challenge_options(args: argparse.Namespace) -> ChallengeOptions | None:
    """The challenge options given on the command line (None in blink mode without a challenge)."""
    if args.mode != "digits":
        if args.expect_digits:
            raise _UsageError("--expect-digits needs --mode digits")
        if args.speech_model is not None:
            raise _UsageError("--speech-model recognises digits read aloud: it needs --mode digits")
        if args.challenge is None:
            if args.nonce_db is not None:
                raise _UsageError("--nonce-db records used challenges: it needs --challenge TOKEN")
            return None
    elif (args.challenge is None) == (args.expect_digits is None):
        raise _UsageError("--mode digits needs exactly one of --challenge TOKEN or --expect-digits DIGITS")
    if args.expect_digits is not None:
        if args.nonce_db is not None:
            raise _UsageError("--nonce-db goes with --challenge TOKEN; --expect-digits has no nonce to record")
        recogniser, check_content = _content_check(args)
        return ChallengeOptions(
            Challenge.for_known_digits(args.expect_digits), recogniser=recogniser, check_content=check_content
        )
    if args.key_file is None:
        raise _UsageError("--challenge needs --key-file (the key the token was signed with)")
    store = None
    if args.nonce_db is not None:
        store = _nonce_store(args.nonce_db)
    else:
        log.warning("no --nonce-db: this run cannot tell whether the challenge was used before")
    recogniser, check_content = _content_check(args)
    return ChallengeOptions(
        args.challenge,
        key=load_key(args.key_file),
        nonce_store=store,
        recogniser=recogniser,
        check_content=check_content,
    )


def _nonce_store(target: str) -> NonceStore:
    """A SQLite file of used challenges, or the used-challenge table of the ledger database at a URL."""
    if "://" not in target:
        return SQLiteNonceStore(Path(target))
    nonces = import_extra(
        "livecert.ledger.nonces", extra="ledger", needs=ledger_cli.LEDGER_MODULES, what="a ledger database --nonce-db"
    )
    return cast(NonceStore, nonces.DatabaseNonceStore(target))


def _content_check(args: argparse.Namespace) -> tuple[DigitRecogniser | None, bool]:
    """:func:`~livecert.speech.languages.content_check` for ``--lang`` and ``--speech-model`` (digits mode)."""
    if args.mode != "digits":
        return None, True
    return content_check(args.lang, args.speech_model)


def _cmd_verify(args: argparse.Namespace) -> int:
    options = _challenge_options(args)
    config = None
    if args.policy is not None:
        if args.enrolled is None:
            raise _UsageError("--policy chooses the face-match threshold: it needs --enrolled")
        config = VerifyConfig(match=MatchConfig.for_policy(args.policy))
    if args.enrolled is not None:
        check_file(Path(args.enrolled))  # a pipe as the enrollment would block reading it
    result = verify(args.video, mode=args.mode, enrolled=args.enrolled, config=config, challenge=options)
    if args.json:
        print(json.dumps(result.to_dict(lang=args.lang), ensure_ascii=False))
    else:
        _print_result(result, args.video, args.lang)
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _print_result(result: VerificationResult, name: str, lang: str) -> None:
    print(f"{_t('passed' if result.passed else 'not_passed', lang)}: {name}")
    summary = _t(
        "summary",
        lang,
        frames=result.frames_total,
        faces=result.frames_with_face,
        seconds=result.duration_s,
        blinks=len(result.blinks),
        ms=result.timings.total,
    )
    print(f"  {summary}")
    for blink in result.blinks:
        print("  " + _t("blink", lang, start=blink.start_s, end=blink.end_s))
    if result.digits is not None:
        d = result.digits
        heard = d.heard if d.audio else _t("no_audio", lang)
        print("  " + _t("digits", lang, expected=d.expected, heard=heard, openings=len(d.mouth_events)))
    if result.match is not None:
        m = result.match
        print("  " + _t("match", lang, distance=m.distance, threshold=m.threshold, frames=m.frames_used))
    for reason in result.reasons:
        detail = f" ({reason.detail})" if reason.detail else ""
        print(f"  {reason.code.value}: {reason.message(lang)}{detail}")


def _cmd_trace(args: argparse.Namespace) -> int:
    if args.out is None and args.plot is None:
        raise _UsageError("trace needs --out FILE.csv and/or --plot FILE.png")
    options = _challenge_options(args)
    result = verify(args.video, mode=args.mode, challenge=options)
    trace = result.trace
    if trace is None:  # pragma: no cover - verify always fills it
        raise LivecertError("no trace was recorded", code=ErrorCode.NO_TRACE)
    try:
        if args.out is not None:
            _write_csv(result, args.out)
            print(_t("wrote_frames", args.lang, n=len(trace), path=args.out))
        if args.plot is not None:
            if options is not None:
                plot_digits_trace(result, args.plot, challenge=_challenge_of(options), title=Path(args.video).name)
            else:
                plot_trace(result, args.plot, title=Path(args.video).name)
            print(_t("wrote", args.lang, path=args.plot))
    except OSError as exc:
        where = exc.filename or "the output file"
        raise InputError(
            f"cannot write {where} ({exc.strerror}); check that its folder exists and is writable",
            code=ErrorCode.CANNOT_WRITE,
        ) from exc
    return EXIT_PASSED


def _challenge_of(options: ChallengeOptions) -> Challenge | None:
    """The challenge behind the options (None when its token cannot be read)."""
    if isinstance(options.challenge, Challenge):
        return options.challenge
    if options.key is None:
        return None
    try:
        return Challenge.from_token(options.challenge, options.key)
    except ChallengeError:
        return None


_CSV_COLUMNS = (
    "t_s",
    "faces",
    "left_eye",
    "right_eye",
    "eye_width_ratio",
    "inner_lip_gap",
    "outer_lip_height",
    "yaw_deg",
    "pitch_deg",
)


def _write_csv(result: VerificationResult, path: Path) -> None:
    trace = result.trace
    assert trace is not None
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*_CSV_COLUMNS, "flags"])
        for i in range(len(trace)):
            w.writerow(
                [
                    f"{trace.t_s[i]:.4f}",
                    int(trace.n_faces[i]),
                    _fmt(trace.left_eye[i]),
                    _fmt(trace.right_eye[i]),
                    _fmt(trace.eye_width_ratio[i]),
                    _fmt(trace.inner_lip_gap[i]),
                    _fmt(trace.outer_lip_height[i]),
                    _fmt(trace.yaw_deg[i], 1),
                    _fmt(trace.pitch_deg[i], 1),
                    "|".join(flag_names(int(trace.flags[i]))),
                ]
            )


def _fmt(x: float, digits: int = 4) -> str:
    return "" if x != x else f"{x:.{digits}f}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
