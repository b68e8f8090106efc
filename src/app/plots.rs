//! Widgets and images shared by several panels: per-fold colours and curves, learned layer
//! weights, the per-fold score table and log-mel spectrogram images.

use eframe::egui;
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints};

use super::run_view::TrainingView;
use crate::eval::ClassificationReport;
use crate::eval::metrics::{UA_FORMULA, WA_FORMULA, mean_std};
use crate::train::EpochMetrics;

/// One line per fold of a per-epoch value (epochs where `value` is `None` are skipped).
pub fn fold_lines(
    p: &mut egui_plot::PlotUi,
    metrics: &[EpochMetrics],
    n_folds: usize,
    what: &str,
    value: impl Fn(&EpochMetrics) -> Option<f64>,
) {
    for fold in 0..n_folds {
        let pts: Vec<[f64; 2]> = metrics
            .iter()
            .filter(|m| m.fold == fold)
            .filter_map(|m| value(m).map(|v| [m.epoch as f64, v]))
            .collect();
        p.line(
            Line::new(format!("fold {} {what}", fold + 1), PlotPoints::from(pts))
                .color(fold_color(fold)),
        );
    }
}

/// The outcome of a panel's last action: the message, or the error in the error colour.
pub fn outcome_ui(ui: &mut egui::Ui, outcome: &Option<Result<String, String>>) {
    match outcome {
        Some(Ok(m)) => {
            ui.label(m);
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
}

/// Bar chart of SSL layer weights (layer 0 … N).
pub fn layer_weights_ui(ui: &mut egui::Ui, weights: Option<&Vec<f32>>, title: &str) {
    layer_weights_from(
        ui,
        weights,
        title,
        0,
        "hidden state (0 = before the transformer)",
    );
}

/// Bar chart of layer weights whose first entry is layer `first`.
pub fn layer_weights_from(
    ui: &mut egui::Ui,
    weights: Option<&Vec<f32>>,
    title: &str,
    first: usize,
    axis: &str,
) {
    let Some(w) = weights else { return };
    ui.label(egui::RichText::new(title).strong());
    let bars: Vec<Bar> = w
        .iter()
        .enumerate()
        .map(|(i, v)| Bar::new((i + first) as f64, *v as f64).name(format!("layer {}", i + first)))
        .collect();
    Plot::new(title)
        .allow_scroll(false)
        .height(140.0)
        .include_y(0.0)
        .x_axis_label(axis)
        .show(ui, |p| {
            p.bar_chart(BarChart::new("layer weight", bars));
        });
}

/// A distinct colour per fold.
pub fn fold_color(fold: usize) -> egui::Color32 {
    const C: [egui::Color32; 10] = [
        egui::Color32::from_rgb(31, 119, 180),
        egui::Color32::from_rgb(255, 127, 14),
        egui::Color32::from_rgb(44, 160, 44),
        egui::Color32::from_rgb(214, 39, 40),
        egui::Color32::from_rgb(148, 103, 189),
        egui::Color32::from_rgb(140, 86, 75),
        egui::Color32::from_rgb(227, 119, 194),
        egui::Color32::from_rgb(127, 127, 127),
        egui::Color32::from_rgb(188, 189, 34),
        egui::Color32::from_rgb(23, 190, 207),
    ];
    C[fold % C.len()]
}

/// Per-fold test scores with mean ± std over folds.
pub fn fold_table_ui(ui: &mut egui::Ui, id: &str, v: &TrainingView) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for (h, tip) in [
            ("fold", ""),
            ("n", ""),
            ("WA", WA_FORMULA),
            ("UA", UA_FORMULA),
            ("macro-F1", crate::eval::metrics::MACRO_SCOPE),
        ] {
            let l = ui.label(egui::RichText::new(h).strong());
            if !tip.is_empty() {
                l.on_hover_text(tip);
            }
        }
        ui.end_row();
        for (f, r) in &v.fold_reports {
            ui.label(v.folds.get(*f).cloned().unwrap_or_default());
            ui.label(r.n.to_string());
            ui.label(format!("{:.3}", r.wa));
            ui.label(format!("{:.3}", r.ua));
            ui.label(format!("{:.3}", r.macro_f1));
            ui.end_row();
        }
        if v.fold_reports.len() > 1 {
            let ms = |f: fn(&ClassificationReport) -> f64| {
                let (m, s) =
                    mean_std(&v.fold_reports.iter().map(|(_, r)| f(r)).collect::<Vec<_>>());
                format!("{m:.3} ± {s:.3}")
            };
            ui.label(egui::RichText::new("mean ± std").strong());
            ui.label("");
            ui.label(ms(|r| r.wa));
            ui.label(ms(|r| r.ua));
            ui.label(ms(|r| r.macro_f1));
            ui.end_row();
        }
    });
}

/// Log-mel image (64 bands, 25/10 ms) of an audio file, low frequencies at the bottom. Slow
/// (decoding and an STFT): run it on a background job, never inside `ui()`. A file that does not
/// decode, is empty or gives non-finite values is an error naming it.
pub fn spectrogram_image(path: &str) -> Result<egui::ColorImage, String> {
    let x = crate::audio::load_mono_16k(std::path::Path::new(path)).map_err(|e| e.to_string())?;
    if x.is_empty() {
        return Err(format!("{path}: no audio samples, no spectrogram"));
    }
    let m = crate::features::mel::log_mel(&x, &crate::features::LogMelConfig::short_window(64));
    if m.n_frames == 0 || m.n_bins == 0 {
        return Err(format!("{path}: too short for a spectrogram frame"));
    }
    if let Some(v) = m.data.iter().find(|v| !v.is_finite()) {
        return Err(format!(
            "{path}: the spectrogram holds a non-finite value ({v})"
        ));
    }
    let (w, h) = (m.n_frames, m.n_bins);
    let max = m.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = max - 80.0;
    let mut img = egui::ColorImage::new([w, h], vec![egui::Color32::BLACK; w * h]);
    for t in 0..m.n_frames {
        for b in 0..m.n_bins {
            let v = ((m.data[t * h + b] - min) / 80.0).clamp(0.0, 1.0);
            let c = egui::Color32::from_rgb(
                (255.0 * v.powf(0.8)) as u8,
                (200.0 * v * v) as u8,
                (120.0 * (1.0 - v) * v * 4.0).min(255.0) as u8,
            );
            img.pixels[(h - 1 - b) * w + t] = c;
        }
    }
    Ok(img)
}
