//! The board's charts: small bar charts drawn server-side as inline SVG (no script, no style
//! attribute: presentation attributes only, which the content security policy allows), each
//! with a title and a text description of every bar for screen readers.

use deploybot_core::board::utc_text;
use deploybot_core::delivery_metrics::Week;
use maud::{Markup, html};

const WIDTH: u32 = 360;
const HEIGHT: u32 = 150;
const PLOT_TOP: u32 = 12;
const PLOT_BOTTOM: u32 = 124;

/// One chart: a value (or a gap) per week, in `unit`.
pub fn bar_chart(
    id: &str,
    title: &str,
    unit: &str,
    weeks: &[Week],
    value: fn(&Week) -> Option<f64>,
) -> Markup {
    let values: Vec<Option<f64>> = weeks.iter().map(value).collect();
    let max = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let slots = u32::try_from(weeks.len().max(1)).unwrap_or(1);
    let slot = WIDTH / slots;
    let bar = slot.saturating_sub(4).max(1);
    let height = f64::from(PLOT_BOTTOM - PLOT_TOP);
    let describe = weeks
        .iter()
        .zip(&values)
        .map(|(week, v)| {
            let day = utc_text(week.start);
            let day = day.get(..10).unwrap_or(&day).to_owned();
            match v {
                Some(v) => format!("week of {day}: {} {unit}", format_value(*v)),
                None => format!("week of {day}: none"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let latest = values.iter().rev().flatten().next().copied();
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
                role="img" aria-labelledby=(format!("{id}-t {id}-d")) {
                title id=(format!("{id}-t")) { (title) }
                desc id=(format!("{id}-d")) { (describe) }
                line x1="0" y1=(PLOT_BOTTOM) x2=(WIDTH) y2=(PLOT_BOTTOM) stroke="#57606a" stroke-width="1" {}
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        @let h = if max > 0.0 { (v / max * height).round().max(1.0) } else { 1.0 };
                        @let x = u32::try_from(i).unwrap_or(0) * slot + 2;
                        rect x=(x) y=(format!("{:.0}", f64::from(PLOT_BOTTOM) - h)) width=(bar)
                            height=(format!("{h:.0}")) fill="#0550ae" {}
                    }
                }
                text x="0" y=(HEIGHT - 6) font-size="11" fill="#57606a" { (weeks.first().map(|w| utc_text(w.start)).unwrap_or_default().get(..10).unwrap_or("")) }
                text x=(WIDTH) y=(HEIGHT - 6) font-size="11" fill="#57606a" text-anchor="end" { "this week" }
            }
            figcaption {
                strong { (title) }
                @match latest {
                    Some(v) => { " — latest: " (format_value(v)) " " (unit_for(v, unit)) }
                    None => { " — no data yet" }
                }
            }
        }
    }
}

/// The four charts of a set of weeks (a repository's or the organisation's).
pub fn delivery_charts(prefix: &str, weeks: &[Week]) -> Markup {
    html! {
        div.charts {
            (bar_chart(&format!("{prefix}-deploys"), "Production deployments per week", "deployments", weeks,
                |w| Some(f64::from(w.deployments))))
            (bar_chart(&format!("{prefix}-lead"), "Lead time to production (median)", "hours", weeks,
                |w| w.lead_time_secs.map(hours)))
            (bar_chart(&format!("{prefix}-cfr"), "Change failure rate", "%", weeks,
                |w| w.failure_rate_percent().map(f64::from)))
            (bar_chart(&format!("{prefix}-restore"), "Time to restore (median)", "hours", weeks,
                |w| w.restore_secs.map(hours)))
        }
    }
}

/// `deployments` → `deployment` for one.
fn unit_for(v: f64, unit: &str) -> &str {
    if (v - 1.0).abs() < f64::EPSILON {
        unit.strip_suffix('s').unwrap_or(unit)
    } else {
        unit
    }
}

#[allow(clippy::cast_precision_loss)]
fn hours(secs: i64) -> f64 {
    secs as f64 / 3600.0
}

fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
