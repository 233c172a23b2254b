//! The backtest as one self-contained HTML file: four inline SVG charts (ROC
//! curve, conversion by decile, score histogram by outcome, precision and
//! recall by cut-off) and the tables, no external assets, so it opens anywhere
//! and can be mailed around. Legends sit above each plot, never on it.

use std::fmt::Write;

use super::Backtest;
use super::metrics::{Group, Quality};

const W: f64 = 520.0;
const H: f64 = 320.0;
/// Plot margins: room for the y tick labels, the title and legend, the x ticks.
const LEFT: f64 = 58.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 46.0;

const CANDIDATE: &str = "#1f6feb";
const BASELINE: &str = "#d1242f";
const CONVERTED: &str = "#2da44e";
const NOT_CONVERTED: &str = "#8c959f";
const PRECISION: &str = "#8250df";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "–".into())
}

/// A number as a tick label: no trailing zeros.
fn num(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Plot area coordinates: x, y in [0, 1] → pixels.
fn px(x: f64, y: f64) -> (f64, f64) {
    (
        LEFT + x * (W - LEFT - RIGHT),
        H - BOTTOM - y * (H - TOP - BOTTOM),
    )
}

/// The chart's frame, title, axis labels and ticks (each at a position in
/// [0, 1] with its label), with light grid lines behind the data.
fn frame(
    svg: &mut String,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[(f64, String)],
    y_ticks: &[(f64, String)],
) {
    let (x0, y0) = px(0.0, 0.0);
    let (x1, y1) = px(1.0, 1.0);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}">
<rect x="{x0}" y="{y1}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>
<text x="{cx}" y="18" text-anchor="middle" font-weight="bold">{t}</text>
<text x="{cx}" y="{xl}" text-anchor="middle">{x}</text>
<text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">{y}</text>
"##,
        t = esc(title),
        pw = x1 - x0,
        ph = y0 - y1,
        cx = (x0 + x1) / 2.0,
        cy = (y0 + y1) / 2.0,
        xl = H - 8.0,
        x = esc(x_label),
        y = esc(y_label),
    );
    for (at, label) in x_ticks {
        let (x, _) = px(*at, 0.0);
        let _ = write!(
            svg,
            r##"<line class="tick" x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{y2}" stroke="#e1e4e8"/><line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{y4}" stroke="#999"/><text class="tick-label" x="{x:.1}" y="{ty}" text-anchor="middle" font-size="11">{l}</text>"##,
            y2 = y0,
            y4 = y0 + 4.0,
            ty = y0 + 16.0,
            l = esc(label),
        );
    }
    for (at, label) in y_ticks {
        let (_, y) = px(0.0, *at);
        let _ = write!(
            svg,
            r##"<line class="tick" x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e1e4e8"/><line x1="{xm}" y1="{y:.1}" x2="{x0}" y2="{y:.1}" stroke="#999"/><text class="tick-label" x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11">{l}</text>"##,
            xm = x0 - 4.0,
            tx = x0 - 6.0,
            ty = y + 4.0,
            l = esc(label),
        );
    }
}

/// One line of legend entries above the plot: (colour, dashed, text).
fn legend(svg: &mut String, entries: &[(&str, bool, String)]) {
    let mut x = LEFT;
    let y = TOP - 14.0;
    for (color, dashed, text) in entries {
        let dash = if *dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r##"<g class="legend"><line x1="{x}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="{color}" stroke-width="3"{dash}/><text x="{tx}" y="{y}" font-size="11">{t}</text></g>"##,
            ly = y - 4.0,
            x2 = x + 18.0,
            tx = x + 22.0,
            t = esc(text),
        );
        // About 6 px per character at 11 px.
        x += 22.0 + 6.2 * text.chars().count() as f64 + 16.0;
    }
}

/// Ticks at 0, ¼, ½, ¾ and 1 of a range [0, top].
fn quarter_ticks(top: f64, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    (0..=4)
        .map(|k| (k as f64 / 4.0, label(top * k as f64 / 4.0)))
        .collect()
}

fn polyline(points: &[(f64, f64)], color: &str, width: f64, dashed: bool, class: &str) -> String {
    let points: Vec<String> = points
        .iter()
        .map(|&(x, y)| {
            let (a, b) = px(x, y);
            format!("{a:.1},{b:.1}")
        })
        .collect();
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    format!(
        r##"<polyline class="{class}" fill="none" stroke="{color}" stroke-width="{width}"{dash} points="{}"/>"##,
        points.join(" ")
    )
}

