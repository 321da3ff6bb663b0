//! Horizontal bar charts as hand-written inline SVG (no chart crate: the
//! app's wasm must stay small). One bar per row with its label and value as
//! text, so the chart reads without colour; `role="img"` with a label names
//! it for screen readers, and the page always shows the same figures in a
//! table next to it.

use leptos::prelude::*;

/// One bar: a share from 0 to 1 (`None`: no data) and the text after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub share: Option<f64>,
    /// Shown after the bar, e.g. «45 % (9 из 20)».
    pub value: String,
}

const WIDTH: f64 = 760.0;
const LABEL_END: f64 = 250.0;
const BAR_START: f64 = 260.0;
const BAR_WIDTH: f64 = 330.0;
const ROW: f64 = 32.0;
const TOP: f64 = 22.0;
/// Longer labels are cut (the full one is the bar's tooltip).
const LABEL_CHARS: usize = 32;

/// A bar chart of shares, 0–100 %.
#[component]
pub fn BarChart(
    /// What the chart shows, for screen readers.
    label: String,
    bars: Vec<Bar>,
) -> impl IntoView {
    let height = TOP + ROW * bars.len() as f64 + 4.0;
    let grid = [0.0, 0.25, 0.5, 0.75, 1.0]
        .into_iter()
        .map(|at| {
            let x = BAR_START + BAR_WIDTH * at;
            view! {
                <line class="chart-grid" x1=x x2=x y1=TOP - 4.0 y2=height - 2.0 />
                <text class="chart-axis" x=x y=TOP - 8.0 text-anchor="middle">{format!("{} %", (at * 100.0) as u32)}</text>
            }
        })
        .collect_view();
    let rows = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| {
            let y = TOP + ROW * i as f64;
            let middle = y + ROW / 2.0;
            let short = if bar.label.chars().count() > LABEL_CHARS {
                format!("{}…", bar.label.chars().take(LABEL_CHARS - 1).collect::<String>())
            } else {
                bar.label.clone()
            };
            let width = bar.share.map_or(0.0, |s| BAR_WIDTH * s.clamp(0.0, 1.0));
            let value_x = BAR_START + width.max(0.0) + 6.0;
            view! {
                <g class="chart-row">
                    <title>{format!("{}: {}", bar.label, bar.value)}</title>
                    <text class="chart-label" x=LABEL_END y=middle text-anchor="end" dominant-baseline="middle">{short}</text>
                    <rect class="chart-track" x=BAR_START y=y + 6.0 width=BAR_WIDTH height=ROW - 12.0 />
                    <rect class="chart-bar" class:chart-none=bar.share.is_none() x=BAR_START y=y + 6.0 width=width height=ROW - 12.0 />
                    <text class="chart-value" x=value_x y=middle dominant-baseline="middle">{bar.value}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" role="img" aria-label=label viewBox=format!("0 0 {WIDTH} {height}")
            preserveAspectRatio="xMinYMin meet">
            {grid}
            {rows}
        </svg>
    }
}
