"""Benefit types, channels, statuses and the certification policies.

A :class:`Policy` says, for one benefit type (and optionally one region), how often a
pensioner must certify and what happens when they do not: a rolling period (enterprise and
civil-service retirees: no more than 12 months between two certifications) or fixed windows in
each calendar year (urban and rural residents: two windows a year; dependants: every calendar
quarter), the notice and grace days, the month payments stop, the month they resume and the
months paid back.  Policies are data (``policies.json`` ships the defaults); a region's own
rules are a policy with that ``region``, and a change is a new ``version`` with a later
``effective_from``: a version, once stored, never changes, so history is never rewritten.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

from livecert.enums import StrEnum
from livecert.errors import ErrorCode, InputError, LivecertError

#: Marks a policy file; :func:`load_policies` refuses other JSON.
POLICY_FILE_TAG = "livecert-ledger-policies"

#: A policy for every region of its benefit type (a region's own policy takes precedence).
ANY_REGION = "*"


class BenefitType(StrEnum):
    """The benefit a person receives, which decides how often they certify."""

    #: 企业职工基本养老保险 (enterprise retirees): rolling, once a year.
    ENTERPRISE = "enterprise"
    #: 机关事业单位养老保险 (civil-service retirees): rolling, once a year.
    CIVIL_SERVICE = "civil_service"
    #: 城乡居民基本养老保险 (urban and rural residents): fixed windows, twice a year.
    RESIDENT = "resident"
    #: 企业供养亲属待遇 (dependants' benefits): every calendar quarter.
    DEPENDANT = "dependant"


class Channel(StrEnum):
    """Where a certification was made."""

    #: This library: a recording checked by :func:`livecert.verify`.
    ONLINE = "online"
    #: In person at a community (street) service centre, recorded by a clerk.
    COMMUNITY = "community"
    #: In person at the social-security bureau, recorded by a clerk.
    BUREAU = "bureau"
    #: A clerk's home visit (bedridden or very old pensioners).
    HOME_VISIT = "home_visit"

    @property
    def offline(self) -> bool:
        """Recorded by a clerk (who must be named), not checked by livecert."""
        return self is not Channel.ONLINE


class Status(StrEnum):
    """A person's certification status on a given date (exactly one at a time).

    ``CERTIFIED``: certified for the current cycle, the deadline is not near.
    ``DUE``: the next certification may be made now (window open, or the deadline is within
    the policy's notice days).  ``OVERDUE``: the deadline has passed and payments have not
    been suspended yet.  ``SUSPENDED``: payments are suspended until the person certifies.
    """

    CERTIFIED = "certified"
    DUE = "due"
    OVERDUE = "overdue"
    SUSPENDED = "suspended"


class Decision(StrEnum):
    """What the ledger made of one attempt."""

    #: A certification: the person was seen alive (online check passed, or a clerk's record).
    ACCEPTED = "accepted"
    #: The recording did not pass :func:`livecert.verify`; nothing about the person changed.
    REJECTED = "rejected"


class CycleKind(StrEnum):
    """How certification cycles are laid out."""

    #: No more than ``period_months`` between two certifications (a rolling deadline).
    ROLLING = "rolling"
    #: Fixed windows in every calendar year; each must hold a certification.
    WINDOWS = "windows"


class SuspensionRule(StrEnum):
    """From which month payments stop when a person misses the deadline (plus grace)."""

    #: The month after the deadline plus grace days (the same whenever the batch runs).
    MONTH_AFTER_DEADLINE = "month_after_deadline"
    #: The month after the suspension is recorded (``suspend-overdue``).
    MONTH_AFTER_RECORDED = "month_after_recorded"


class ResumptionRule(StrEnum):
    """From which month payments resume after a late certification."""

    #: The month after the certification (the national rule; no region differs yet).
    NEXT_MONTH = "next_month"


class BackPayRule(StrEnum):
    """Whether the suspended months are paid back after a late certification."""

    #: Every suspended month before resumption is paid back (up to ``back_pay_limit_months``).
    FULL = "full"
    #: Nothing is paid back.
    NONE = "none"


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year without a year, e.g. ``MonthDay(6, 15)`` for 15 June.

    29 February is refused: a window must exist in every year.
    """

    month: int
    day: int

    def __post_init__(self) -> None:
        if isinstance(self.month, bool) or not isinstance(self.month, int) or not 1 <= self.month <= 12:
            raise _bad(f"month {self.month!r} must be a whole number from 1 to 12")
        if isinstance(self.day, bool) or not isinstance(self.day, int):
            raise _bad(f"day {self.day!r} must be a whole number")
        last = calendar.monthrange(2001, self.month)[1]  # a common year: no 29 February
        if not 1 <= self.day <= last:
            raise _bad(f"{self.month:02d}-{self.day:02d} is not a day of every year; use 01 to {last:02d}")

    @classmethod
    def parse(cls, text: str) -> MonthDay:
        """``"MM-DD"``."""
        parts = str(text).split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise _bad(f"{text!r} is not a day of the year; write it MM-DD, e.g. 06-15")
        return cls(int(parts[0]), int(parts[1]))

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class Window:
    """A certification window in each calendar year, first and last day included."""

    opens: MonthDay
    closes: MonthDay

    def __post_init__(self) -> None:
        if self.closes < self.opens:
            raise _bad(f"window {self} closes before it opens (windows may not cross the new year)")

    def __str__(self) -> str:
        return f"{self.opens}/{self.closes}"


@dataclass(frozen=True)
class Policy:
    """How one benefit type (in one region) is certified, from ``effective_from`` on.

    Attributes
    ----------
    benefit_type : BenefitType
    region : str
        A region code (e.g. ``"330100"``), or ``"*"`` for every region without its own policy.
    version : int
        1, 2, ...: a later version replaces an earlier one from its ``effective_from``.
    effective_from : date
        First date on which certifications are judged under this version.
    cycle : CycleKind
    period_months : int
        ROLLING: most months between two certifications (1 to 120).  WINDOWS: 0.
    windows : tuple of Window
        WINDOWS: the windows of each year, in order, not overlapping.  ROLLING: empty.
    notice_days : int
        ROLLING: the person is ``DUE`` this many days before the deadline (0 to 366).
    grace_days : int
        Days after the deadline before payments are suspended (0 to 366).
    suspension : SuspensionRule
    resumption : ResumptionRule
    back_pay : BackPayRule
    back_pay_limit_months : int or None
        With ``FULL``, at most this many of the most recent suspended months are paid back
        (None: all of them).
    title : str
        What a clerk reads, e.g. ``"企业职工基本养老保险"``.
    """

    benefit_type: BenefitType
    region: str
    version: int
    effective_from: date
    cycle: CycleKind
    period_months: int = 0
    windows: tuple[Window, ...] = ()
    notice_days: int = 0
    grace_days: int = 0
    suspension: SuspensionRule = SuspensionRule.MONTH_AFTER_DEADLINE
    resumption: ResumptionRule = ResumptionRule.NEXT_MONTH
    back_pay: BackPayRule = BackPayRule.FULL
    back_pay_limit_months: int | None = None
    title: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        name = f"policy {self.benefit_type}/{self.region} v{self.version}"
        _whole(name, "version", self.version, 1, 1_000_000)
        if not self.region or len(self.region) > 32 or not self.region.isprintable():
            raise _bad(f"{name}: region must be '*' or a code of 1 to 32 printable characters")
        if self.cycle is CycleKind.ROLLING:
            _whole(name, "period_months", self.period_months, 1, 120)
            if self.windows:
                raise _bad(f"{name}: a rolling policy has no windows; remove them or use cycle 'windows'")
        else:
            _whole(name, "period_months", self.period_months, 0, 0)
            if not self.windows:
                raise _bad(f"{name}: a windows policy needs at least one window (e.g. '01-20/06-15')")
            for before, after in zip(self.windows, self.windows[1:]):
                if after.opens <= before.closes:
                    raise _bad(f"{name}: windows {before} and {after} overlap or are out of order")
        _whole(name, "notice_days", self.notice_days, 0, 366)
        _whole(name, "grace_days", self.grace_days, 0, 366)
        if self.back_pay_limit_months is not None:
            _whole(name, "back_pay_limit_months", self.back_pay_limit_months, 0, 1200)

    @property
    def key(self) -> tuple[BenefitType, str, int]:
        """(benefit type, region, version): what identifies a stored policy."""
        return (self.benefit_type, self.region, self.version)

    def to_dict(self) -> dict[str, object]:
        """The JSON form (as in ``policies.json``)."""
        return {
            "benefit_type": self.benefit_type.value,
            "region": self.region,
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "cycle": self.cycle.value,
            "period_months": self.period_months,
            "windows": [str(w) for w in self.windows],
            "notice_days": self.notice_days,
            "grace_days": self.grace_days,
            "suspension": self.suspension.value,
            "resumption": self.resumption.value,
            "back_pay": self.back_pay.value,
            "back_pay_limit_months": self.back_pay_limit_months,
            "title": self.title,
        }

    def canonical_json(self) -> str:
        """Sorted keys, no spaces: what is stored and hashed."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Policy:
        """A policy from its JSON form; ``InputError`` ``BAD_POLICY`` naming the field otherwise."""
        where = f"policy {d.get('benefit_type')}/{d.get('region', ANY_REGION)} v{d.get('version')}"
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise _bad(f"{where}: unknown field(s) {', '.join(unknown)}; the fields are {', '.join(sorted(known))}")
        try:
            windows = d.get("windows") or []
            if not isinstance(windows, list):
                raise _bad(f"{where}: windows must be a list of 'MM-DD/MM-DD'")
            limit = d.get("back_pay_limit_months")
            return cls(
                benefit_type=BenefitType(d["benefit_type"]),
                region=str(d.get("region", ANY_REGION)),
                version=_as_int(d.get("version", 1)),
                effective_from=parse_date(str(d.get("effective_from", "2000-01-01"))),
                cycle=CycleKind(d["cycle"]),
                period_months=_as_int(d.get("period_months", 0)),
                windows=tuple(_window(str(w)) for w in windows),
                notice_days=_as_int(d.get("notice_days", 0)),
                grace_days=_as_int(d.get("grace_days", 0)),
                suspension=SuspensionRule(d.get("suspension", SuspensionRule.MONTH_AFTER_DEADLINE.value)),
                resumption=ResumptionRule(d.get("resumption", ResumptionRule.NEXT_MONTH.value)),
                back_pay=BackPayRule(d.get("back_pay", BackPayRule.FULL.value)),
                back_pay_limit_months=None if limit is None else _as_int(limit),
                title=str(d.get("title", "")),
            )
        except KeyError as exc:
            raise _bad(f"{where}: missing field {exc.args[0]!r}") from None
        except ValueError as exc:
            if isinstance(exc, LivecertError):
                raise
            raise _bad(f"{where}: {exc}") from None


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{value!r} must be a whole number")
    return value


def _window(text: str) -> Window:
    parts = text.split("/")
    if len(parts) != 2:
        raise _bad(f"window {text!r} must be written 'MM-DD/MM-DD', e.g. '01-20/06-15'")
    return Window(MonthDay.parse(parts[0]), MonthDay.parse(parts[1]))


def _whole(name: str, fld: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{name}: {fld}={value!r} makes no sense; give a whole number from {low} to {high}")


def _bad(message: str) -> InputError:
    return InputError(message, code=ErrorCode.BAD_POLICY)


def parse_date(text: str) -> date:
    """A date written ``YYYY-MM-DD``; ``InputError`` ``BAD_DATE`` saying so otherwise."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{text!r} is not a date; write it YYYY-MM-DD, e.g. 2026-03-01", code=ErrorCode.BAD_DATE
        ) from None


