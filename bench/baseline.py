"""A straight-line, hand-written Python implementation of the project's readings of the circulars
(docs/readings.md), for benchmarking and as a differential test of the interpreter. It is written
from those readings (and, where they do not say which document a reason belongs to, from the
circulars' text); it
does not read the policy files. Rule ids (``lu-2021-54/arrears-employed``…) are used only as
labels, so that the governing clauses can be compared.

It never serves answers: it lives in bench/ only, as the yardstick the interpreter must beat and
agree with.

    python bench/baseline.py CASES.jsonl > answers.jsonl      # one record a line

A record: ``{"id", "status", <every output>, "bounds": {"max_waiting_months", "soft"} | null,
"governing": [[rule, [outputs…]], …]}``, or ``{"id", "error": CODE}``. Dates are ISO text in the
JSON Lines output and ``datetime.date`` in process.

It reads the second edition of the readings (2026-12-01): special groups as a floor, refunds against
the person's own benefit start, 33号 三(一)/三(二)/三(五)/三(六) and 二(六) for duplicates, 43号 第二条,
第五条 2, 第九条, 第十二条, 54号 三(六) options, the newborn's benefit year, facts that cannot be true.

Readings this implementation takes where the readings leave a choice (each is stated again where it is
used):
- R1 (special groups, 33号 三(一), 三(四)): a floor, never a loss. Where the general rule decides a
  start later than the payment day, the special clause decides benefit_start (= paid_on) and the
  general clause keeps its other outputs; where it decides one on or before it, the special clause
  changes nothing and is not listed; where it delegates or has no rule, the special clause alone
  decides (benefit_start = paid_on, waiting 0).
- R2 (resident_enrollment): "no waiting" for 低收入人口 concerns payments after the
  collection period; a payment inside the period starts on 1 January like everyone's.
- R3 (refund): 33号 二(五) itself names 重复缴费、参加职工医保、其他统筹地区居民医保
  (户籍/学籍 moved out read as the latter) and leaves "other cases" (death, military) to the
  province; 61号 二(三) (山东) names death (only 在集中缴费期内: other deaths are left to the
  cities, delegated), military, employment, 户籍, 学籍.
- R4 (refund, flexible workers): "the months of that year after the month of
  employment" — 12 when employment came before the benefit year began, 0 when after it ended.
- R5 (precedence: the later rule): a later national clause displaces an earlier one only where both apply: a
  switch with a gap of 3 months or less and no back-payment is not spoken to by 43号 第十一条
  第二款 (it names only the back-paid case), so 33号 二(三) still governs it.
- R6 (resident_enrollment, revised): 54号 二(四) speaks of the collection period and of payments
  after 1 January, not of paying for a year that has ended (济2号 三: "补缴当年个人缴费部分"): where
  54号 二(四) is in force, a payment after 31 December of the benefit year is an invalid case.
- R7 (33号 三(四)): "退出现役后…办理关系转移接续" is the move paid within 12 months of
  military_event_on (a period of months from an event: 民法典 counting, its last day moved to the
  next working day);
  `veteran: true` without `military` is `discharged` with no date (the floor applies).
  `spouse_insured` gets the general rules.
- R8 (transfer within one pooling region): no transfer is made, so neither 33号 三(一)/三(四) nor
  43号 第十二条 speaks to it: 54号 四(九) (transfer_required false) in 山东 once 54号 is in force,
  else no rule.
- R9 (二(六) subsidy): resident duplicates are deducted whether or not a rule says which one is kept
  (except a student's duplicate in the year of entering school); a cross-scheme duplicate only when
  a rule keeps the employee one (true with >= 1 year, false with less), null otherwise.
- R10 (33号 三(五)): resume_on_end for every flexible or seasonal employee enrollment beside a
  resident one (the case gives no fact for "during the resident benefit period"), also when 三(二)
  suspends a school enrollment.
- R11 (refund): the person's benefit start is what resident_enrollment gives for the payment, decided
  as a resident_enrollment case is: under the rules in force on the payment day (paid_on), 1 January
  where 54号 二(四) is not in force then; a payment before the collection period (or after the
  benefit year) where it is in force then is an invalid case, as for resident_enrollment.
- R12 (43号 第二条): a retiree's transfer across pooling regions is outside 43号 and (by context)
  54号 一(三): no rule, and no years_accumulate.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

D = dt.date
ONE_DAY = dt.timedelta(days=1)

OUTPUTS = ("benefit_start", "waiting_months", "gap_covered", "suspended_from", "old_benefit_end",
           "transfer_required", "refundable", "refund_months", "keep", "other", "min_years", "eligible",
           "deadline", "transfer_out_deadline", "uses_new_base", "local_years_required",
           # the second reading (2026-12-01)
           "transfer_allowed", "years_accumulate", "chooses", "resume_on_end", "subsidy_deducted",
           "shortfall_years", "options", "transfer_in_deadline")

SHANDONG, JINAN = "370000", "370100"

# documents: when each document (or clause) starts
YB33_FROM = D(2020, 8, 24)
LU61_FROM = D(2020, 8, 24)
YB43_FROM = D(2021, 12, 1)
LU54_OWN = D(2021, 12, 15)           # at the province itself
LU54_CITIES = D(2022, 4, 1)          # "2022年4月1日前实施": cities
LU54_RESIDENT = D(2022, 1, 1)        # 二(四) 自2022年起
LU54_RESIDENT_DEFERRED = D(2023, 1, 1)  # 可延期一年执行 (济南 adopted from 2022, 济2号 三)
LU54_RETIRE = D(2026, 1, 1)          # 三(六) 2025年底前过渡到位
JN_ISSUED = D(2022, 3, 8)            # 济2号 四
JN_FROM = D(2022, 4, 1)              # 济2号 一, 二
JN_RESIDENT = D(2022, 1, 1)          # 济2号 三 自2022年起


class CaseError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# -- regions (the GB/T 2260 registry) -------------------------------------------
class Regions:
    """The registry file read whole (columns: code name short pinyin level municipality parent
    from to successors change keys; a code's records oldest first)."""

    def __init__(self, path: Path):
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
        latest = {r[0]: r for r in rows}
        self.info = {}  # code -> [(city, province, valid_from, valid_to)] for each record
        self.names = {}
        for r in rows:
            chain = [r]
            while chain[-1][6]:
                chain.append(latest[chain[-1][6]])
            city = next((x[0] for x in chain if x[4] == "city" or (x[4] == "province" and x[5] == "1")), r[0])
            province = next((x[0] for x in chain if x[4] == "province"), r[0])
            self.info.setdefault(r[0], []).append(
                (city, province, D.fromisoformat(r[7]) if r[7] else D.min, D.fromisoformat(r[8]) if r[8] else D.max))
            for key in r[11].strip("|").split("|"):
                self.names.setdefault(key, []).append(r[0])

    def get(self, text, day: dt.date):
        records = self.info.get(text)
        if records is None:  # a name or pinyin (a code is the common case)
            key = str(text).strip()
            codes = [key] if key in self.info else self.names.get(key.lower() if key.isascii() else key, ())
            live = [c for c in dict.fromkeys(codes) if any(x[2] <= day <= x[3] for x in self.info[c])]
            if len(live) != 1:
                raise CaseError("E-REGION")
            text, records = live[0], self.info[live[0]]
        info = next((x for x in records if x[2] <= day <= x[3]), None)
        if info is None:
            raise CaseError("E-REGION")
        return text, info[0], info[1]


REGIONS = Regions(Path(__file__).resolve().parent.parent / "policy_dsl" / "data" / "regions.tsv")


# -- dates and periods ----------------------------------------------------------------------
def month_index(text: str) -> int:
    y, m = text.split("-")
    m = int(m)
    if len(text) != 7 or not 1 <= m <= 12:
        raise CaseError("E-CASE-MONTH")
    return int(y) * 12 + m - 1


def mi(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def start(m: int) -> dt.date:
    return D(m // 12, m % 12 + 1, 1)


def end(m: int) -> dt.date:
    return start(m + 1) - ONE_DAY


_CAL = None


def _workday(day: dt.date) -> bool:
    """A working day of the State Council schedule (adjusted working weekends count); the years
    the installed ``chinesecalendar`` data covers, else an error naming none of them as a guess."""
    global _CAL
    if _CAL is None:
        import chinese_calendar

        years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
        _CAL = (frozenset(chinese_calendar.holidays), frozenset(chinese_calendar.workdays), min(years), max(years))
    holidays, workdays, first, last = _CAL
    if not first <= day.year <= last:
        raise CaseError("E-CALENDAR-RANGE")
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def working_days_after(day: dt.date, n: int) -> dt.date:
    while n:
        day += ONE_DAY
        if _workday(day):
            n -= 1
    return day


def add_months(day: dt.date, n: int) -> dt.date:
    m = mi(day) + n
    last = end(m).day
    return D(m // 12, m % 12 + 1, min(day.day, last))


def within_period(paid: dt.date, nominal_end: dt.date) -> bool:
    """paid on or before the last day of a 民法典 period, the last day moved to the next working day."""
    if paid <= nominal_end:
        return True
    day = nominal_end
    while not _workday(day):
        day += ONE_DAY
    return paid <= day


def _date(value) -> dt.date:
    if type(value) is not str or len(value) != 10:
        raise CaseError("E-CASE-DATE")
    try:
        return D.fromisoformat(value)
    except ValueError:
        raise CaseError("E-CASE-DATE") from None


# -- the rules (per topic, with precedence written out) -----------------------------------
def first_enrollment(c, code, city, prov, day):
    worker, paid = c["worker"], _date(c["paid_on"])
    if prov != SHANDONG or day < (LU54_OWN if code == SHANDONG else LU54_CITIES):
        return "no_rule", {}, None, []
    out = {"waiting_months": 0, "benefit_start": start(mi(paid) + 1)}
    if worker == "flexible" and city == JINAN and day >= JN_FROM:  # 济2号 一 governs flexible workers in 济南
        return "decided", out, None, [["jn-2022-2/first-enrollment-flexible", ["benefit_start", "waiting_months"]]]
    return "decided", out, None, [[f"lu-2021-54/first-enrollment-{worker}", ["benefit_start", "waiting_months"]]]


def arrears(c, code, city, prov, day):
    worker, last_paid, paid = c["worker"], month_index(c["last_paid_month"]), _date(c["paid_on"])
    if mi(paid) - last_paid - 1 < 1:  # no month was missed (or the last paid month is after the payment)
        raise CaseError("E-CASE-FACTS")
    lu54 = prov == SHANDONG and day >= (LU54_OWN if code == SHANDONG else LU54_CITIES)
    jn = city == JINAN and day >= JN_FROM
    paid_m = mi(paid)
    if worker == "employed":
        if not lu54:
            return "no_rule", {}, None, []
        return "decided", {"suspended_from": start(last_paid + 2), "waiting_months": 0,
                           "benefit_start": start(paid_m + 1), "gap_covered": False}, None, \
            [["lu-2021-54/arrears-employed", ["benefit_start", "gap_covered", "suspended_from", "waiting_months"]]]
    gap = paid_m - last_paid - 1
    short = gap <= 3
    out = {"suspended_from": start(last_paid + 2), "waiting_months": 0 if short else 3,
           "benefit_start": start(paid_m + 1) if short else start(paid_m + 3)}
    lu_id = "lu-2021-54/arrears-flexible-short-gap" if short else "lu-2021-54/arrears-flexible-long-gap"
    if jn:  # 济2号 一 says nothing of the gap's costs: that stays with 54号 一(二)
        gov = [["jn-2022-2/" + lu_id[11:], ["benefit_start", "suspended_from", "waiting_months"]]]
        if lu54:
            out["gap_covered"] = False
            gov.append([lu_id, ["gap_covered"]])
        return "decided", out, None, gov
    if lu54:
        out["gap_covered"] = False
        return "decided", out, None, [[lu_id, ["benefit_start", "gap_covered", "suspended_from", "waiting_months"]]]
    return "no_rule", {}, None, []


def _special_group(c, day, paid, suffix=""):
    """The rule label of the special group the case belongs to (33号 三(一) 建档立卡贫困人口, 三(四)
    退役军人 and 随军配偶 on the move made because of the discharge: reading R7), else None."""
    if day < YB33_FROM:
        return None
    if c.get("poverty_registered") is True:
        return "yb-2020-33/poverty-no-waiting" + suffix
    military = c.get("military")
    if military is None and c.get("veteran") is True:
        military = "discharged"  # the old flag: discharged, with no date
    if military in ("discharged", "spouse_employed"):
        event = c.get("military_event_on")
        if event is None or within_period(paid, add_months(_date(event), 12)):
            return "yb-2020-33/veteran-no-waiting" + suffix
    return None


def _floor(rule, paid, general):
    """33号 三(一)/三(四) as a floor, never a loss (the second reading): benefits from the earlier of
    the payment day and the general rule's start, no waiting; everything else as the general rule
    decides it. Where the general rule decides no start (it delegates, or has no rule), the special
    rule alone decides: from the payment day."""
    status, out, bounds, gov = general
    if status == "decided" and "benefit_start" in out:
        if out["benefit_start"] <= paid:
            return general  # the special rule changes nothing
        out = dict(out, benefit_start=paid, waiting_months=0)
        return "decided", out, None, [[rule, ["benefit_start"]]] + \
            [[r, [o for o in names if o != "benefit_start"]] for r, names in gov]
    return "decided", {"waiting_months": 0, "benefit_start": paid}, None, [[rule, ["benefit_start", "waiting_months"]]]


def _check_military(c, paid):
    event = c.get("military_event_on")
    if event is not None and _date(event) > paid:
        raise CaseError("E-CASE-FACTS")


def transfer(c, code, city, prov, day):
    from_text = c["from_region"]
    _, from_city, from_prov = REGIONS.get(from_text, day)
    last_paid, removed, paid, back = (month_index(c["last_paid_month"]), month_index(c["removed_in"]),
                                      _date(c["paid_on"]), c["back_paid"])
    if last_paid > mi(paid) or removed > mi(paid):
        raise CaseError("E-CASE-FACTS")
    _check_military(c, paid)
    retired = c.get("retired") is True
    lu54 = prov == SHANDONG and day >= (LU54_OWN if code == SHANDONG else LU54_CITIES)
    if from_city == city:  # 54号 四(九): within one city no transfer is needed; elsewhere no rule (R8)
        if lu54:
            return "decided", {"transfer_required": False}, None, [["lu-2021-54/transfer-same-city", ["transfer_required"]]]
        return "no_rule", {}, None, []
    general = ("no_rule", {}, None, []) if retired else _transfer_general(c, city, from_prov, lu54, last_paid, removed, paid, back, day)
    rule = _special_group(c, day, paid, "-transfer")
    status, out, bounds, gov = general if rule is None else _floor(rule, paid, general)
    if day >= YB43_FROM and not retired:  # 43号 第十二条: the years add up (第二条: not retirees)
        out = dict(out, years_accumulate=True)
        gov = gov + [["yb-2021-43/years-accumulate-transfer", ["years_accumulate"]]]
        if status == "no_rule":
            status = "decided"
    return status, out, bounds, gov


def _transfer_general(c, city, from_prov, lu54, last_paid, removed, paid, back, day):
    paid_m = mi(paid)
    if lu54 and from_prov == SHANDONG:  # 54号 一(三), intra-province; 济2号 二 adopts it in 济南
        within = paid_m <= removed + 2 and back is True
        out = {"transfer_required": True, "old_benefit_end": end(last_paid), "waiting_months": 0,
               "benefit_start": start(paid_m) if within else start(paid_m + 1), "gap_covered": within}
        names = ["benefit_start", "gap_covered", "old_benefit_end", "transfer_required", "waiting_months"]
        if city == JINAN and day >= JN_FROM:
            return "decided", out, None, [["jn-2022-2/transfer-follows-54-" + ("within" if within else "late"), names]]
        return "decided", out, None, [["lu-2021-54/transfer-intra-" + ("within" if within else "late"), names]]
    if day >= YB43_FROM:  # 43号 第十一条第一款
        gap = paid_m - last_paid - 1
        if gap <= 3 and back is True:
            return "decided", {"transfer_required": True, "waiting_months": 0, "benefit_start": start(paid_m),
                               "gap_covered": True}, None, \
                [["yb-2021-43/transfer-short-gap-back-paid", ["benefit_start", "gap_covered", "transfer_required", "waiting_months"]]]
        if gap <= 3:
            return "delegated", {}, None, [["yb-2021-43/transfer-short-gap-not-back-paid", []]]
        return "delegated", {}, {"max_waiting_months": 6, "soft": True}, [["yb-2021-43/transfer-long-gap", []]]
    return "no_rule", {}, None, []


def switch_scheme(c, code, city, prov, day):
    years, last_paid, paid, back = c["continuous_years"], month_index(c["last_paid_month"]), _date(c["paid_on"]), c["back_paid"]
    if last_paid > mi(paid):
        raise CaseError("E-CASE-FACTS")
    _check_military(c, paid)
    if c["from_scheme"] == c["to_scheme"]:  # no switch at all: nothing here speaks to it
        return "no_rule", {}, None, []
    general = _switch_general(years, last_paid, paid, back, city, day)
    rule = _special_group(c, day, paid)
    return general if rule is None else _floor(rule, paid, general)


def _switch_general(years, last_paid, paid, back, city, day):
    if years < 2 or day < YB33_FROM:
        return "no_rule", {}, None, []
    paid_m = mi(paid)
    gap = paid_m - last_paid - 1
    jn = city == JINAN and day >= JN_ISSUED
    yb43 = day >= YB43_FROM
    if gap <= 3 and back is True and (jn or yb43):
        out = {"waiting_months": 0, "benefit_start": start(paid_m), "gap_covered": True}
        rule = "jn-2022-2/switch-short-gap-back-paid" if jn else "yb-2021-43/switch-short-gap-back-paid"
        return "decided", out, None, [[rule, ["benefit_start", "gap_covered", "waiting_months"]]]
    if gap <= 3:  # 33号 二(三) (reading R5 when not back-paid)
        return "decided", {"waiting_months": 0, "benefit_start": paid}, None, \
            [["yb-2020-33/switch-short-gap", ["benefit_start", "waiting_months"]]]
    if jn:  # 济2号 四: 按照我市规定 (not encoded); 43号's 原则上不超过6个月 still binds
        return "delegated", {}, {"max_waiting_months": 6, "soft": True}, [["jn-2022-2/switch-long-gap", []]]
    if yb43:
        return "delegated", {}, {"max_waiting_months": 6, "soft": True}, [["yb-2021-43/switch-long-gap", []]]
    return "delegated", {}, {"max_waiting_months": 6, "soft": False}, [["yb-2020-33/switch-long-gap", []]]


def resident_enrollment(c, code, city, prov, day):
    year, paid = c["benefit_year"], _date(c["paid_on"])
    if type(year) is not int:
        raise CaseError("E-CASE-TYPE")
    return _resident(year, paid, c.get("low_income") is True, code, city, prov, day)


def _resident(year, paid, low_income, code, city, prov, day):
    lu_from = LU54_RESIDENT if (code == SHANDONG or city == JINAN) else LU54_RESIDENT_DEFERRED
    lu54 = prov == SHANDONG and day >= lu_from
    jn = city == JINAN and day >= JN_RESIDENT
    if not (lu54 or jn):
        return "no_rule", {}, None, []
    if paid < D(year - 1, 9, 1):
        if lu54:
            raise CaseError("E-CASE-INVALID")  # before the collection period: not a payment for that year
        return "no_rule", {}, None, []
    if paid > D(year, 12, 31) and lu54:  # R6: not a payment for a year that has ended
        raise CaseError("E-CASE-INVALID")
    if paid < D(year, 1, 1):
        if lu54:
            return "decided", {"waiting_months": 0, "benefit_start": D(year, 1, 1)}, None, \
                [["lu-2021-54/resident-in-period", ["benefit_start", "waiting_months"]]]
        return "no_rule", {}, None, []
    # paid on or after 1 January of the benefit year (reading R6 after the year's end)
    if low_income:
        out, rule = {"waiting_months": 0, "benefit_start": paid}, "resident-low-income"
    else:
        out, rule = {"waiting_months": 3, "benefit_start": start(mi(paid) + 3)}, "resident-late"
    return "decided", out, None, [[("jn-2022-2/" if jn else "lu-2021-54/") + rule, ["benefit_start", "waiting_months"]]]


def newborn(c, code, city, prov, day):
    birth, paid = _date(c["birth_date"]), _date(c["paid_on"])
    if paid < birth:
        raise CaseError("E-CASE-FACTS")
    if prov == SHANDONG and day >= (LU54_OWN if code == SHANDONG else LU54_CITIES):  # 54号 二(五)
        if within_period(paid, add_months(birth, 6)):
            return "decided", {"waiting_months": 0, "benefit_start": birth}, None, \
                [["lu-2021-54/newborn-within-6-months", ["benefit_start", "waiting_months"]]]
        if within_period(paid, add_months(birth, 12)):
            return "decided", {"waiting_months": 0, "benefit_start": start(mi(paid) + 1)}, None, \
                [["lu-2021-54/newborn-within-12-months", ["benefit_start", "waiting_months"]]]
        # after 12 months: an ordinary resident; the year paid for is the case's benefit_year, else
        # (second reading) a payment in September–December is for the next year, any other for this one
        year = c.get("benefit_year")
        if year is None:
            year = paid.year + 1 if paid.month >= 9 else paid.year
        elif type(year) is not int:
            raise CaseError("E-CASE-TYPE")
        status, out, bounds, gov = _resident(year, paid, c.get("low_income") is True, code, city, prov, day)
        return status, out, bounds, [["lu-2021-54/newborn-after-12-months", []]] + gov
    if day < YB33_FROM:
        return "no_rule", {}, None, []
    if within_period(paid, birth + dt.timedelta(days=90)):  # 33号 三(三)
        return "decided", {"waiting_months": 0, "benefit_start": birth}, None, \
            [["yb-2020-33/newborn-within-90-days", ["benefit_start", "waiting_months"]]]
    return "delegated", {}, None, [["yb-2020-33/newborn-late", []]]


def refund(c, code, city, prov, day):
    scheme, year, reason, event = c["scheme"], c["benefit_year"], c["reason"], _date(c["event_date"])
    paid = _date(c["paid_on"])
    if reason != "duplicate" and event < paid:  # "缴费后…": the event cannot come before the payment
        raise CaseError("E-CASE-FACTS")
    if day < YB33_FROM:  # 33号 and 61号 alike
        return "no_rule", {}, None, []
    shandong = prov == SHANDONG and day >= LU61_FROM
    if scheme == "resident":
        # the person's own benefit start (second reading): what resident_enrollment gives for the
        # payment under the rules in force on the payment day (R11); 1 January where none
        status, out, _, _ = _resident(year, paid, c.get("low_income") is True, code, city, prov, paid)
        begins = out["benefit_start"] if status == "decided" else D(year, 1, 1)
        if event >= begins:
            if c.get("assistance_subsidised") is True:  # 33号 二(五): 医疗救助渠道…依申请完成退费
                return "decided", {"refundable": True}, None, [["yb-2020-33/refund-assistance-subsidised", ["refundable"]]]
            rule = "lu-2020-61/refund-resident-after-benefit-start" if shandong else "yb-2020-33/refund-resident-after-benefit-start"
            return "decided", {"refundable": False}, None, [[rule, ["refundable"]]]
        if shandong and reason == "death":  # 61号 二(三): 在集中缴费期内死亡
            if D(year - 1, 9, 1) <= event <= D(year - 1, 12, 31):
                return "decided", {"refundable": True}, None, [["lu-2020-61/refund-death-in-collection-period", ["refundable"]]]
            return "delegated", {}, None, [["lu-2020-61/refund-death-outside-collection-period", []]]
        if shandong and reason != "duplicate":  # 61号 二(三)
            return "decided", {"refundable": True}, None, [["lu-2020-61/refund-resident-before-benefit-year", ["refundable"]]]
        if reason in ("duplicate", "employment", "hukou_transfer", "school_transfer"):  # 33号 二(五) (R3)
            return "decided", {"refundable": True}, None, [["yb-2020-33/refund-resident-before-benefit-year", ["refundable"]]]
        return "delegated", {}, None, [["yb-2020-33/refund-resident-other-cases", []]]
    if reason == "employment":  # 33号 二(五): flexible worker who paid the year, then employed (R4)
        months = max(0, min(12, year * 12 + 11 - mi(event)))
        return "decided", {"refundable": True, "refund_months": months}, None, \
            [["yb-2020-33/refund-flexible-then-employed", ["refund_months", "refundable"]]]
    return "no_rule", {}, None, []


def duplicate_enrollment(c, code, city, prov, day):
    """33号 二(四) (which one is kept), 三(一), 三(二), 三(五), 三(六) (special groups: exceptions to
    二(四)), 二(六) (the subsidy is deducted)."""
    a, b = c["enrollments"]
    date = _date(c["date"])
    if day < YB33_FROM:
        return "no_rule", {}, None, []
    status, out, gov = _duplicate_keep(c, a, b)
    sa, sb = a["scheme"], b["scheme"]
    if sa == "resident" and sb == "resident":  # 二(六): except a student's duplicate in the year of entering school
        student_entry = "school" in (a["basis"], b["basis"]) and c.get("school_entry_year") == date.year
        out = dict(out, subsidy_deducted=not student_entry)
        gov = gov + [["yb-2020-33/subsidy-" + ("student-entry-year" if student_entry else "resident-duplicate"), ["subsidy_deducted"]]]
    elif sa != sb and status == "decided":  # cross-scheme, kept as employee: deducted with >= 1 year (R9)
        e = a if sa == "employee" else b
        one_year = e["continuous_employee_years"] >= 1
        out = dict(out, subsidy_deducted=one_year)
        gov = gov + [["yb-2020-33/subsidy-cross-scheme-" + ("one-year" if one_year else "short"), ["subsidy_deducted"]]]
    else:
        return status, out, None, gov
    return "decided", out, None, gov


_RESUME = ["yb-2020-33/seasonal-flexible-resume", ["resume_on_end"]]


def _duplicate_keep(c, a, b):
    sa, sb = a["scheme"], b["scheme"]
    poverty = c.get("poverty_registered") is True
    if sa == "employee" and sb == "employee":  # keep the one held through employment
        ea, eb = a["basis"] == "employment", b["basis"] == "employment"
        if ea != eb:
            return "decided", {"keep": 0 if ea else 1, "other": "terminate"}, \
                [["yb-2020-33/duplicate-employee-keep-employment", ["keep", "other"]]]
        return "no_rule", {}, []
    if sa == "resident" and sb == "resident":
        bases = {a["basis"], b["basis"]}
        ka, kb = a["basis"] == "school", b["basis"] == "school"
        if ka != kb:
            if poverty and bases & {"residence", "hukou"}:  # 三(二): 可以选择在建档立卡贫困人口身份认定地参保
                return "decided", {"keep": None, "chooses": True, "other": "terminate"}, \
                    [["yb-2020-33/student-poverty-chooses", ["chooses", "keep", "other"]]]
            return "decided", {"keep": 0 if ka else 1, "other": "terminate"}, \
                [["yb-2020-33/duplicate-resident-keep-school", ["keep", "other"]]]
        if poverty and bases == {"hukou", "residence"}:  # 三(一): 在征得本人同意后，确定需要保留的
            return "decided", {"keep": None, "chooses": True, "other": "terminate"}, \
                [["yb-2020-33/poverty-chooses", ["chooses", "keep", "other"]]]
        ra, rb = a["basis"] == "residence", b["basis"] == "residence"
        if not ka and ra != rb:
            return "decided", {"keep": 0 if ra else 1, "other": "terminate"}, \
                [["yb-2020-33/duplicate-resident-keep-residence", ["keep", "other"]]]
        return "no_rule", {}, []
    employee = 0 if sa == "employee" else 1
    e, r = (a, b)[employee], (a, b)[1 - employee]
    if r["basis"] == "school" and e["basis"] in ("employment", "flexible"):  # 三(二): 暂停 the school one
        out, gov = {"keep": employee, "other": "suspend"}, [["yb-2020-33/student-work-suspend-school", ["keep", "other"]]]
        if e["basis"] == "flexible":  # 三(五) still says the school one resumes when the work ends
            out["resume_on_end"], gov = True, gov + [_RESUME]
        return "decided", out, gov
    if r.get("land_requisitioned") is True:  # 三(六) 被征地农民 (an exception to 二(四))
        out = {"keep": employee, "other": "suspend"}
        gov = [["yb-2020-33/land-requisitioned-suspend-resident", ["keep", "other"]]]
        if e["basis"] in ("flexible", "seasonal"):
            out["resume_on_end"], gov = True, [_RESUME] + gov
        return "decided", out, gov
    if e["basis"] in ("flexible", "seasonal"):  # 二(四) reading, 三(五): suspended, resumed when the work ends
        return "decided", {"keep": employee, "other": "suspend", "resume_on_end": True}, \
            [["yb-2020-33/duplicate-cross-scheme-flexible", ["keep", "other"]], _RESUME]
    if e["continuous_employee_years"] >= 1:
        return "decided", {"keep": employee, "other": "terminate"}, \
            [["yb-2020-33/duplicate-cross-scheme-one-year", ["keep", "other"]]]
    return "no_rule", {}, []


def retirement_min_years(c, code, city, prov, day):
    sex, years = c["sex"], c["contribution_years"]
    _date(c["retire_on"])
    if prov != SHANDONG or day < (LU54_OWN if code == SHANDONG else LU54_RETIRE):
        return "no_rule", {}, None, []
    least = 30 if sex == "male" else 25
    out = {"min_years": least, "eligible": years >= least}
    if years < least:  # 三(六): 一次性缴费 or 继续按月缴费至最低缴费年限
        out.update(shortfall_years=least - years, options=["lump_sum", "monthly_until_met"])
    return "decided", out, None, \
        [["lu-2021-54/retirement-min-years", ["eligible", "min_years", "options", "shortfall_years"]]]


def deadline(c, code, city, prov, day):
    scope, accepted = c["scope"], _date(c["accepted_on"])
    out, gov = {}, []
    if prov == SHANDONG and day >= (LU54_OWN if code == SHANDONG else LU54_CITIES):  # 54号 四(九)
        out["deadline"] = working_days_after(accepted, 9 if scope == "intra_province" else 15)
        gov.append(["lu-2021-54/transfer-deadline", ["deadline"]])
    if day >= YB43_FROM:  # 43号 第八条
        out["transfer_out_deadline"] = working_days_after(accepted, 10)
        gov.append(["yb-2021-43/transfer-out-deadline", ["transfer_out_deadline"]])
        if c.get("form_received_on") is not None:  # 第九条: 5 working days from receiving the 信息表
            out["transfer_in_deadline"] = working_days_after(_date(c["form_received_on"]), 5)
            gov.append(["yb-2021-43/transfer-in-deadline", ["transfer_in_deadline"]])
    return ("decided" if gov else "no_rule"), out, None, gov


def contribution_base(c, code, city, prov, day):
    announced = _date(c["announced_on"])
    if prov != SHANDONG or day < (LU54_OWN if code == SHANDONG else LU54_CITIES):
        return "no_rule", {}, None, []
    return "decided", {"uses_new_base": month_index(c["contribution_month"]) > mi(announced)}, None, \
        [["lu-2021-54/contribution-base", ["uses_new_base"]]]


def transfer_years(c, code, city, prov, day):
    _, from_city, from_prov = REGIONS.get(c["from_region"], day)
    status, out, gov = "no_rule", {}, []
    if prov == SHANDONG and day >= (LU54_OWN if code == SHANDONG else LU54_CITIES):  # 54号 三(七)
        if from_prov != SHANDONG:
            status, out, gov = "decided", {"local_years_required": True}, [["lu-2021-54/transfer-years-from-outside", ["local_years_required"]]]
        elif from_city != city:
            status, out, gov = "decided", {"local_years_required": False}, [["lu-2021-54/transfer-years-intra-province", ["local_years_required"]]]
    if day >= YB43_FROM and from_city != city:  # 43号 第十二条: the years add up across pooling regions
        status, out, gov = "decided", dict(out, years_accumulate=True), gov + [["yb-2021-43/years-accumulate", ["years_accumulate"]]]
    return status, out, None, gov


def resident_transfer(c, code, city, prov, day):
    """43号 第五条 2: a resident who moves across pooling regions applies at the new place from the
    next year (原则上当年度在转入地不再办理转移接续手续)."""
    _, from_city, _ = REGIONS.get(c["from_region"], day)
    moved, applied = _date(c["moved_on"]), _date(c["applied_on"])
    if applied < moved:
        raise CaseError("E-CASE-FACTS")
    if day < YB43_FROM or from_city == city:
        return "no_rule", {}, None, []
    allowed = applied.year > moved.year
    return "decided", {"transfer_allowed": allowed}, None, \
        [["yb-2021-43/resident-transfer-" + ("next-year" if allowed else "same-year"), ["transfer_allowed"]]]


KINDS = {  # kind -> (rule function, the fact that decides the date)
    "first_enrollment": (first_enrollment, "paid_on"),
    "arrears": (arrears, "paid_on"),
    "transfer": (transfer, "paid_on"),
    "switch_scheme": (switch_scheme, "paid_on"),
    "resident_enrollment": (resident_enrollment, "paid_on"),
    "newborn": (newborn, "paid_on"),
    "refund": (refund, "event_date"),
    "duplicate_enrollment": (duplicate_enrollment, "date"),
    "retirement_min_years": (retirement_min_years, "retire_on"),
    "deadline": (deadline, "accepted_on"),
    "contribution_base": (contribution_base, None),
    "transfer_years": (transfer_years, "date"),
    "resident_transfer": (resident_transfer, "applied_on"),
}


def answer(c: dict) -> dict:
    """One case (JSON data) → its record."""
    try:
        fn, decided_on = KINDS[c["kind"]]
        day = start(month_index(c["contribution_month"])) if decided_on is None else _date(c[decided_on])
        code, city, prov = REGIONS.get(c["region"], day)
        status, out, bounds, gov = fn(c, code, city, prov, day)
    except CaseError as exc:
        return {"id": c.get("id"), "error": exc.code}
    except (KeyError, TypeError, ValueError):
        return {"id": c.get("id"), "error": "E-CASE"}
    rec = {"id": c.get("id"), "status": status}
    for name in OUTPUTS:
        rec[name] = out.get(name)
    rec["bounds"] = bounds
    rec["governing"] = gov
    return rec


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    write = sys.stdout.write
    dumps, loads = json.dumps, json.loads
    for path in argv:
        with open(path, "rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = answer(loads(line))
                for name in OUTPUTS:
                    v = rec.get(name)
                    if v.__class__ is D:
                        rec[name] = v.isoformat()
                write(dumps(rec, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
