"""The certification rules as pure functions: no clock, no database, no time zone.

Every function takes the date it is asked about (a local calendar date, Asia/Shanghai in the
ledger by default: the caller converts).  A person's state is four dates
(:class:`PersonState`); a policy (:class:`~livecert.ledger.policy.Policy`) turns a
certification date into the next deadline (:func:`deadline_after`); the status on a date
follows from the state alone (:func:`status_on`); :func:`suspension_month` says whether, and
from which month, payments stop; :func:`certify` says what a certification changes.

Months are calendar months: adding months keeps the day of the month where it exists and
takes the month's last day otherwise (31 January + 1 month = 28 or 29 February; 29 February
2024 + 12 months = 28 February 2025).  A payment month is written as its first day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from livecert.errors import ErrorCode, InputError
from livecert.ledger.policy import BackPayRule, CycleKind, Policy, ResumptionRule, Status, SuspensionRule


@dataclass(frozen=True)
class Deadline:
    """When the next certification is due.

    Attributes
    ----------
    due_from : date
        From this day the person is ``DUE`` (a window opens, or the notice period starts).
    due_on : date
        The last day on which the certification is on time.
    """

    due_from: date
    due_on: date


@dataclass(frozen=True)
class PersonState:
    """What the rules need to know about a person.

    Attributes
    ----------
    last_certified_on : date
        The latest certification (registration counts as the first: the person was seen
        when the benefit was granted).
    due_from, due_on : date
        The current deadline (:class:`Deadline`), fixed by the policy in force when the
        person last certified: a later policy version does not move it.
    suspended_from : date or None
        First day of the first month not paid; None while payments run.
    """

    last_certified_on: date
    due_from: date
    due_on: date
    suspended_from: date | None = None

    @property
    def deadline(self) -> Deadline:
        return Deadline(self.due_from, self.due_on)


@dataclass(frozen=True)
class CertificationOutcome:
    """What a certification on a date changes (:func:`certify`).

    Attributes
    ----------
    before, after : PersonState
    status_before, status_after : Status
        On the certification date.
    resumed_from : date or None
        First day of the month payments resume (a suspended person only): always the month
        after the certification.
    back_pay_months : tuple of date
        First days of the suspended months paid back, oldest first (empty without a
        suspension, or when the policy pays nothing back).
    unpaid_months : tuple of date
        First days of the suspended months not paid back.
    """

    before: PersonState
    after: PersonState
    status_before: Status
    status_after: Status
    resumed_from: date | None
    back_pay_months: tuple[date, ...]
    unpaid_months: tuple[date, ...]


def month_start(d: date) -> date:
    """The first day of ``d``'s month."""
    return d.replace(day=1)