fn roc(candidate: &Quality, baseline: Option<&Quality>) -> String {
    let mut svg = String::new();
    let ticks = quarter_ticks(1.0, num);
    frame(
        &mut svg,
        "ROC curve",
        "false positive rate",
        "true positive rate",
        &ticks,
        &ticks,
    );
    let (x0, y0) = px(0.0, 0.0);
    let (x1, y1) = px(1.0, 1.0);
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#bbb" stroke-dasharray="2 3"/>"##
    );
    let auc = |q: &Quality| opt(q.auc, |a| format!("{a:.3}"));
    let mut entries = vec![(
        CANDIDATE,
        false,
        format!("candidate AUC {}", auc(candidate)),
    )];
    // The baseline first, dashed, so the candidate is drawn over it.
    if let Some(b) = baseline {
        svg.push_str(&polyline(&b.roc, BASELINE, 2.0, true, "roc baseline"));
        entries.push((BASELINE, true, format!("baseline AUC {}", auc(b))));
    }
    svg.push_str(&polyline(
        &candidate.roc,
        CANDIDATE,
        2.5,
        false,
        "roc candidate",
    ));
    legend(&mut svg, &entries);
    svg.push_str("</svg>");
    svg
}

fn lift(q: &Quality) -> String {
    let mut svg = String::new();
    let highest = q.deciles.iter().map(|d| d.rate).fold(q.base_rate, f64::max);
    // Round ticks: the axis runs to 4 × the first step that covers the data.
    let step = [0.005, 0.01, 0.02, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25]
        .into_iter()
        .find(|s| 4.0 * s >= highest)
        .unwrap_or(0.25);
    let top = 4.0 * step;
    let slot = 1.0 / 10.0;
    let x_ticks: Vec<(f64, String)> = q
        .deciles
        .iter()
        .map(|d| (slot * (d.decile as f64 - 0.5), d.decile.to_string()))
        .collect();
    frame(
        &mut svg,
        "Conversion by score decile",
        "decile (1 = top scores)",
        "conversion rate",
        &x_ticks,
        &quarter_ticks(top, pct),
    );
    for d in &q.deciles {
        let (x, y) = px(slot * (d.decile - 1) as f64, d.rate / top);
        let (x_end, bottom) = px(slot * d.decile as f64, 0.0);
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{bx:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{CANDIDATE}"><title>decile {}: {} of {} converted ({}), lift {:.2}</title></rect>"##,
            d.decile,
            d.positives,
            d.rows,
            pct(d.rate),
            d.lift,
            bx = x + 4.0,
            w = x_end - x - 8.0,
            h = bottom - y,
        );
    }
    let (x0, y) = px(0.0, q.base_rate / top);
    let (x1, _) = px(1.0, 0.0);
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="{BASELINE}" stroke-width="2" stroke-dasharray="5 3"/>"##
    );
    legend(
        &mut svg,
        &[
            (CANDIDATE, false, "conversion rate".into()),
            (BASELINE, true, format!("base rate {}", pct(q.base_rate))),
        ],
    );
    svg.push_str("</svg>");
    svg
}

fn histogram(q: &Quality) -> String {
    let mut svg = String::new();
    let h = &q.histogram;
    let most = h
        .positives
        .iter()
        .chain(&h.negatives)
        .copied()
        .max()
        .unwrap_or(0);
    // Whole-lead ticks: the axis runs to 4 × a whole step.
    let top = (most as f64 / 4.0).ceil().max(1.0) * 4.0;
    let bins = h.positives.len().max(1);
    // Every fifth edge: five ticks across the score range.
    let x_ticks: Vec<(f64, String)> = h
        .edges
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 == 0 || *i == bins)
        .map(|(i, e)| (i as f64 / bins as f64, num(*e)))
        .collect();
    frame(
        &mut svg,
        "Score distribution by outcome",
        "score",
        "leads",
        &x_ticks,
        &quarter_ticks(top, |c| format!("{c:.0}")),
    );
    let slot = 1.0 / bins as f64;
    for (i, (p, neg)) in h.positives.iter().zip(&h.negatives).enumerate() {
        for (k, (count, color, name)) in [
            (*neg, NOT_CONVERTED, "not converted"),
            (*p, CONVERTED, "converted"),
        ]
        .into_iter()
        .enumerate()
        {
            let (x, y) = px(slot * (i as f64 + k as f64 / 2.0), count as f64 / top);
            let (x_end, bottom) = px(slot * (i as f64 + (k as f64 + 1.0) / 2.0), 0.0);
            let _ = write!(
                svg,
                r##"<rect class="bar" x="{bx:.1}" y="{y:.1}" width="{w:.1}" height="{hh:.1}" fill="{color}"><title>{lo:.1}–{hi:.1}: {count} {name}</title></rect>"##,
                bx = x + 0.5,
                w = (x_end - x - 1.0).max(0.5),
                hh = bottom - y,
                lo = h.edges[i],
                hi = h.edges[i + 1],
            );
        }
    }
    legend(
        &mut svg,
        &[
            (CONVERTED, false, "converted".into()),
            (NOT_CONVERTED, false, "not converted".into()),
        ],
    );
    svg.push_str("</svg>");
    svg
}

