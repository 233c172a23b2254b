//! The backtest as one self-contained HTML file: inline SVG charts (ROC curve,
//! lift by decile, score histogram by outcome) and the tables, no external
//! assets, so it opens anywhere and can be mailed around.

use std::fmt::Write;

use super::Backtest;
use super::metrics::Quality;

const W: f64 = 420.0;
const H: f64 = 300.0;
const PAD: f64 = 40.0;

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

/// Plot area coordinates: x, y in [0, 1] → pixels.
fn px(x: f64, y: f64) -> (f64, f64) {
    (PAD + x * (W - 2.0 * PAD), H - PAD - y * (H - 2.0 * PAD))
}

fn frame(svg: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}">
<rect x="{PAD}" y="{PAD}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>
<text x="{cx}" y="20" text-anchor="middle" font-weight="bold">{t}</text>
<text x="{cx}" y="{xl}" text-anchor="middle">{x}</text>
<text x="12" y="{cy}" text-anchor="middle" transform="rotate(-90 12 {cy})">{y}</text>
"##,
        t = esc(title),
        pw = W - 2.0 * PAD,
        ph = H - 2.0 * PAD,
        cx = W / 2.0,
        cy = H / 2.0,
        xl = H - 8.0,
        x = esc(x_label),
        y = esc(y_label),
    );
}

fn roc(candidate: &Quality, baseline: Option<&Quality>) -> String {
    let mut svg = String::new();
    frame(
        &mut svg,
        "ROC curve",
        "false positive rate",
        "true positive rate",
    );
    let (x0, y0) = px(0.0, 0.0);
    let (x1, y1) = px(1.0, 1.0);
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#bbb" stroke-dasharray="4"/>"##
    );
    let mut curve = |q: &Quality, color: &str, name: &str, row: f64| {
        let points: Vec<String> = q
            .roc
            .iter()
            .map(|&(x, y)| {
                let (a, b) = px(x, y);
                format!("{a:.1},{b:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r##"<polyline class="roc" fill="none" stroke="{color}" stroke-width="2" points="{}"/>
<text x="{lx}" y="{ly}" fill="{color}">{name} AUC {}</text>"##,
            points.join(" "),
            opt(q.auc, |a| format!("{a:.3}")),
            lx = PAD + 150.0,
            ly = H - PAD - 12.0 - row * 16.0,
        );
    };
    curve(candidate, "#1f6feb", "candidate", 0.0);
    if let Some(b) = baseline {
        curve(b, "#d1242f", "baseline", 1.0);
    }
    svg.push_str("</svg>");
    svg
}

fn lift(q: &Quality) -> String {
    let mut svg = String::new();
    frame(
        &mut svg,
        "Conversion by score decile",
        "decile (1 = top scores)",
        "conversion rate",
    );
    let top = q
        .deciles
        .iter()
        .map(|d| d.rate)
        .fold(q.base_rate, f64::max)
        .max(1e-9);
    let slot = (W - 2.0 * PAD) / 10.0;
    for d in &q.deciles {
        let (x, y) = px(0.0, d.rate / top);
        let x = x + slot * (d.decile - 1) as f64 + 4.0;
        let h = H - PAD - y;
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#1f6feb"><title>decile {}: {} of {} converted ({}), lift {:.2}</title></rect>
<text x="{tx:.1}" y="{ty:.1}" text-anchor="middle" font-size="10">{}</text>"##,
            d.decile,
            d.positives,
            d.rows,
            pct(d.rate),
            d.lift,
            d.decile,
            w = slot - 8.0,
            tx = x + (slot - 8.0) / 2.0,
            ty = H - PAD + 12.0,
        );
    }
    let (x0, y) = px(0.0, q.base_rate / top);
    let (x1, _) = px(1.0, 0.0);
    let _ = write!(
        svg,
        r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#d1242f" stroke-dasharray="4"/><text x="{tx}" y="{ty:.1}" fill="#d1242f" font-size="11">base rate {}</text></svg>"##,
        pct(q.base_rate),
        tx = x1 - 90.0,
        ty = y - 4.0,
    );
    svg
}

fn histogram(q: &Quality) -> String {
    let mut svg = String::new();
    frame(&mut svg, "Score distribution by outcome", "score", "leads");
    let h = &q.histogram;
    let top = h
        .positives
        .iter()
        .chain(&h.negatives)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = h.positives.len().max(1) as f64;
    let slot = (W - 2.0 * PAD) / n;
    for (i, (p, neg)) in h.positives.iter().zip(&h.negatives).enumerate() {
        for (k, (count, color, name)) in [
            (*neg, "#8c959f", "not converted"),
            (*p, "#2da44e", "converted"),
        ]
        .into_iter()
        .enumerate()
        {
            let (x, y) = px(0.0, count as f64 / top);
            let x = x + slot * i as f64 + 1.0 + k as f64 * (slot - 2.0) / 2.0;
            let _ = write!(
                svg,
                r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{hh:.1}" fill="{color}"><title>{lo:.1}–{hi:.1}: {count} {name}</title></rect>"##,
                w = (slot - 2.0) / 2.0,
                hh = H - PAD - y,
                lo = h.edges[i],
                hi = h.edges[i + 1],
            );
        }
    }
    if let (Some(lo), Some(hi)) = (h.edges.first(), h.edges.last()) {
        let _ = write!(
            svg,
            r##"<text x="{PAD}" y="{y}" font-size="11">{lo:.0}</text><text x="{x}" y="{y}" font-size="11" text-anchor="end">{hi:.0}</text>
<text x="{lx}" y="{ly}" fill="#2da44e" font-size="11">■ converted</text><text x="{lx}" y="{ly2}" fill="#8c959f" font-size="11">■ not converted</text>"##,
            y = H - PAD + 12.0,
            x = W - PAD,
            lx = W - PAD - 100.0,
            ly = PAD + 14.0,
            ly2 = PAD + 28.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn quality_tables(html: &mut String, q: &Quality) {
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
    html.push_str("</table><h3>Qualified stages against the outcome</h3><table><tr><th>stage</th><th>predicted</th><th>converted among them</th><th>precision</th><th>recall</th><th>F1</th></tr>");
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
    for (title, groups) in [
        ("grade", &q.grades),
        ("segment", &q.segments),
        ("route", &q.routes),
    ] {
        let _ = write!(
            html,
            "<h3>By {title}</h3><table><tr><th>{title}</th><th>leads</th><th>converted</th><th>rate</th></tr>"
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
        html.push_str("</table>");
    }
}

pub fn render(b: &Backtest) -> String {
    let mut html = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>leadwire backtest</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}
th{background:#f6f8fa}td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}
svg{font-size:12px;background:#fff;border:1px solid #d0d7de}</style></head><body>"#,
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
    html.push_str("</div><h2>Candidate</h2>");
    quality_tables(&mut html, &b.quality);
    if let Some(base) = &b.baseline {
        let _ = write!(
            html,
            "<h2>Against the baseline</h2><p>AUC difference (candidate − baseline): <b>{}</b></p><table><tr><th>change</th><th>leads</th><th>examples (line, id: baseline → candidate)</th></tr>",
            opt(base.auc_difference, |d| format!("{d:+.4}"))
        );
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
        html.push_str("</table><h2>Baseline</h2>");
        quality_tables(&mut html, &base.quality);
    }
    html.push_str("</body></html>\n");
    html
}
