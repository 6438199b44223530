"""``livecert batch``: verify every recording of a CSV manifest, resumably.

Exit codes: 0 every row has a verdict (passed or not) in the results file,
1 some rows are error rows (unusable recordings: the results say which and
why), 2 nothing was run (usage error, malformed manifest, unusable results
file or key), 130 interrupted (run the same command again to go on).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TypeVar

from livecert.batch.manifest import COLUMNS, Manifest, load_manifest
from livecert.batch.runner import BatchSummary, Lang, RowOptions, check_parquet, run_batch
from livecert.config import MatchPolicy, Mode
from livecert.errors import ErrorCode, InputError
from livecert.liveness.challenge import load_key
from livecert.speech.languages import content_check

P = TypeVar("P", bound=argparse.ArgumentParser)

EXIT_DONE, EXIT_ERROR_ROWS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The command's own lines for people, (English, Chinese).
_TEXT: dict[str, tuple[str, str]] = {
    "summary": (
        "{rows} rows: {passed} passed, {not_passed} not passed, {errors} errors "
        "({skipped} already done, {ran} run now in {wall:.1f} s{rate})",
        "共 {rows} 条：通过 {passed} 条，未通过 {not_passed} 条，出错 {errors} 条"
        "（此前已完成 {skipped} 条，本次认证 {ran} 条，用时 {wall:.1f} 秒{rate}）",
    ),
    "rate": (
        ", {rate:.2f} rows/s, {workers} worker(s) ({backend})",
        "，每秒 {rate:.2f} 条，{workers} 个工作进程（{backend}）",
    ),
    "codes": ("errors by code: {codes}", "各类错误：{codes}"),
    "memory": ("peak memory per worker: {mb} MiB", "每个工作进程的内存峰值：{mb} MiB"),
    "wrote": ("results in {path}", "结果已写入 {path}"),
    "interrupted": (
        "interrupted after {done} rows; the results so far are in {path}: run the same command again to go on",
        "已中断（完成 {done} 条）；已有结果保存在 {path}，再次运行同一命令即可继续",
    ),
}


def _t(key: str, lang: str, **fields: object) -> str:
    en, zh = _TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction[P], langs: tuple[str, ...]) -> None:
    """Add the ``batch`` subcommand to the ``livecert`` parser."""
    b = sub.add_parser(
        "batch",
        help="verify every recording of a CSV manifest into a resumable JSON Lines file",
        description=f"Manifest columns: {', '.join(COLUMNS)} (only video is required); see livecert.batch.manifest.",
    )
    b.add_argument("manifest", type=Path, metavar="MANIFEST.csv", help="CSV, one row per recording")
    b.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="RESULTS.jsonl",
        help="results file (.jsonl); rows already in it are skipped",
    )
    b.add_argument(
        "--workers", type=_positive, metavar="N", help="worker processes (default: one per CPU, or the Ray cluster's)"
    )
    b.add_argument("--ray", metavar="ADDRESS", help="run as tasks on this Ray cluster ('auto', host:port, ray://...)")
    b.add_argument(
        "--parquet", type=Path, metavar="FILE", help="also write the results as Parquet at the end (needs pyarrow)"
    )
    b.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="folder relative paths start from (default: the manifest's)"
    )
    b.add_argument("--mode", choices=["blink", "digits"], default="blink", help="mode of rows with no mode cell")
    b.add_argument(
        "--key-file", type=Path, metavar="KEY", help="HMAC key file the rows' challenge tokens were signed with"
    )
    b.add_argument(
        "--nonce-db",
        type=Path,
        metavar="USED.sqlite",
        help="SQLite file recording used challenges (single use across runs)",
    )
    b.add_argument(
        "--max-rows-per-worker",
        type=_positive,
        metavar="N",
        help="replace each worker process after N rows (bounds memory)",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    b.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    b.add_argument(
        "--lang",
        choices=langs,
        default="en",
        help="language of the messages (results and summary), and (digits mode) the one the digits are read in",
    )
    b.add_argument(
        "--speech-model",
        type=Path,
        metavar="DIR",
        help="digits mode: a Vosk model folder for the --lang language (as for verify); without one, "
        "Mandarin readings are not checked for which digits were said",
    )
    b.add_argument(
        "--policy",
        choices=[p.value for p in MatchPolicy],
        help="face-match operating point of the rows with an enrolled face, as for verify "
        f"(strict {MatchPolicy.STRICT.threshold}, default {MatchPolicy.DEFAULT.threshold}, "
        f"lenient {MatchPolicy.LENIENT.threshold}; README 'Face matching' gives their measured rates)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``livecert batch``; see the module docstring for the exit codes."""
    out: Path = args.out
    if out.suffix.lower() == ".parquet":
        raise InputError(
            f"--out {out}: the results file is JSON Lines (resumable); add --parquet {out} for a Parquet copy",
            code=ErrorCode.BAD_ARGUMENT,
        )
    if args.parquet is not None:
        check_parquet()
    manifest = load_manifest(args.manifest, base=args.data_dir, default_mode=args.mode)
    key = load_key(args.key_file) if args.key_file is not None else None
    options = _row_options(args, manifest, key)
    done = 0

    def count(_row: object) -> None:
        nonlocal done
        done += 1

    try:
        summary = run_batch(
            manifest,
            out,
            options=options,
            workers=args.workers,
            ray_address=args.ray,
            progress=not args.no_progress,
            max_rows_per_worker=args.max_rows_per_worker,
            parquet=args.parquet,
            on_row=count,
        )
    except KeyboardInterrupt:
        print(f"livecert: {_t('interrupted', args.lang, done=done, path=out)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        _print_summary(summary, args.lang)
    return EXIT_ERROR_ROWS if summary.errors else EXIT_DONE


def _row_options(args: argparse.Namespace, manifest: Manifest, key: bytes | None) -> RowOptions:
    """The batch's :class:`RowOptions`; ``--speech-model`` and ``--policy`` checked against the manifest first."""
    digits = any(row.mode is Mode.DIGITS for row in manifest)
    if args.speech_model is not None and not digits:
        raise InputError(
            "--speech-model recognises digits read aloud: no manifest row is in digits mode",
            code=ErrorCode.BAD_ARGUMENT,
        )
    if args.policy is not None and not any(row.enrolled is not None for row in manifest):
        raise InputError(
            "--policy chooses the face-match threshold: no manifest row has an enrolled face",
            code=ErrorCode.BAD_ARGUMENT,
        )
    if digits:  # a missing model folder stops the batch before any row runs; zh without one is warned about once
        content_check(args.lang, args.speech_model)
    policy = MatchPolicy.parse(args.policy) if args.policy is not None else None
    return RowOptions(
        lang=Lang(args.lang), key=key, nonce_db=args.nonce_db, speech_model=args.speech_model, policy=policy
    )


def _print_summary(s: BatchSummary, lang: str) -> None:
    rate = s.rows_per_s
    rate_text = "" if rate is None else _t("rate", lang, rate=rate, workers=s.workers, backend=s.backend.value)
    print(
        _t(
            "summary",
            lang,
            rows=s.rows,
            passed=s.passed,
            not_passed=s.not_passed,
            errors=s.errors,
            skipped=s.skipped,
            ran=s.ran,
            wall=s.wall_s,
            rate=rate_text,
        )
    )
    if s.error_codes:
        print("  " + _t("codes", lang, codes=", ".join(f"{k} {v}" for k, v in s.error_codes.items())))
    if s.peak_rss_mb:
        print("  " + _t("memory", lang, mb=", ".join(f"{v:.0f}" for v in s.peak_rss_mb.values())))
    print("  " + _t("wrote", lang, path=s.out))