class PolicySet:
    """Every version of every policy, and the lookup of the one in force.

    Parameters
    ----------
    policies : iterable of Policy
        Two policies with the same (benefit type, region, version) are refused.
    """

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._by_key: dict[tuple[BenefitType, str, int], Policy] = {}
        for p in policies:
            if p.key in self._by_key and self._by_key[p.key] != p:
                raise _bad(f"policy {p.benefit_type}/{p.region} v{p.version} is given twice with different rules")
            self._by_key[p.key] = p

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> tuple[Policy, ...]:
        """Every policy, sorted by benefit type, region and version."""
        return tuple(sorted(self._by_key.values(), key=lambda p: (p.benefit_type.value, p.region, p.version)))

    def in_force(self, benefit_type: BenefitType, region: str, on: date) -> Policy:
        """The policy that judges a certification of ``benefit_type`` in ``region`` on ``on``.

        The region's own latest version effective on that date, else the ``"*"`` one.

        Raises
        ------
        InputError
            ``NO_POLICY``: neither exists (load a policy file that covers it).
        """
        for r in (region, ANY_REGION):
            found = [p for p in self._by_key.values() if p.benefit_type is benefit_type and p.region == r]
            found = [p for p in found if p.effective_from <= on]
            if found:
                return max(found, key=lambda p: (p.effective_from, p.version))
        raise InputError(
            f"no certification policy for {benefit_type} in region {region!r} on {on.isoformat()}; "
            "load a policy file that covers it (livecert ledger init --policies FILE)",
            code=ErrorCode.NO_POLICY,
        )