/// Precision and recall against the share of leads a cut-off qualifies.
fn cut_offs(q: &Quality) -> String {
    let mut svg = String::new();
    let ticks = quarter_ticks(1.0, |x| format!("{:.0}%", x * 100.0));
    frame(
        &mut svg,
        "Precision and recall by cut-off",
        "share of leads qualified (highest scores first)",
        "precision, recall",
        &ticks,
        &ticks,
    );
    let start = |first: f64| vec![(0.0, first)];
    let mut precision = start(q.thresholds.first().map_or(0.0, |t| t.precision));
    let mut recall = start(0.0);
    for t in &q.thresholds {
        precision.push((t.share, t.precision));
        recall.push((t.share, t.recall));
    }
    svg.push_str(&polyline(&recall, CONVERTED, 2.5, false, "recall"));
    svg.push_str(&polyline(&precision, PRECISION, 2.5, false, "precision"));
    legend(
        &mut svg,
        &[
            (PRECISION, false, "precision".into()),
            (CONVERTED, false, "recall".into()),
        ],
    );
    svg.push_str("</svg>");
    svg
}

fn group_table(html: &mut String, title: &str, groups: &[Group]) {
    if groups.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<h3>By {t}</h3><table><tr><th>{t}</th><th>leads</th><th>converted</th><th>rate</th></tr>",
        t = esc(title)
    );
    for g in groups.iter().take(50) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.name),
            g.rows,
            g.positives,
            pct(g.rate)
        );
    }
    if groups.len() > 50 {
        let _ = write!(
            html,
            "<tr><td colspan=\"4\">… {} more (see --json)</td></tr>",
            groups.len() - 50
        );
    }
    html.push_str("</table>");
}

/// Why deciles can share scores, and whether they do here.
fn ties_note(q: &Quality) -> String {
    let split: Vec<String> = q
        .deciles
        .windows(2)
        .filter(|w| w[0].min_score == w[1].max_score)
        .map(|w| {
            format!(
                "{} (deciles {}–{})",
                w[0].min_score, w[0].decile, w[1].decile
            )
        })
        .collect();
    let mut note = String::from(
        "<p class=\"note\">Each decile holds a tenth of the leads, highest scores first. Leads with \
         equal scores are split between neighbouring deciles in input order, so that the deciles \
         stay equal in size",
    );
    if split.is_empty() {
        note.push_str("; here no score spans two deciles.</p>");
    } else {
        let _ = write!(
            note,
            "; here these scores span two deciles: {}.</p>",
            esc(&split.join(", "))
        );
    }
    note
}

