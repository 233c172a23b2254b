// A leadwire scoring plugin in JavaScript (componentize-js), written straight
// against the WIT contract (wit/v0.1.0): the same rules as examples/python-scorer.
//
// Fit (who they are):
// - `big-company`: `numberofemployees` at least `big_company_employees` (200)
//   gives `big_company_points` (30); a number sent as text counts too;
// - `business-email`: an email outside the free-mail providers gives 10.
//
// Engagement (what they did): every activity in the last `window_days` (90)
// before the event counts its kind's points (`points`, below), capped per kind;
// page views of a URL containing `/pricing` count `pricing_points` more.
//
// Grade: A from 60 points, B from 30, else C. Build with ./build.sh.
//
// Bindings as componentize-js maps them: a variant is `{ tag, val }`, an
// option is the value or `undefined`, an s64 (times) is a BigInt, and a
// thrown error is the `err` of the `result`.

import { log } from 'leadwire:plugin/log@0.1.0';
import { get as getConfig } from 'leadwire:plugin/config@0.1.0';

const FREE_MAIL = new Set(['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'proton.me']);
const DAY_MS = 86_400_000;

// kind -> [points per activity, most points from that kind]
const DEFAULT_POINTS = {
  demo_request: [40, 40],
  meeting_booked: [30, 30],
  form_submit: [5, 15],
  email_click: [3, 12],
  email_open: [1, 5],
  page_view: [1, 10],
  email_bounce: [-10, -10],
};

const NUMBER_KEYS = [
  'big_company_employees',
  'big_company_points',
  'business_email_points',
  'pricing_points',
  'window_days',
];

function settings(text) {
  let table;
  try {
    table = JSON.parse(text);
  } catch (e) {
    throw `config is not JSON: ${e.message}`;
  }
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    throw 'config is not a table';
  }
  const s = {
    big_company_employees: 200,
    big_company_points: 30,
    business_email_points: 10,
    pricing_points: 2,
    window_days: 90,
    points: new Map(Object.entries(DEFAULT_POINTS)),
  };
  for (const [key, v] of Object.entries(table)) {
    if (key === 'points') {
      // {"page_view": 2} sets the points per activity, keeping the cap
      if (v === null || typeof v !== 'object') throw 'config `points`: expected a table';
      for (const [kind, p] of Object.entries(v)) {
        if (typeof p !== 'number') throw `config \`points.${kind}\`: expected a number`;
        const cap = s.points.has(kind) ? s.points.get(kind)[1] : p;
        s.points.set(kind, [p, cap]);
      }
    } else if (NUMBER_KEYS.includes(key)) {
      if (typeof v !== 'number') throw `config \`${key}\`: expected a number, got ${JSON.stringify(v)}`;
      s[key] = v;
    } else {
      throw `config: unknown key \`${key}\``;
    }
  }
  return s;
}

function number(value) {
  if (value.tag === 'number') return value.val;
  if (value.tag === 'text') {
    const n = Number(value.val);
    return value.val.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function scoreLead(input, s) {
  const lead = input.lead;
  const contributions = [];

  let fit = 0;
  let employees;
  for (const field of lead.fields) {
    if (field.name === 'numberofemployees') employees = number(field.value);
  }
  if (employees !== undefined && employees >= s.big_company_employees) {
    fit += s.big_company_points;
    contributions.push({
      rule: 'big-company',
      points: s.big_company_points,
      reason: `${employees} employees (at least ${s.big_company_employees})`,
    });
  }
  const at = lead.email === undefined ? -1 : lead.email.lastIndexOf('@');
  if (at >= 0) {
    const domain = lead.email.slice(at + 1).toLowerCase();
    if (!FREE_MAIL.has(domain)) {
      fit += s.business_email_points;
      contributions.push({
        rule: 'business-email',
        points: s.business_email_points,
        reason: `email domain ${domain} is not a free-mail provider`,
      });
    }
  }

  const now = input.event.at; // BigInt
  const since = now - BigInt(Math.round(s.window_days * DAY_MS));
  const counts = new Map();
  let pricing = 0;
  for (const activity of lead.activities) {
    if (activity.at < since || activity.at > now) continue;
    counts.set(activity.kind, (counts.get(activity.kind) ?? 0) + 1);
    if (activity.kind === 'page_view') {
      for (const prop of activity.properties) {
        if (prop.name === 'url' && prop.value.tag === 'text' && prop.value.val.includes('/pricing')) {
          pricing += 1;
        }
      }
    }
  }
  let engagement = 0;
  for (const kind of [...counts.keys()].sort()) {
    if (!s.points.has(kind)) continue;
    const [per, cap] = s.points.get(kind);
    const n = counts.get(kind);
    const points = cap < 0 ? Math.max(per * n, cap) : Math.min(per * n, cap);
    engagement += points;
    contributions.push({
      rule: `activity:${kind}`,
      points,
      reason: `${n} x ${kind} in the last ${s.window_days} days`,
    });
  }
  if (pricing > 0) {
    const points = s.pricing_points * pricing;
    engagement += points;
    contributions.push({ rule: 'pricing-views', points, reason: `${pricing} views of a pricing page` });
  }

  const value = fit + engagement;
  return {
    value,
    grade: value >= 60 ? 'A' : value >= 30 ? 'B' : 'C',
    parts: [
      { name: 'fit', value: fit },
      { name: 'engagement', value: engagement },
    ],
    contributions,
  };
}

export const scoring = {
  score(input) {
    const verdict = scoreLead(input, settings(getConfig()));
    log(
      'info',
      `lead ${input.lead.id} scored ${verdict.value} ` +
        `(${input.lead.activities.length} activities, ${verdict.contributions.length} rules)`,
    );
    return verdict;
  },
};
