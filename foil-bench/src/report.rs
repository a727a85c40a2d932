//! The results table and the JSON summary.

use serde::Serialize;

/// One line of the table: a measured value against its quality.md target.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Row {
    pub id: String,
    pub what: String,
    pub measured: String,
    pub target: String,
    /// `None` when the scale is too small to judge (or the value could not be measured).
    pub met: Option<bool>,
}

impl Row {
    pub(crate) fn new(
        id: &str,
        what: impl Into<String>,
        measured: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) -> Row {
        Row {
            id: id.into(),
            what: what.into(),
            measured: measured.into(),
            target: target.into(),
            met,
        }
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "n/a",
    }
}

/// The table, as Markdown (readable on a terminal, pasteable into BENCHMARKS.md).
pub(crate) fn table(rows: &[Row]) -> String {
    let headers = ["id", "what", "measured", "target", "verdict"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.what.clone(),
                r.measured.clone(),
                r.target.clone(),
                verdict(r.met).to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(widths) {
            s.push(' ');
            s.push_str(c);
            s.push_str(&" ".repeat(w - c.chars().count()));
            s.push_str(" |");
        }
        s.push('\n');
        s
    };
    let mut out = line(headers);
    out.push('|');
    for w in widths {
        out.push_str(&"-".repeat(w + 2));
        out.push('|');
    }
    out.push('\n');
    for row in &cells {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

/// Formats milliseconds compactly.
pub(crate) fn ms(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.0} ms")
    }
}

/// p50 / p95 / p99 in milliseconds.
pub(crate) fn pcts(p50: f64, p95: f64, p99: f64) -> String {
    format!("p50 {} / p95 {} / p99 {}", ms(p50), ms(p95), ms(p99))
}
