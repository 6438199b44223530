"""The ``livecert ledger`` commands (arguments in :mod:`livecert.app.ledger_cli`).

Reports are tables a clerk can read (``--lang zh``, the default, or ``en``) or one JSON object
(``--json``).  Names and ids are printed to the terminal for the clerk; nothing is logged.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import hashlib
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from livecert.config import Mode
from livecert.errors import ErrorCode, InputError
from livecert.identity.enrollment import Enrollment, enroll
from livecert.io.files import check_file
from livecert.ledger.audit import AuditReport
from livecert.ledger.crypto import DataKey, create_key_file, read_key_file
from livecert.ledger.db import creation_lock
from livecert.ledger.nonces import DatabaseNonceStore
from livecert.ledger.policy import BenefitType, Channel, Status, default_policies, load_policies, parse_date
from livecert.ledger.records import AttemptRecord, LedgerSettings, NewPerson, PersonReport
from livecert.ledger.store import Ledger
from livecert.liveness.challenge import SQLiteNonceStore, load_key
from livecert.liveness.digits import ChallengeOptions

Clock = Callable[[], datetime]

#: Column titles and the command's own lines, (English, Chinese).
_TEXT: dict[str, tuple[str, str]] = {
    "person": ("person", "人员编号"),
    "name": ("name", "姓名"),
    "benefit": ("benefit", "待遇类别"),
    "region": ("region", "地区"),
    "status": ("status", "状态"),
    "due_from": ("due from", "可认证起"),
    "due_on": ("due by", "认证截止"),
    "last": ("last certified", "上次认证"),
    "suspended_from": ("suspended from", "停发起始月"),
    "count": ("people", "人数"),
    "attempt": ("attempt", "认证记录"),
    "date": ("date", "日期"),
    "channel": ("channel", "方式"),
    "decision": ("decision", "结果"),
    "reasons": ("reasons", "原因"),
    "change": ("status change", "状态变化"),
    "resumed": ("paid again from", "恢复发放月"),
    "back_pay": ("months paid back", "补发月数"),
    "kind": ("event", "事件"),
    "month": ("month", "月份"),
    "policy": ("policy", "政策"),
    "version": ("version", "版本"),
    "effective": ("effective from", "生效日期"),
    "cycle": ("cycle", "周期"),
    "created": (
        "created ledger {db}: {n} policies, time zone {tz}, face data {enc}",
        "已创建台账 {db}：政策 {n} 条，时区 {tz}，人脸数据{enc}",
    ),
    "encrypted": ("encrypted", "加密存储"),
    "plain": ("not encrypted", "未加密"),
    "loaded": ("stored {n} new policy versions", "已导入 {n} 个新的政策版本"),
    "enrolled": ("enrolled {person}: template {sha} ({enc})", "已登记 {person} 的人脸：模板 {sha}（{enc}）"),
    "certified": ("CERTIFIED", "认证通过"),
    "not_certified": ("NOT CERTIFIED", "认证未通过"),
    "due_title": (
        "due or overdue on {on}: {n} people (showing {shown})",
        "{on} 应认证或已逾期：共 {n} 人（显示 {shown} 人）",
    ),
    "suspended_n": ("suspended {n} people on {on}", "{on} 暂停发放 {n} 人"),
    "audit_ok": (
        "audit: intact, {entries} entries, head {seq} {hash}",
        "审计：完整，共 {entries} 条记录，链尾 {seq} {hash}",
    ),
    "audit_bad": ("audit: {n} PROBLEMS, {entries} entries", "审计：发现 {n} 处问题，共 {entries} 条记录"),
    "purged": ("deleted {n} stored frames", "已删除 {n} 张过期的人脸截图"),
    "wrote": ("wrote {n} rows to {path}", "已写入 {n} 行到 {path}"),
    "attempts": ("recent attempts", "最近的认证记录"),
    "payments": ("payments suspended and resumed", "暂停和恢复发放记录"),
    "counts_on": ("people by status on {on}", "{on} 各状态人数"),
}

_STATUS_ZH = {
    Status.CERTIFIED: "已认证",
    Status.DUE: "待认证",
    Status.OVERDUE: "已逾期",
    Status.SUSPENDED: "已暂停发放",
}
_BENEFIT_ZH = {
    BenefitType.ENTERPRISE: "企业职工",
    BenefitType.CIVIL_SERVICE: "机关事业",
    BenefitType.RESIDENT: "城乡居民",
    BenefitType.DEPENDANT: "供养亲属",
}
_CHANNEL_ZH = {
    Channel.ONLINE: "线上",
    Channel.COMMUNITY: "社区",
    Channel.BUREAU: "经办机构",
    Channel.HOME_VISIT: "上门",
}


def _t(key: str, lang: str, **fields: object) -> str:
    en, zh = _TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)


def _status(s: Status, lang: str) -> str:
    return _STATUS_ZH[s] if lang == "zh" else s.value


def _benefit(b: BenefitType, lang: str) -> str:
    return _BENEFIT_ZH[b] if lang == "zh" else b.value


def _channel(c: Channel, lang: str) -> str:
    return _CHANNEL_ZH[c] if lang == "zh" else c.value


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO | None = None) -> None:
    """Print aligned columns (Chinese characters count two columns) to ``out`` (default stdout)."""
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print("  ".join(v + " " * (w - _width(v)) for v, w in zip(r, widths)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _d(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _month(value: date | None) -> str:
    return "" if value is None else f"{value.year}-{value.month:02d}"


def _emit(args: argparse.Namespace, obj: dict[str, object]) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _actor(args: argparse.Namespace) -> str:
    clerk = args.clerk or os.environ.get("LIVECERT_CLERK")
    if not clerk:
        try:
            clerk = getpass.getuser()
        except (KeyError, OSError):
            clerk = "unknown"
    return str(clerk)[:64]


def _target(args: argparse.Namespace) -> str:
    db = args.db or os.environ.get("LIVECERT_LEDGER")
    if not db:
        raise InputError("give the ledger with --db FILE_OR_URL (or set LIVECERT_LEDGER)", code=ErrorCode.BAD_ARGUMENT)
    return str(db)


def _key(args: argparse.Namespace) -> DataKey | None:
    return None if args.data_key is None else read_key_file(args.data_key)


def _date(text: str | None, ledger: Ledger) -> date:
    return ledger.today() if text is None else parse_date(text)


def run(args: argparse.Namespace, *, clock: Clock) -> int:
    """Run one ``ledger`` command; its exit code (errors are raised)."""
    cmd = args.ledger_command
    if cmd == "init":
        return _init(args, clock)
    with Ledger.open(_target(args), key=_key(args), clock=clock) as ledger:
        handler = _COMMANDS[cmd]
        return handler(args, ledger)


def _init(args: argparse.Namespace, clock: Clock) -> int:
    key = None
    if args.encrypt:
        if args.data_key is None:
            raise InputError("--encrypt needs --data-key FILE (created if missing)", code=ErrorCode.BAD_ARGUMENT)
        key = read_key_file(args.data_key) if Path(args.data_key).exists() else create_key_file(args.data_key)
    elif args.data_key is not None:
        raise InputError("--data-key at init goes with --encrypt", code=ErrorCode.BAD_ARGUMENT)
    policies = default_policies() if args.policies is None else load_policies(args.policies)
    settings = LedgerSettings(
        time_zone=args.time_zone, keep_frames=not args.no_frames, frame_retention_days=args.frame_retention_days
    )
    target = _target(args)
    with creation_lock(target):  # a server starting on the same file creates it under this lock too
        ledger = Ledger.create(target, policies=policies, settings=settings, key=key, clock=clock, actor=_actor(args))
    with ledger:
        n = len(ledger.policies())
        if args.json:
            _emit(args, {"created": True, "dialect": ledger.dialect, "policies": n, "settings": vars(ledger.settings)})
        else:
            enc = _t("encrypted" if key else "plain", args.lang)
            print(_t("created", args.lang, db=ledger.dialect, n=n, tz=args.time_zone, enc=enc))
    return 0


def _policies(args: argparse.Namespace, ledger: Ledger) -> int:
    if args.load:
        n = ledger.load_policies(load_policies(args.load), actor=_actor(args))
        if not args.json:
            print(_t("loaded", args.lang, n=n))
    pset = ledger.policies()
    if args.json:
        _emit(args, {"policies": [p.to_dict() for p in pset.all()]})
        return 0
    lang = args.lang
    rows = []
    for p in pset.all():
        cycle = f"{p.period_months} months" if p.period_months else " ".join(str(w) for w in p.windows)
        rows.append((_benefit(p.benefit_type, lang), p.region, p.version, _d(p.effective_from), cycle, p.title))
    heads = ("benefit", "region", "version", "effective", "cycle", "policy")
    table([_t(h, lang) for h in heads], rows)
    return 0


def _add_person(args: argparse.Namespace, ledger: Ledger) -> int:
    person = ledger.add_person(
        NewPerson(args.person, args.name, BenefitType(args.benefit), args.region, _date(args.registered, ledger)),
        actor=_actor(args),
    )
    return _print_status(args, ledger.report(person.id, on=ledger.today()))


def _enroll(args: argparse.Namespace, ledger: Ledger) -> int:
    if args.photo is not None:
        photo = check_file(Path(args.photo))
        enrollment = enroll(photo)
        photo_sha: str | None = hashlib.sha256(photo.read_bytes()).hexdigest()
    else:
        enrollment = Enrollment.load(args.enrollment)
        photo_sha = None
    person = ledger.enroll(args.person, enrollment, photo_sha256=photo_sha, actor=_actor(args))
    if args.json:
        _emit(
            args,
            {
                "person_id": person.id,
                "template_sha256": person.template_sha256,
                "photo_sha256": person.photo_sha256,
                "encrypted": person.encrypted,
            },
        )
    else:
        enc = _t("encrypted" if person.encrypted else "plain", args.lang)
        print(_t("enrolled", args.lang, person=person.id, sha=(person.template_sha256 or "")[:16], enc=enc))
    return 0


def _certify(args: argparse.Namespace, ledger: Ledger) -> int:
    if args.challenge is None:
        if args.mode == "digits":
            raise InputError(
                "--mode digits needs --challenge TOKEN and --challenge-key FILE", code=ErrorCode.BAD_ARGUMENT
            )
        return _certify_with(args, ledger, None)
    if args.challenge_key is None:
        raise InputError(
            "--challenge needs --challenge-key (the key the token was signed with)", code=ErrorCode.BAD_ARGUMENT
        )
    # The challenge is spent in the ledger's own used-challenge table (shared with `livecert
    # serve` on the same database) unless --nonce-db names a SQLite file of its own.
    store: SQLiteNonceStore | DatabaseNonceStore = (
        SQLiteNonceStore(args.nonce_db) if args.nonce_db else DatabaseNonceStore(_target(args))
    )
    with store:
        return _certify_with(
            args, ledger, ChallengeOptions(args.challenge, key=load_key(args.challenge_key), nonce_store=store)
        )


def _certify_with(args: argparse.Namespace, ledger: Ledger, options: ChallengeOptions | None) -> int:
    clip = check_file(Path(args.clip))
    record = ledger.certify(args.person, clip, mode=Mode(args.mode), challenge=options, actor=_actor(args))
    accepted = record.decision.value == "accepted"
    if args.json:
        result = ledger.attempt_result(record.id)
        _emit(args, {"attempt": record.to_dict(), "result": result})
    else:
        print(f"{_t('certified' if accepted else 'not_certified', args.lang)}: {args.person}")
        _print_attempts(args.lang, [record])
    return 0 if accepted else 1


def _record_offline(args: argparse.Namespace, ledger: Ledger) -> int:
    clerk = args.clerk or os.environ.get("LIVECERT_CLERK")
    if not clerk:
        raise InputError(
            "an offline certification needs the clerk who saw the person: --clerk ID", code=ErrorCode.BAD_ARGUMENT
        )
    on = None if args.on is None else parse_date(args.on)
    record = ledger.record_offline(
        args.person, channel=Channel(args.channel), recorded_by=clerk, on=on, note=args.note, actor=_actor(args)
    )
    if args.json:
        _emit(args, {"attempt": record.to_dict()})
    else:
        print(f"{_t('certified', args.lang)}: {args.person}")
        _print_attempts(args.lang, [record])
    return 0


def _status_cmd(args: argparse.Namespace, ledger: Ledger) -> int:
    on = _date(args.on, ledger)
    if args.person is None:
        counts = ledger.counts(on)
        if args.json:
            _emit(args, {"on": on.isoformat(), "counts": {s.value: n for s, n in counts.items()}})
        else:
            print(_t("counts_on", args.lang, on=on.isoformat()))
            table(
                [_t("status", args.lang), _t("count", args.lang)],
                [(_status(s, args.lang), n) for s, n in counts.items()],
            )
        return 0
    return _print_status(args, ledger.report(args.person, on=on))


def _print_status(args: argparse.Namespace, report: PersonReport) -> int:
    p, lang = report.person, args.lang
    if args.json:
        _emit(
            args,
            {
                "person_id": p.id,
                "name": p.name,
                "benefit_type": p.benefit_type.value,
                "region": p.region,
                "on": report.on.isoformat(),
                "status": report.status.value,
                "last_certified_on": _d(p.state.last_certified_on),
                "due_from": _d(p.state.due_from),
                "due_on": _d(p.state.due_on),
                "suspended_from": _d(p.state.suspended_from) or None,
                "policy": {"benefit_type": p.policy[0].value, "region": p.policy[1], "version": p.policy[2]},
                "enrolled": p.enrolled,
                "attempts": [a.to_dict() for a in report.attempts],
                "payments": [
                    {
                        "kind": e.kind,
                        "on_date": e.on_date.isoformat(),
                        "effective_month": e.effective_month.isoformat(),
                        "back_pay_from": _d(e.back_pay_from) or None,
                        "back_pay_months": e.back_pay_months,
                        "unpaid_months": e.unpaid_months,
                        "attempt_id": e.attempt_id,
                    }
                    for e in report.payments
                ],
            },
        )
        return 0
    heads = ("person", "name", "benefit", "region", "status", "last", "due_from", "due_on", "suspended_from")
    table(
        [_t(h, lang) for h in heads],
        [
            (
                p.id,
                p.name,
                _benefit(p.benefit_type, lang),
                p.region,
                _status(report.status, lang),
                _d(p.state.last_certified_on),
                _d(p.state.due_from),
                _d(p.state.due_on),
                _month(p.state.suspended_from),
            )
        ],
    )
    if report.attempts:
        print(f"\n{_t('attempts', lang)}")
        _print_attempts(lang, report.attempts)
    if report.payments:
        print(f"\n{_t('payments', lang)}")
        table(
            [_t(h, lang) for h in ("kind", "date", "month", "back_pay")],
            [(e.kind, _d(e.on_date), _month(e.effective_month), e.back_pay_months or "") for e in report.payments],
        )
    return 0


def _print_attempts(lang: str, records: Sequence[AttemptRecord]) -> None:
    heads = ("attempt", "date", "channel", "decision", "reasons", "change", "due_on", "resumed", "back_pay")
    rows = []
    for r in records:
        change = f"{_status(r.status_before, lang)} -> {_status(r.status_after, lang)}"
        decision = ("通过" if r.decision.value == "accepted" else "未通过") if lang == "zh" else r.decision.value
        rows.append(
            (
                r.id,
                _d(r.on_date),
                _channel(r.channel, lang),
                decision,
                ",".join(r.reason_codes),
                change,
                _d(r.due_after),
                _month(r.resumed_from),
                r.back_pay_months or "",
            )
        )
    table([_t(h, lang) for h in heads], rows)


def _due(args: argparse.Namespace, ledger: Ledger) -> int:
    on = parse_date(args.on)
    if args.limit < 0:
        raise InputError("--limit must be 0 (all) or more", code=ErrorCode.BAD_ARGUMENT)
    counts = ledger.counts(on)
    rows = ledger.due(on, limit=args.limit or None, region=args.region)
    total = counts[Status.DUE] + counts[Status.OVERDUE] if args.region is None else len(rows)
    if args.json:
        _emit(
            args,
            {
                "on": on.isoformat(),
                "counts": {s.value: n for s, n in counts.items()},
                "due": [
                    {
                        "person_id": r.person_id,
                        "name": r.name,
                        "benefit_type": r.benefit_type.value,
                        "region": r.region,
                        "due_from": r.due_from.isoformat(),
                        "due_on": r.due_on.isoformat(),
                        "status": r.status.value,
                    }
                    for r in rows
                ],
            },
        )
        return 0
    lang = args.lang
    print(_t("due_title", lang, on=on.isoformat(), n=total, shown=len(rows)))
    table(
        [_t(h, lang) for h in ("person", "name", "benefit", "region", "due_from", "due_on", "status")],
        [
            (
                r.person_id,
                r.name,
                _benefit(r.benefit_type, lang),
                r.region,
                _d(r.due_from),
                _d(r.due_on),
                _status(r.status, lang),
            )
            for r in rows
        ],
    )
    return 0


def _suspend(args: argparse.Namespace, ledger: Ledger) -> int:
    on = parse_date(args.on)
    report = ledger.suspend_overdue(on, actor=_actor(args))
    if args.json:
        _emit(
            args,
            {
                "on": on.isoformat(),
                "suspended": [{"person_id": p, "suspended_from": m.isoformat()} for p, m in report.suspended],
            },
        )
        return 0
    print(_t("suspended_n", args.lang, n=len(report.suspended), on=on.isoformat()))
    table(
        [_t("person", args.lang), _t("suspended_from", args.lang)], [(p, _month(m)) for p, m in report.suspended[:200]]
    )
    return 0


def _audit(args: argparse.Namespace, ledger: Ledger) -> int:
    report: AuditReport = ledger.audit()
    if args.json:
        _emit(args, report.to_dict())
    elif report.intact:
        print(_t("audit_ok", args.lang, entries=report.entries, seq=report.head_seq, hash=report.head_hash))
    else:
        print(_t("audit_bad", args.lang, n=len(report.problems), entries=report.entries))
        table(
            ["problem", "table", "key", "detail"],
            [(p.kind.value, p.entity, p.key, p.detail) for p in report.problems[:500]],
        )
    return 0 if report.intact else 1


def _export(args: argparse.Namespace, ledger: Ledger) -> int:
    if args.what == "persons":
        rows: Iterable[dict[str, object]] = ledger.export_persons(_date(args.on, ledger))
    else:
        rows = ledger.export_attempts()
    out: TextIO
    if args.out:
        try:
            out = open(args.out, "w", newline="", encoding="utf-8-sig")  # a BOM: spreadsheet programs read Chinese
        except OSError as exc:
            raise InputError(f"cannot write {args.out} ({exc.strerror})", code=ErrorCode.CANNOT_WRITE) from None
    else:
        out = sys.stdout
    n = 0
    try:
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out:
        print(_t("wrote", args.lang, n=n, path=args.out), file=sys.stderr)
    return 0


def _purge(args: argparse.Namespace, ledger: Ledger) -> int:
    n = ledger.purge_frames(on=_date(args.on, ledger), actor=_actor(args))
    if args.json:
        _emit(args, {"deleted_frames": n})
    else:
        print(_t("purged", args.lang, n=n))
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Ledger], int]] = {
    "policies": _policies,
    "add-person": _add_person,
    "enroll": _enroll,
    "certify": _certify,
    "record-offline": _record_offline,
    "status": _status_cmd,
    "due": _due,
    "suspend-overdue": _suspend,
    "audit": _audit,
    "export": _export,
    "purge-frames": _purge,
}
