"""A leadwire scoring plugin in Python (componentize-py), written straight
against the WIT contract (wit/v0.1.0): the same rules as examples/js-scorer.

Fit (who they are):
- `big-company`: `numberofemployees` at least `big_company_employees` (200)
  gives `big_company_points` (30); a number sent as text counts too;
- `business-email`: an email outside the free-mail providers gives 10.

Engagement (what they did): every activity in the last `window_days` (90)
before the event counts its kind's points (`points`, below), capped per kind;
page views of a URL containing `/pricing` count `pricing_points` more.

Grade: A from 60 points, B from 30, else C. Build with ./build.sh.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, log
from wit_world.imports.types import (
    Contribution,
    Input,
    ScorePart,
    ScoreVerdict,
    Value_Number,
    Value_Text,
)

FREE_MAIL = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "proton.me"}
DAY_MS = 86_400_000

# kind -> (points per activity, most points from that kind)
DEFAULT_POINTS = {
    "demo_request": (40.0, 40.0),
    "meeting_booked": (30.0, 30.0),
    "form_submit": (5.0, 15.0),
    "email_click": (3.0, 12.0),
    "email_open": (1.0, 5.0),
    "page_view": (1.0, 10.0),
    "email_bounce": (-10.0, -10.0),
}


class Settings:
    def __init__(self, text):
        try:
            table = json.loads(text)
        except ValueError as e:
            raise Err(f"config is not JSON: {e}")
        if not isinstance(table, dict):
            raise Err("config is not a table")
        self.big_company_employees = 200.0
        self.big_company_points = 30.0
        self.business_email_points = 10.0
        self.pricing_points = 2.0
        self.window_days = 90.0
        self.points = dict(DEFAULT_POINTS)
        for key, v in table.items():
            if key == "points":
                # {"page_view": 2} sets the points per activity, keeping the cap's sign
                if not isinstance(v, dict):
                    raise Err("config `points`: expected a table")
                for kind, p in v.items():
                    if not _is_number(p):
                        raise Err(f"config `points.{kind}`: expected a number")
                    _, cap = self.points.get(kind, (p, p))
                    self.points[kind] = (float(p), cap)
            elif key in (
                "big_company_employees",
                "big_company_points",
                "business_email_points",
                "pricing_points",
                "window_days",
            ):
                if not _is_number(v):
                    raise Err(f"config `{key}`: expected a number, got {json.dumps(v)}")
                setattr(self, key, float(v))
            else:
                raise Err(f"config: unknown key `{key}`")


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(value):
    if isinstance(value, Value_Number):
        return value.value
    if isinstance(value, Value_Text):
        try:
            return float(value.value)
        except ValueError:
            return None
    return None


def score(input: Input, s: Settings) -> ScoreVerdict:
    lead = input.lead
    contributions = []

    fit = 0.0
    employees = None
    for field in lead.fields:
        if field.name == "numberofemployees":
            employees = _number(field.value)
    if employees is not None and employees >= s.big_company_employees:
        fit += s.big_company_points
        contributions.append(
            Contribution(
                "big-company",
                s.big_company_points,
                f"{employees:g} employees (at least {s.big_company_employees:g})",
            )
        )
    if lead.email and "@" in lead.email:
        domain = lead.email.rsplit("@", 1)[1].lower()
        if domain not in FREE_MAIL:
            fit += s.business_email_points
            contributions.append(
                Contribution(
                    "business-email",
                    s.business_email_points,
                    f"email domain {domain} is not a free-mail provider",
                )
            )

    since = input.event.at - int(s.window_days * DAY_MS)
    counts = {}
    pricing = 0
    for activity in lead.activities:
        if activity.at < since or activity.at > input.event.at:
            continue
        counts[activity.kind] = counts.get(activity.kind, 0) + 1
        if activity.kind == "page_view":
            for prop in activity.properties:
                if prop.name == "url" and isinstance(prop.value, Value_Text) and "/pricing" in prop.value.value:
                    pricing += 1
    engagement = 0.0
    for kind in sorted(counts):
        if kind not in s.points:
            continue
        per, cap = s.points[kind]
        n = counts[kind]
        points = per * n
        points = max(points, cap) if cap < 0 else min(points, cap)
        engagement += points
        contributions.append(
            Contribution(
                f"activity:{kind}",
                points,
                f"{n} x {kind} in the last {s.window_days:g} days",
            )
        )
    if pricing:
        points = s.pricing_points * pricing
        engagement += points
        contributions.append(
            Contribution("pricing-views", points, f"{pricing} views of a pricing page")
        )

    value = fit + engagement
    grade = "A" if value >= 60 else "B" if value >= 30 else "C"
    return ScoreVerdict(
        value,
        grade,
        [ScorePart("fit", fit), ScorePart("engagement", engagement)],
        contributions,
    )


class Scoring(exports.Scoring):
    def score(self, input: Input) -> ScoreVerdict:
        settings = Settings(config.get())
        verdict = score(input, settings)
        log.log(
            log.Level.INFO,
            f"lead {input.lead.id} scored {verdict.value:g} "
            f"({len(input.lead.activities)} activities, {len(verdict.contributions)} rules)",
        )
        return verdict