def next_month_start(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def add_months(d: date, months: int) -> date:
    """``d`` plus a whole number of calendar months (may be negative), the day clamped to the month's end."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise InputError(f"{d.isoformat()} plus {months} months is outside the calendar", code=ErrorCode.BAD_DATE)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def months_between(first: date, end: date) -> tuple[date, ...]:
    """The month starts from ``first``'s month up to, not including, ``end``'s month."""
    out, m, stop = [], month_start(first), month_start(end)
    while m < stop:
        out.append(m)
        m = next_month_start(m)
    return tuple(out)


def deadline_after(policy: Policy, certified_on: date) -> Deadline:
    """The deadline that follows a certification on ``certified_on``.

    ROLLING: ``period_months`` later, ``DUE`` from ``notice_days`` before that (never before
    the day after the certification).  WINDOWS: the first window that opens after the
    certification (a certification inside a window counts for that window; one between
    windows counts for none, and the next window must still be used).
    """
    if policy.cycle is CycleKind.ROLLING:
        due_on = add_months(certified_on, policy.period_months)
        return Deadline(max(certified_on + timedelta(days=1), due_on - timedelta(days=policy.notice_days)), due_on)
    for year in (certified_on.year, certified_on.year + 1):
        for w in policy.windows:
            opens = w.opens.in_year(year)
            if opens > certified_on:
                return Deadline(opens, w.closes.in_year(year))
    raise AssertionError("a windows policy has a window in every year")  # pragma: no cover - validated


def initial_state(policy: Policy, registered_on: date) -> PersonState:
    """The state of a person registered (seen in person) on ``registered_on``."""
    d = deadline_after(policy, registered_on)
    return PersonState(registered_on, d.due_from, d.due_on, None)


def status_on(state: PersonState, on: date) -> Status:
    """The person's status on ``on``: exactly one of the four (:class:`Status`)."""
    if state.suspended_from is not None:
        return Status.SUSPENDED
    if on > state.due_on:
        return Status.OVERDUE
    if on >= state.due_from:
        return Status.DUE
    return Status.CERTIFIED


def grace_end(state: PersonState, policy: Policy) -> date:
    """The last day before payments may be suspended: the deadline plus the grace days."""
    return state.due_on + timedelta(days=policy.grace_days)


def suspension_month(state: PersonState, policy: Policy, on: date) -> date | None:
    """From which month payments stop if the suspension is recorded on ``on``; None when the
    person is not to be suspended (certified in time, within grace, or suspended already)."""
    if state.suspended_from is not None:
        return None
    return overdue_month(state.due_on, policy, on)


def overdue_month(due_on: date, policy: Policy, on: date) -> date | None:
    """:func:`suspension_month` of a person not suspended whose deadline is ``due_on``: it
    depends on nothing else, which lets the suspension batch treat everyone with the same
    policy and deadline at once."""
    end = due_on + timedelta(days=policy.grace_days)
    if on <= end:
        return None
    if policy.suspension is SuspensionRule.MONTH_AFTER_DEADLINE:
        return next_month_start(end)
    return next_month_start(on)


def suspend(state: PersonState, policy: Policy, on: date) -> PersonState:
    """The state after recording a suspension on ``on``.

    Raises
    ------
    InputError
        ``BAD_ARGUMENT``: the person is not to be suspended on that date.
    """
    month = suspension_month(state, policy, on)
    if month is None:
        raise InputError(
            f"not to be suspended on {on.isoformat()} (status {status_on(state, on)}, "
            f"deadline {state.due_on.isoformat()} plus {policy.grace_days} grace days)",
            code=ErrorCode.BAD_ARGUMENT,
        )
    return PersonState(state.last_certified_on, state.due_from, state.due_on, month)


def certify(state: PersonState, policy: Policy, on: date) -> CertificationOutcome:
    """What a certification on ``on`` under ``policy`` (the one in force on ``on``) changes.

    The deadline never moves backwards (a certification older than the last one, e.g. an
    offline record typed in late, or a new policy with a shorter period, keeps the later
    deadline).  A suspended person's payments resume from the month after the certification;
    the suspended months before that are paid back as the policy says.
    """
    before = status_on(state, on)
    latest = max(state.last_certified_on, on)
    new = deadline_after(policy, latest)
    deadline = new if new.due_on >= state.due_on else state.deadline
    resumed_from: date | None = None
    paid: tuple[date, ...] = ()
    unpaid: tuple[date, ...] = ()
    if state.suspended_from is not None:
        if policy.resumption is ResumptionRule.NEXT_MONTH:
            resumed_from = next_month_start(on)
        missed = months_between(state.suspended_from, resumed_from) if resumed_from is not None else ()
        if policy.back_pay is BackPayRule.FULL:
            limit = len(missed) if policy.back_pay_limit_months is None else policy.back_pay_limit_months
            cut = max(0, len(missed) - limit)
            unpaid, paid = missed[:cut], missed[cut:]
        else:
            unpaid = missed
    after = PersonState(latest, deadline.due_from, deadline.due_on, None)
    return CertificationOutcome(state, after, before, status_on(after, on), resumed_from, paid, unpaid)
