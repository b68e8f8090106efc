//! Layer-weight profiles of several runs side by side (e.g. HuBERT-base arousal vs valence, the
//! distilled audio-textual paper's figure 2): read from the runs' `report.json`, written as CSV
//! and as an SVG line chart.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::run_dir::read_report;

/// One profile: the softmax weights over hidden states 0 … N of one run (and dimension).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// `<run folder name>` or `<run folder name>: <dimension>`.
    pub label: String,
    /// Weight per hidden state.
    pub weights: Vec<f32>,
}

/// The profiles of `runs`: per dimension for runs with per-dimension weights, else the run's
/// (fold-mean) layer weights. A run without learned layer weights is an error naming it.
pub fn profiles(runs: &[PathBuf]) -> Result<Vec<Profile>, String> {
    let mut out = Vec::new();
    for dir in runs {
        let r = read_report(dir)?;
        let name = dir.file_name().map_or(dir.display().to_string(), |n| {
            n.to_string_lossy().to_string()
        });
        match (
            r.dimensional
                .as_ref()
                .and_then(|d| d.layer_weights.as_ref().map(|w| (d, w))),
            &r.layer_weights,
        ) {
            (Some((d, w)), _) => {
                for (dim, row) in d.dimensions.iter().zip(w) {
                    out.push(Profile {
                        label: format!("{name}: {dim}"),
                        weights: row.clone(),
                    });
                }
            }
            (None, Some(w)) => out.push(Profile {
                label: name,
                weights: w.clone(),
            }),
            (None, None) => {
                return Err(format!(
                    "{}: the run's model learned no layer weights (use a layer-weighted SSL preset)",
                    dir.display()
                ));
            }
        }
    }
    Ok(out)
}

/// CSV: `layer,<label>,…`, one row per hidden state (empty where a profile is shorter).
pub fn to_csv(profiles: &[Profile]) -> String {
    let n = profiles.iter().map(|p| p.weights.len()).max().unwrap_or(0);
    let quote = |s: &str| {
        if s.contains([',', '"']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut s = String::from("layer");
    for p in profiles {
        s.push(',');
        s.push_str(&quote(&p.label));
    }
    s.push('\n');
    for l in 0..n {
        s.push_str(&l.to_string());
        for p in profiles {
            s.push(',');
            if let Some(v) = p.weights.get(l) {
                s.push_str(&format!("{v:.6}"));
            }
        }
        s.push('\n');
    }
    s
}

/// An SVG line chart of the profiles (x = hidden state, y = weight) with a legend.
pub fn to_svg(profiles: &[Profile]) -> String {
    const COLORS: [&str; 8] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    ];
    let (w, h, left, right, top, bottom) = (640.0, 360.0, 56.0, 200.0, 20.0, 44.0);
    let n = profiles
        .iter()
        .map(|p| p.weights.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let ymax = profiles
        .iter()
        .flat_map(|p| p.weights.iter().copied())
        .fold(0.0f32, f32::max)
        .max(1e-6) as f64
        * 1.1;
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x = |l: usize| left + pw * l as f64 / (n - 1) as f64;
    let y = |v: f64| top + ph * (1.0 - v / ymax);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    // Axes, ticks and labels.
    let _ = writeln!(
        s,
        r#"<path d="M{left} {top} V{} H{}" stroke="black" fill="none"/>"#,
        top + ph,
        left + pw
    );
    for l in 0..n {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{l}</text>"#,
            x(l),
            top + ph + 14.0
        );
    }
    for k in 0..=4 {
        let v = ymax * k as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.3}</text><path d="M{left} {:.1} H{}" stroke="#ddd"/>"##,
            left - 4.0,
            y(v) + 4.0,
            y(v),
            left + pw
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">hidden state (0 = before the transformer)</text>"#,
        left + pw / 2.0,
        h - 8.0
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">layer weight</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    for (i, p) in profiles.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = p
            .weights
            .iter()
            .enumerate()
            .map(|(l, v)| format!("{:.1},{:.1}", x(l), y(*v as f64)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" stroke="{c}" stroke-width="2" fill="none"/>"#,
            pts.join(" ")
        );
        let ly = top + 14.0 * i as f64 + 6.0;
        let esc = p
            .label
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let _ = writeln!(
            s,
            r#"<path d="M{:.1} {ly:.1} h16" stroke="{c}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{esc}</text>"#,
            left + pw + 10.0,
            left + pw + 30.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Writes `<stem>.csv` and `<stem>.svg` atomically; returns both paths.
pub fn export(profiles: &[Profile], stem: &Path) -> Result<(PathBuf, PathBuf), String> {
    let csv = stem.with_extension("csv");
    let svg = stem.with_extension("svg");
    crate::fsutil::write_text_atomic(&csv, &to_csv(profiles))
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    crate::fsutil::write_text_atomic(&svg, &to_svg(profiles))
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    Ok((csv, svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_svg_hold_every_profile() {
        let p = vec![
            Profile {
                label: "run: arousal".into(),
                weights: vec![0.5, 0.3, 0.2],
            },
            Profile {
                label: "run: valence".into(),
                weights: vec![0.1, 0.2, 0.7],
            },
        ];
        let csv = to_csv(&p);
        assert_eq!(
            csv,
            "layer,run: arousal,run: valence\n0,0.500000,0.100000\n1,0.300000,0.200000\n2,0.200000,0.700000\n"
        );
        let svg = to_svg(&p);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("run: valence") && svg.ends_with("</svg>\n"));
    }
}
