"""The certification rules (livecert.ledger.rules) and policies: examples and Hypothesis invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from livecert.errors import InputError
from livecert.ledger import rules
from livecert.ledger.policy import (
    BackPayRule,
    BenefitType,
    CycleKind,
    MonthDay,
    Policy,
    PolicySet,
    Status,
    SuspensionRule,
    Window,
    default_policies,
    parse_date,
    policies_from_json,
)

POLICIES = default_policies()
ON = date(2026, 3, 1)


def policy(benefit: BenefitType) -> Policy:
    return POLICIES.in_force(benefit, "330100", ON)


ENTERPRISE, RESIDENT, DEPENDANT = (
    policy(BenefitType.ENTERPRISE),
    policy(BenefitType.RESIDENT),
    policy(BenefitType.DEPENDANT),
)


def test_add_months_clamps_to_the_end_of_the_month_and_handles_leap_years() -> None:
    assert rules.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert rules.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert rules.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert rules.add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert rules.add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert rules.add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert rules.months_between(date(2025, 11, 20), date(2026, 2, 1)) == (
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    )


def test_rolling_deadline_is_twelve_months_with_a_notice_period() -> None:
    d = rules.deadline_after(ENTERPRISE, date(2025, 3, 15))
    assert d.due_on == date(2026, 3, 15) and d.due_from == date(2026, 2, 13)  # 30 days' notice
    state = rules.initial_state(ENTERPRISE, date(2025, 3, 15))
    assert rules.status_on(state, date(2026, 2, 12)) is Status.CERTIFIED
    assert rules.status_on(state, date(2026, 2, 13)) is Status.DUE
    assert rules.status_on(state, date(2026, 3, 15)) is Status.DUE  # the last day is on time
    assert rules.status_on(state, date(2026, 3, 16)) is Status.OVERDUE


def test_resident_windows_and_dependant_quarters() -> None:
    # certified inside the first window: the next one is the second window
    d = rules.deadline_after(RESIDENT, date(2026, 3, 1))
    assert (d.due_from, d.due_on) == (date(2026, 7, 20), date(2026, 12, 15))
    # between the windows: counts for none, the next window must still be used
    d = rules.deadline_after(RESIDENT, date(2026, 7, 1))
    assert (d.due_from, d.due_on) == (date(2026, 7, 20), date(2026, 12, 15))
    # after the last window of the year
    d = rules.deadline_after(RESIDENT, date(2026, 12, 20))
    assert (d.due_from, d.due_on) == (date(2027, 1, 20), date(2027, 6, 15))
    # quarters: a certification in Q1 is due in Q2
    d = rules.deadline_after(DEPENDANT, date(2026, 3, 31))
    assert (d.due_from, d.due_on) == (date(2026, 4, 1), date(2026, 6, 30))
    d = rules.deadline_after(DEPENDANT, date(2026, 12, 31))
    assert (d.due_from, d.due_on) == (date(2027, 1, 1), date(2027, 3, 31))


def test_suspension_and_late_certification() -> None:
    state = rules.initial_state(ENTERPRISE, date(2025, 1, 10))  # due 2026-01-10
    assert rules.suspension_month(state, ENTERPRISE, date(2026, 1, 10)) is None
    assert rules.suspension_month(state, ENTERPRISE, date(2026, 1, 11)) == date(2026, 2, 1)
    suspended = rules.suspend(state, ENTERPRISE, date(2026, 3, 5))
    assert suspended.suspended_from == date(2026, 2, 1)  # the same whenever the batch runs
    assert rules.status_on(suspended, date(2026, 3, 5)) is Status.SUSPENDED
    with pytest.raises(InputError):
        rules.suspend(suspended, ENTERPRISE, date(2026, 3, 6))  # already suspended
    out = rules.certify(suspended, ENTERPRISE, date(2026, 5, 20))
    assert out.status_before is Status.SUSPENDED and out.status_after is Status.CERTIFIED
    assert out.resumed_from == date(2026, 6, 1)
    assert out.back_pay_months == (date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1))
    assert out.after.due_on == date(2027, 5, 20) and out.after.suspended_from is None
    no_back_pay = replace(ENTERPRISE, back_pay=BackPayRule.NONE)
    out = rules.certify(suspended, no_back_pay, date(2026, 5, 20))
    assert out.back_pay_months == () and len(out.unpaid_months) == 4
    capped = replace(ENTERPRISE, back_pay_limit_months=2)
    out = rules.certify(suspended, capped, date(2026, 5, 20))
    assert out.back_pay_months == (date(2026, 4, 1), date(2026, 5, 1))  # the most recent months
    recorded_rule = replace(ENTERPRISE, suspension=SuspensionRule.MONTH_AFTER_RECORDED, grace_days=10)
    assert rules.suspension_month(state, recorded_rule, date(2026, 1, 20)) is None  # within grace
    assert rules.suspension_month(state, recorded_rule, date(2026, 3, 5)) == date(2026, 4, 1)


def test_policies_that_make_no_sense_are_refused_with_the_field() -> None:
    with pytest.raises(InputError, match="period_months=-12") as err:
        Policy(BenefitType.ENTERPRISE, "*", 1, ON, CycleKind.ROLLING, period_months=-12)
    assert err.value.code == "BAD_POLICY"
    for bad in (
        lambda: Policy(BenefitType.ENTERPRISE, "*", 1, ON, CycleKind.ROLLING, period_months=12, grace_days=-1),
        lambda: Policy(BenefitType.RESIDENT, "*", 1, ON, CycleKind.WINDOWS),
        lambda: Window(MonthDay(6, 15), MonthDay(1, 20)),
        lambda: MonthDay(2, 29),
        lambda: MonthDay.parse("6/15"),
        lambda: Policy(
            BenefitType.RESIDENT,
            "*",
            1,
            ON,
            CycleKind.WINDOWS,
            windows=(Window(MonthDay(1, 1), MonthDay(6, 30)), Window(MonthDay(6, 1), MonthDay(12, 31))),
        ),
        lambda: Policy(BenefitType.ENTERPRISE, "*", 0, ON, CycleKind.ROLLING, period_months=12),
        lambda: policies_from_json('{"format": "livecert-ledger-policies", "policies": [{"benefit_type": "x"}]}'),
        lambda: policies_from_json('{"policies": []}'),
        lambda: policies_from_json(
            '{"format": "livecert-ledger-policies", "policies": [{"benefit_type": "enterprise", "cycle": "rolling",'
            ' "period_months": 12, "grace": 3}]}'
        ),
    ):
        with pytest.raises(InputError) as err:
            bad()
        assert err.value.code == "BAD_POLICY"


def test_dates_must_be_iso() -> None:
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    for text in ("2026-2-28", "28/02/2026", "2026-02-30", "", "2026-02-28T00:00"):
        with pytest.raises(InputError) as err:
            parse_date(text)
        assert err.value.code == "BAD_DATE" and "YYYY-MM-DD" in err.value.message


def test_region_overrides_and_versions() -> None:
    base = policy(BenefitType.RESIDENT)
    region = replace(base, region="510100", windows=(Window(MonthDay(3, 1), MonthDay(8, 31)),))
    v2 = replace(base, version=2, effective_from=date(2027, 1, 1), grace_days=30)
    pset = PolicySet([*POLICIES.all(), region, v2])
    assert pset.in_force(BenefitType.RESIDENT, "510100", ON) == region
    assert pset.in_force(BenefitType.RESIDENT, "330100", ON) == base
    assert pset.in_force(BenefitType.RESIDENT, "330100", date(2027, 1, 1)) == v2
    with pytest.raises(InputError) as err:
        PolicySet([base, replace(base, grace_days=5)])  # the same version with other rules
    assert err.value.code == "BAD_POLICY"
    with pytest.raises(InputError) as err:
        pset.in_force(BenefitType.RESIDENT, "330100", date(1999, 1, 1))
    assert err.value.code == "NO_POLICY"


# ---------------------------------------------------------------- Hypothesis

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    base = draw(st.sampled_from([ENTERPRISE, RESIDENT, DEPENDANT]))
    changes: dict[str, object] = {
        "grace_days": draw(st.integers(0, 90)),
        "suspension": draw(st.sampled_from(list(SuspensionRule))),
        "back_pay": draw(st.sampled_from(list(BackPayRule))),
        "back_pay_limit_months": draw(st.none() | st.integers(0, 24)),
    }
    if base.cycle is CycleKind.ROLLING:
        changes["period_months"] = draw(st.integers(1, 36))
        changes["notice_days"] = draw(st.integers(0, 120))
    return replace(base, **changes)  # type: ignore[arg-type]


@st.composite
def histories(draw: st.DrawFn) -> tuple[Policy, date, list[tuple[str, date]]]:
    """A policy, a registration date and a time-ordered list of certifications and batch runs."""
    p = draw(policies())
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)))
    steps = draw(st.lists(st.tuples(st.sampled_from(["certify", "suspend"]), st.integers(1, 500)), max_size=12))
    events, on = [], start
    for kind, gap in steps:
        on += timedelta(days=gap)
        events.append((kind, on))
    return p, start, events


@settings(max_examples=300, deadline=None)
@given(histories())
def test_invariants_over_a_history(history: tuple[Policy, date, list[tuple[str, date]]]) -> None:
    p, start, events = history
    state = rules.initial_state(p, start)
    for kind, on in events:
        status = rules.status_on(state, on)
        # exactly one status; suspended exactly when a suspension is recorded
        assert (status is Status.SUSPENDED) == (state.suspended_from is not None)
        assert state.due_from <= state.due_on
        if kind == "suspend":
            month = rules.suspension_month(state, p, on)
            if month is not None:
                assert status is Status.OVERDUE and on > state.due_on
                state = rules.suspend(state, p, on)
                assert rules.status_on(state, on) is Status.SUSPENDED
                assert month.day == 1
            continue
        out = rules.certify(state, p, on)
        # never certified and suspended at once
        assert out.status_after is not Status.SUSPENDED and out.after.suspended_from is None
        assert out.status_after in (Status.CERTIFIED, Status.DUE)
        # a certification never moves the deadline backwards, and the new one lies ahead
        assert out.after.due_on >= state.due_on and out.after.due_on > on
        if state.suspended_from is not None:
            # resumption is always the month after a late certification
            assert out.resumed_from == rules.next_month_start(on)
            missed = rules.months_between(state.suspended_from, out.resumed_from)
            assert out.unpaid_months + out.back_pay_months == missed
            if p.back_pay is BackPayRule.NONE:
                assert out.back_pay_months == ()
            elif p.back_pay_limit_months is not None:
                assert len(out.back_pay_months) <= p.back_pay_limit_months
        else:
            assert out.resumed_from is None and out.back_pay_months == ()
        state = out.after


@settings(max_examples=300, deadline=None)
@given(policies(), dates, dates)
def test_a_certification_never_moves_the_deadline_backwards(p: Policy, first: date, second: date) -> None:
    state = rules.certify(rules.initial_state(p, first), p, first).after
    later = rules.certify(state, p, second)  # in any order, e.g. an offline record typed in late
    assert later.after.due_on >= state.due_on
    assert later.after.last_certified_on == max(first, second)


@settings(max_examples=300, deadline=None)
@given(policies(), dates)
def test_deadline_follows_the_certification(p: Policy, on: date) -> None:
    d = rules.deadline_after(p, on)
    assert on < d.due_from <= d.due_on
    if p.cycle is CycleKind.ROLLING:
        assert d.due_on == rules.add_months(on, p.period_months)
        assert (d.due_on - on).days <= 31 * p.period_months
    else:
        assert any(d.due_from == w.opens.in_year(d.due_from.year) for w in p.windows)
        assert (d.due_on - on).days <= 366 + 200


@given(dates, st.integers(-240, 240))
def test_add_months_keeps_the_day_or_the_month_end(d: date, n: int) -> None:
    out = rules.add_months(d, n)
    assert (out.year * 12 + out.month) - (d.year * 12 + d.month) == n
    assert out.day == d.day or (out.day < d.day and (out + timedelta(days=1)).day == 1)


@given(policies(), dates, dates, dates)
def test_the_first_unpaid_month_never_decreases_with_the_deadline(p: Policy, a: date, b: date, on: date) -> None:
    """The suspension batch suspends ranges of deadlines at once: a later deadline never
    stops payments earlier, and whoever is overdue had every earlier deadline overdue too."""
    early, late = sorted((a, b))
    late_month = rules.overdue_month(late, p, on)
    early_month = rules.overdue_month(early, p, on)
    if late_month is not None:
        assert early_month is not None and early_month <= late_month
    state = rules.PersonState(early, early, early, None)
    assert rules.suspension_month(state, p, on) == early_month
