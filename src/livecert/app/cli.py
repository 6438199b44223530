"""The ``livecert`` command.

Exit codes: 0 passed, 1 not passed, 2 unusable input or usage error.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from livecert.app.demo import run_demo
from livecert.app.plotting import plot_trace
from livecert.errors import LivecertError
from livecert.identity.enrollment import enroll
from livecert.liveness.challenge import Challenge, SQLiteNonceStore, generate_key, load_key, new_challenge, save_key
from livecert.liveness.digits import DigitsOptions
from livecert.results import flag_names
from livecert.session.verify import verify

log = logging.getLogger(__name__)


EXIT_PASSED, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livecert", description="Certify that a live, specific person is on camera.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="check a recording; exit 0 passed, 1 not passed, 2 unusable")
    v.add_argument("video", help="video file (mp4, avi, mpg, webm, mov) or a folder of images")
    v.add_argument("--mode", choices=["blink", "digits"], default="blink")
    v.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    v.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the messages")
    v.add_argument("--enrolled", metavar="PHOTO", help="enrolled photo, or an enrollment .npz from `livecert enroll`")
    v.add_argument("--challenge", metavar="TOKEN", help="digits mode: the token printed by `livecert challenge`")
    v.add_argument("--key-file", type=Path, help="digits mode: HMAC key file the token was signed with")
    v.add_argument(
        "--nonce-db", type=Path, help="digits mode: SQLite file recording used challenges (single use across runs)"
    )
    v.add_argument(
        "--expect-digits",
        metavar="DIGITS",
        help="TESTING AID for recorded clips whose digits are known: stands in for a token, no single-use check",
    )

    e = sub.add_parser("enroll", help="check an enrollment photo and save its face descriptor (.npz)")
    e.add_argument("photo", help="photo with exactly one face (JPEG or PNG)")
    e.add_argument("--out", type=Path, required=True, help="enrollment file to write (.npz)")

    c = sub.add_parser("challenge", help="print a new signed read-digits challenge token and its digits")
    c.add_argument("--digits", type=int, default=4, help="how many digits (1-8, default 4)")
    c.add_argument("--key-file", type=Path, required=True, help="HMAC key file; created (mode 600) if missing")
    c.add_argument("--ttl", type=float, default=300.0, help="seconds the challenge stays valid (default 300)")
    c.add_argument("--schedule", choices=["all", "one_by_one"], default="all")
    c.add_argument("--json", action="store_true")

    d = sub.add_parser("demo", help="webcam (or a recording played as one) with live guidance")
    src = d.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, help="camera number (default 0)")
    src.add_argument("--video", help="play this recording as if it were the camera, at its real timestamps")
    d.add_argument("--mode", choices=["blink", "digits"], default="blink")
    d.add_argument("--enrolled", help="enrollment photo or .npz to match the face against")
    d.add_argument("--lang", choices=["zh", "en"], default="zh")
    d.add_argument("--record", type=Path, help="write the annotated frames to this mp4")
    d.add_argument("--headless", action="store_true", help="no window (with --record, how CI sees it work)")
    d.add_argument("--expect-digits", metavar="DIGITS", help="TESTING AID: digits mode with known digits")

    t = sub.add_parser("trace", help="write the per-frame signals (CSV) and/or a plot (PNG)")
    t.add_argument("video")
    t.add_argument("--out", type=Path, help="CSV file to write")
    t.add_argument("--plot", type=Path, help="PNG file to write: eye aperture with blinks marked")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="livecert: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "verify":
            return _cmd_verify(args, parser)
        if args.command == "challenge":
            return _cmd_challenge(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "enroll":
            return _cmd_enroll(args)
        if args.command == "trace":
            if args.out is None and args.plot is None:
                parser.error("trace needs --out FILE.csv and/or --plot FILE.png")
            return _cmd_trace(args)
    except LivecertError as exc:
        print(f"livecert: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("livecert: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return EXIT_UNUSABLE  # pragma: no cover


def _cmd_enroll(args: argparse.Namespace) -> int:

    enrollment = enroll(args.photo)
    out = args.out if args.out.suffix == ".npz" else args.out.with_suffix(".npz")
    enrollment.save(out)
    print(f"enrolled {args.photo} -> {out} (model {enrollment.model_id})")
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
    )
    verdict = "PASSED" if result.passed else "NOT PASSED: " + ", ".join(result.reason_codes)
    print(f"{verdict} ({result.frames_total} frames)")
    if args.record is not None:
        print(f"wrote {args.record}")
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _cmd_challenge(args: argparse.Namespace) -> int:

    if not args.key_file.exists():
        save_key(args.key_file, generate_key())
        log.warning("created a new key in %s", args.key_file)
    challenge = new_challenge(args.digits, ttl_s=args.ttl, schedule=args.schedule)
    token = challenge.to_token(load_key(args.key_file))
    if args.json:
        print(json.dumps({"token": token, "digits": challenge.digits, "expires_at": challenge.expires_at}))
    else:
        print(token)
        print(challenge.digits)
    return EXIT_PASSED


def _cmd_verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:

    digits: DigitsOptions | None = None
    if args.mode == "digits":
        if (args.challenge is None) == (args.expect_digits is None):
            parser.error("--mode digits needs exactly one of --challenge TOKEN or --expect-digits DIGITS")
        if args.expect_digits is not None:
            digits = DigitsOptions(Challenge.for_known_digits(args.expect_digits))
        else:
            if args.key_file is None:
                parser.error("--challenge needs --key-file (the key the token was signed with)")
            store = None
            if args.nonce_db is not None:
                store = SQLiteNonceStore(args.nonce_db)
            else:
                log.warning("no --nonce-db: this run cannot tell whether the challenge was used before")
            digits = DigitsOptions(args.challenge, key=load_key(args.key_file), nonce_store=store)
    elif args.challenge or args.expect_digits:
        parser.error("--challenge and --expect-digits need --mode digits")
    result = verify(args.video, mode=args.mode, enrolled=args.enrolled, digits=digits)
    if args.json:
        print(json.dumps(result.to_dict(lang=args.lang), ensure_ascii=False))
    else:
        verdict = "PASSED" if result.passed else "NOT PASSED"
        print(f"{verdict}: {args.video}")
        print(
            f"  {result.frames_total} frames ({result.frames_with_face} with a face), "
            f"{result.duration_s:.2f} s, {len(result.blinks)} blinks, {result.timings.total:.0f} ms"
        )
        for blink in result.blinks:
            print(f"  blink {blink.start_s:.2f}-{blink.end_s:.2f} s")
        if result.digits is not None:
            d = result.digits
            heard = d.heard if d.audio else "(no audio track: judged on lip movement only)"
            print(f"  digits expected {d.expected}, heard {heard}, {len(d.mouth_events)} mouth openings")
        if result.match is not None:
            m = result.match
            print(f"  face distance {m.distance:.3f} (threshold {m.threshold:.2f}) over {m.frames_used} frames")
        for reason in result.reasons:
            print(
                f"  {reason.code.value}: {reason.message(args.lang)}" + (f" ({reason.detail})" if reason.detail else "")
            )
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _cmd_trace(args: argparse.Namespace) -> int:

    result = verify(args.video)
    trace = result.trace
    if trace is None:  # pragma: no cover - verify always fills it
        raise LivecertError("no trace was recorded")
    if args.out is not None:
        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "t_s",
                    "faces",
                    "left_eye",
                    "right_eye",
                    "inner_lip_gap",
                    "outer_lip_height",
                    "yaw_deg",
                    "pitch_deg",
                    "flags",
                ]
            )
            for i in range(len(trace)):
                w.writerow(
                    [
                        f"{trace.t_s[i]:.4f}",
                        int(trace.n_faces[i]),
                        _fmt(trace.left_eye[i]),
                        _fmt(trace.right_eye[i]),
                        _fmt(trace.inner_lip_gap[i]),
                        _fmt(trace.outer_lip_height[i]),
                        _fmt(trace.yaw_deg[i], 1),
                        _fmt(trace.pitch_deg[i], 1),
                        "|".join(flag_names(int(trace.flags[i]))),
                    ]
                )
        print(f"wrote {len(trace)} frames to {args.out}")
    if args.plot is not None:
        plot_trace(result, args.plot, title=Path(args.video).name)
        print(f"wrote {args.plot}")
    return EXIT_PASSED


def _fmt(x: float, digits: int = 4) -> str:
    return "" if x != x else f"{x:.{digits}f}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
