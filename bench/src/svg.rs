//! Plain SVG bar charts (no plotting crate): one file per measurement with
//! at least two contenders — the median as a bar, the min–max spread as a
//! whisker — written to `bench/plots/<group>-<n>.svg` by `report`.

use crate::harness::fmt;
use crate::results::{Measurement, RunFile};
use std::{
    fmt::Write as _,
    io,
    path::{Path, PathBuf},
};

const W: f64 = 640.0;
const ROW: f64 = 26.0;
const LEFT: f64 = 250.0;
const RIGHT: f64 = 90.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One horizontal bar chart for `m`.
pub fn chart(m: &Measurement) -> String {
    let top = 44.0;
    let h = top + ROW * m.entries.len() as f64 + 16.0;
    let max = m
        .entries
        .iter()
        .map(|e| e.max)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let scale = (W - LEFT - RIGHT) / max;
    let dir = if m.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r##"<text x="8" y="18" font-weight="bold">{}</text><text x="8" y="34" fill="#555">{} ({dir}); bar: median, whisker: min–max</text>"##,
        esc(&m.name),
        esc(&m.unit)
    );
    for (i, e) in m.entries.iter().enumerate() {
        let y = top + ROW * i as f64;
        let color = if e.contender.starts_with("coring") {
            "#d9534f"
        } else {
            "#5b7fbf"
        };
        let bar = if e.median.is_finite() {
            e.median * scale
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LEFT}" y="{}" width="{bar:.1}" height="{}" fill="{color}"/>"##,
            LEFT - 6.0,
            y + 15.0,
            esc(&e.contender),
            y + 4.0,
            ROW - 8.0
        );
        if e.min.is_finite() && e.max.is_finite() {
            let (a, b, c) = (LEFT + e.min * scale, LEFT + e.max * scale, y + ROW / 2.0);
            let _ = writeln!(
                s,
                r#"<path d="M{a:.1} {c:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}" stroke="black" fill="none"/>"#,
                c - 5.0,
                c + 5.0,
                c - 5.0,
                c + 5.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}">{}</text>"#,
            LEFT + e.max.max(e.median).max(0.0) * scale + 6.0,
            y + 15.0,
            fmt(e.median)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Writes a chart per measurement (two or more contenders); returns the
/// paths, `<dir>/<group>-<index>.svg`.
pub fn write_plots(run: &RunFile, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for g in &run.groups {
        for (i, m) in g.measurements.iter().enumerate() {
            if m.entries.len() < 2 {
                continue;
            }
            let p = dir.join(format!("{}-{i:02}.svg", g.name));
            std::fs::write(&p, chart(m))?;
            out.push(p);
        }
    }
    Ok(out)
}