def default_policies() -> PolicySet:
    """The policies shipped with livecert (``livecert/ledger/policies.json``)."""
    text = resources.files("livecert.ledger").joinpath("policies.json").read_text(encoding="utf-8")
    return policies_from_json(text, "livecert/ledger/policies.json")


def load_policies(path: str | Path) -> PolicySet:
    """A policy file (the layout of ``policies.json``).

    Raises
    ------
    InputError
        ``FILE_NOT_FOUND``, or ``BAD_POLICY`` naming the policy and field that make no sense.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: policy file not found", code=ErrorCode.FILE_NOT_FOUND) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the policy file ({exc})", code=ErrorCode.FILE_UNREADABLE) from None
    return policies_from_json(text, str(path))


def policies_from_json(text: str, name: str = "<policies>") -> PolicySet:
    """Policies from the text of a policy file (``name`` is used in messages)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"{name}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != POLICY_FILE_TAG or not isinstance(doc.get("policies"), list):
        raise _bad(f'{name}: not a livecert policy file (needs "format": "{POLICY_FILE_TAG}" and "policies": [...])')
    items = doc["policies"]
    if not all(isinstance(p, dict) for p in items):
        raise _bad(f"{name}: every entry of 'policies' must be an object")
    return PolicySet(Policy.from_dict(p) for p in items)