fn quality_tables(html: &mut String, b: &Backtest, q: &Quality) {
    let _ = write!(
        html,
        "<table><tr><th>rows</th><th>evaluated</th><th>converted</th><th>base rate</th><th>ROC AUC</th><th>no score</th><th>no outcome</th></tr>
<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        q.rows,
        q.evaluated,
        q.positives,
        pct(q.base_rate),
        opt(q.auc, |a| match q.auc_interval {
            Some((lo, hi)) => format!("{a:.4} (95%: {lo:.3}–{hi:.3})"),
            None => format!("{a:.4}"),
        }),
        q.without_score,
        q.without_outcome
    );
    if !q.deciles.is_empty() {
        html.push_str("<h3>Lift by score decile</h3><table><tr><th>decile</th><th>scores</th><th>leads</th><th>converted</th><th>rate</th><th>lift</th></tr>");
        for d in &q.deciles {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                d.decile,
                d.min_score,
                d.max_score,
                d.rows,
                d.positives,
                pct(d.rate),
                d.lift
            );
        }
        html.push_str("</table>");
        html.push_str(&ties_note(q));
    }
    if !q.thresholds.is_empty() {
        html.push_str("<h3>Cut-offs</h3><table><tr><th>score at least</th><th>leads</th><th>share</th><th>converted</th><th>precision</th><th>recall</th></tr>");
        for t in &q.thresholds {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.score,
                t.leads,
                pct(t.share),
                t.positives,
                pct(t.precision),
                pct(t.recall)
            );
        }
        html.push_str("</table>");
    }
    if std::ptr::eq(q, &b.quality) {
        if let Some(s) = &b.suggestion {
            let _ = write!(
                html,
                "<p><b>Suggested cut-off for {}:</b> {}</p>",
                esc(&s.target),
                match &s.threshold {
                    Some(t) => format!(
                        "score ≥ {} ({} leads, {}; precision {}, recall {})",
                        t.score,
                        t.leads,
                        pct(t.share),
                        pct(t.precision),
                        pct(t.recall)
                    ),
                    None => "no cut-off reaches it".into(),
                }
            );
        }
    }
    if q.stages.iter().any(|s| s.predicted > 0) {
        html.push_str("<h3>Qualified stages against the outcome</h3><table><tr><th>stage</th><th>predicted</th><th>converted among them</th><th>precision</th><th>recall</th><th>F1</th></tr>");
        for s in &q.stages {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.stage),
                s.predicted,
                s.true_positives,
                opt(s.precision, pct),
                opt(s.recall, pct),
                opt(s.f1, |f| format!("{f:.3}"))
            );
        }
        html.push_str("</table>");
    }
    // A table whose only row is "(none)" says nothing.
    let said = |groups: &[Group]| !(groups.len() == 1 && groups[0].name == "(none)");
    for (title, groups) in [
        ("grade", &q.grades),
        ("segment", &q.segments),
        ("route", &q.routes),
    ] {
        if said(groups) {
            group_table(html, title, groups);
        }
    }
    if std::ptr::eq(q, &b.quality) {
        if let Some(by) = &b.by {
            group_table(html, &by.column, &by.groups);
        }
    }
}

pub fn render(b: &Backtest) -> String {
    let mut html = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>leadwire backtest</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}
th{background:#f6f8fa}td:first-child{text-align:left}.charts{display:grid;grid-template-columns:repeat(2,520px);gap:12px}
svg{font-size:12px;background:#fff;border:1px solid #d0d7de}.note{color:#57606a;max-width:70em}</style></head><body>"#,
    );
    let _ = write!(
        html,
        "<h1>Backtest: pipeline <code>{}</code></h1><p>Config <code>{}</code>, input <code>{}</code>, outcome <code>{}</code>{}. Replayed with plugin state starting empty and each lead's event time as the clock.</p>",
        esc(&b.pipeline),
        esc(&b.config),
        esc(&b.input),
        esc(&b.outcome),
        b.baseline
            .as_ref()
            .map(|x| format!(", baseline <code>{}</code>", esc(&x.config)))
            .unwrap_or_default()
    );
    html.push_str("<div class=\"charts\">");
    html.push_str(&roc(&b.quality, b.baseline.as_ref().map(|x| &x.quality)));
    html.push_str(&lift(&b.quality));
    html.push_str(&histogram(&b.quality));
    html.push_str(&cut_offs(&b.quality));
    html.push_str("</div><h2>Candidate</h2>");
    quality_tables(&mut html, b, &b.quality);
    if let Some(base) = &b.baseline {
        let _ = write!(
            html,
            "<h2>Against the baseline</h2><p>AUC difference (candidate − baseline): <b>{}</b></p>",
            opt(base.auc_difference, |d| format!("{d:+.4}"))
        );
        if base.changes.is_empty() {
            html.push_str("<p>No lead's decision changed.</p>");
        } else {
            html.push_str("<table><tr><th>change</th><th>leads</th><th>examples (line, id: baseline → candidate)</th></tr>");
            for c in &base.changes {
                let examples: Vec<String> = c
                    .examples
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {}: {} → {}",
                            e.line,
                            esc(&e.id),
                            esc(&e.baseline),
                            esc(&e.candidate)
                        )
                    })
                    .collect();
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                    esc(&c.what),
                    c.count,
                    examples.join("<br>")
                );
            }
            html.push_str("</table>");
        }
        html.push_str("<h2>Baseline</h2>");
        quality_tables(&mut html, b, &base.quality);
    }
    html.push_str("</body></html>\n");
    html
}
