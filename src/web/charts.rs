//! Small charts drawn on the server as inline SVG: readable without
//! JavaScript, scaled by the browser, described for screen readers (a
//! `<title>`, and the page shows the same figures as a table). Only
//! numbers and escaped labels go into the markup.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Room for the axis labels.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;

/// One line of a line chart: its name (in the legend) and CSS class.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// The largest value shown: the first round number (1, 1.5, 2, 2.5, 4, 5,
/// 6 or 8 times a power of ten) at or above `max`, so the top and middle
/// rules read well.
fn ceiling(max: i64) -> i64 {
    if max <= 4 {
        return 4;
    }
    let magnitude = 10f64.powi((max as f64).log10().floor() as i32);
    [1.0, 1.5, 2.0, 2.5, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| (m * magnitude).round() as i64)
        .find(|top| *top >= max && top % 2 == 0)
        .unwrap_or(max + max % 2)
}

fn x_of(i: usize, n: usize) -> f64 {
    let plot = WIDTH - LEFT - 8.0;
    if n <= 1 {
        LEFT + plot / 2.0
    } else {
        LEFT + plot * i as f64 / (n - 1) as f64
    }
}

fn y_of(value: i64, top: i64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    TOP + plot - plot * value as f64 / top as f64
}

/// The chart's opening: its title, horizontal rules at 0, half and `top`
/// with their values, and the first and last day under the axis.
fn start(title: &str, labels: &[String], top: i64, room: usize) -> String {
    let mut svg = String::with_capacity(2048 + room);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="none" focusable="false"><title>{}</title>"#,
        escape(title)
    );
    for value in [0, top / 2, top] {
        let y = y_of(value, top);
        let _ = write!(
            svg,
            r#"<line class="rule" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{value}</text>"#,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let (first, last) = (labels.first(), labels.last());
    let baseline = HEIGHT - 6.0;
    let _ = write!(
        svg,
        r#"<text class="axis" x="{LEFT}" y="{baseline}">{}</text><text class="axis" x="{}" y="{baseline}" text-anchor="end">{}</text>"#,
        escape(first.map_or("", String::as_str)),
        WIDTH - 8.0,
        escape(last.map_or("", String::as_str))
    );
    svg
}

/// Lines over days: `labels` name the days (first and last are shown).
pub fn lines(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let n = labels.len();
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let top = ceiling(max);
    let mut svg = start(title, labels, top, n * 40 * series.len());
    for line in series {
        let points: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i, n), y_of(*v, top)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="{}" fill="none" points="{}"><title>{}</title></polyline>"#,
            escape(line.class),
            points.join(" "),
            escape(line.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Bars over days.
pub fn bars(title: &str, labels: &[String], values: &[i64], class: &str) -> String {
    let n = labels.len().max(1);
    let top = ceiling(values.iter().copied().max().unwrap_or(0));
    let slot = (WIDTH - LEFT - 8.0) / n as f64;
    let mut svg = start(title, labels, top, n * 120);
    for (i, (label, value)) in labels.iter().zip(values).enumerate() {
        let y = y_of(*value, top);
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}: {value}</title></rect>"#,
            escape(class),
            LEFT + slot * i as f64 + slot * 0.15,
            (slot * 0.7).max(1.0),
            HEIGHT - BOTTOM - y,
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_of_the_scale_is_a_round_number_above_the_largest_value() {
        assert_eq!(ceiling(0), 4);
        assert_eq!(ceiling(5), 6);
        assert_eq!(ceiling(7), 8);
        assert_eq!(ceiling(143), 150);
        assert_eq!(ceiling(880), 1000);
        assert_eq!(ceiling(12_345), 15_000);
    }

    #[test]
    fn charts_hold_one_point_per_day_and_escape_their_words() {
        let labels: Vec<String> = ["2026-12-01", "2026-12-02", "2026-12-03"]
            .map(String::from)
            .to_vec();
        let svg = lines(
            "Members <all>",
            &labels,
            &[Series {
                name: "Paid & free",
                class: "total",
                values: vec![1, 2, 3],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Members &lt;all&gt;</title>"));
        assert!(svg.contains("Paid &amp; free"));
        let points = svg.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), 3);
        let bars = bars("Sign-ups", &labels, &[0, 4, 1], "signups");
        assert_eq!(bars.matches("<rect").count(), 3);
        let single = lines(
            "One day",
            &labels[..1],
            &[Series {
                name: "x",
                class: "x",
                values: vec![9],
            }],
        );
        assert!(single.contains("points=\""), "one day still draws");
    }
}
