//! The live view of a dimensional run: the valence–arousal plane with the current (smoothed)
//! point and its trail, a bar for dominance (and any further dimension), and the dimensions over
//! time.

use eframe::egui;
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, Points};

use crate::live::LiveFrame;

/// Seconds of trail behind the current point.
const TRAIL_SECS: f64 = 8.0;

/// Index of a dimension by name (any case), else `fallback` when it exists.
fn index_of(dims: &[String], name: &str, fallback: usize) -> Option<usize> {
    dims.iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .or((fallback < dims.len()).then_some(fallback))
}

/// Which dimensions span the plane: (x = valence, y = arousal), by name where the run has them.
pub fn plane_axes(dims: &[String]) -> Option<(usize, usize)> {
    let y = index_of(dims, "arousal", 0)?;
    let x = index_of(dims, "valence", if y == 1 { 0 } else { 1 })?;
    (x != y).then_some((x, y))
}

/// Draws the valence–arousal plane, the other dimensions as bars, and a timeline.
pub fn va_ui(ui: &mut egui::Ui, dims: &[String], frames: &[LiveFrame]) {
    let voiced: Vec<&LiveFrame> = frames.iter().filter(|f| !f.silent).collect();
    let Some(last) = voiced.last() else {
        ui.label("Waiting for speech…");
        return;
    };
    let t_end = last.end_secs;
    ui.horizontal(|ui| {
        if let Some((x, y)) = plane_axes(dims) {
            ui.vertical(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "{} (x axis) and {} (y axis), smoothed",
                        dims[x], dims[y]
                    ))
                    .strong(),
                );
                Plot::new("live_va_plane")
                    .width(320.0)
                    .height(320.0)
                    .data_aspect(1.0)
                    .allow_scroll(false)
                    .allow_drag(false)
                    .include_x(0.0)
                    .include_x(1.0)
                    .include_y(0.0)
                    .include_y(1.0)
                    .x_axis_label(dims[x].clone())
                    .y_axis_label(dims[y].clone())
                    .show(ui, |p| {
                        // Quadrant guides at the scale's centre.
                        p.line(
                            Line::new("", PlotPoints::from(vec![[0.5, 0.0], [0.5, 1.0]]))
                                .color(egui::Color32::GRAY),
                        );
                        p.line(
                            Line::new("", PlotPoints::from(vec![[0.0, 0.5], [1.0, 0.5]]))
                                .color(egui::Color32::GRAY),
                        );
                        let trail: Vec<[f64; 2]> = voiced
                            .iter()
                            .filter(|f| f.end_secs >= t_end - TRAIL_SECS)
                            .filter_map(|f| {
                                Some([*f.smoothed.get(x)? as f64, *f.smoothed.get(y)? as f64])
                            })
                            .collect();
                        p.line(
                            Line::new("trail", PlotPoints::from(trail))
                                .color(egui::Color32::from_rgb(120, 160, 220)),
                        );
                        if let (Some(vx), Some(vy)) = (last.smoothed.get(x), last.smoothed.get(y)) {
                            p.points(
                                Points::new(
                                    "now",
                                    PlotPoints::from(vec![[*vx as f64, *vy as f64]]),
                                )
                                .radius(8.0)
                                .color(egui::Color32::from_rgb(214, 39, 40)),
                            );
                        }
                    });
            });
        }
        ui.vertical(|ui| {
            egui::Grid::new("live_dims").show(ui, |ui| {
                for (k, d) in dims.iter().enumerate() {
                    let v = last.smoothed.get(k).copied().unwrap_or(0.0);
                    ui.label(d);
                    ui.add(
                        egui::ProgressBar::new(v.clamp(0.0, 1.0))
                            .desired_width(220.0)
                            .text(format!("{v:.2}"))
                            .fill(super::plots::fold_color(k)),
                    );
                    ui.end_row();
                }
            });
            ui.label(
                egui::RichText::new("0 = lowest, 1 = highest on the run's target scale").small(),
            );
        });
    });
    ui.label(egui::RichText::new("Dimensions over time (smoothed)").strong());
    Plot::new("live_dims_timeline")
        .allow_scroll(false)
        .height(160.0)
        .legend(Legend::default().position(Corner::LeftTop))
        .include_y(0.0)
        .include_y(1.0)
        .include_x((t_end - 30.0).max(0.0))
        .include_x(t_end)
        .x_axis_label("seconds")
        .show(ui, |p| {
            for (k, d) in dims.iter().enumerate() {
                let pts: Vec<[f64; 2]> = voiced
                    .iter()
                    .filter(|f| f.end_secs >= t_end - 30.0)
                    .filter_map(|f| Some([f.end_secs, *f.smoothed.get(k)? as f64]))
                    .collect();
                p.line(
                    Line::new(d.clone(), PlotPoints::from(pts)).color(super::plots::fold_color(k)),
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::plane_axes;

    #[test]
    fn plane_uses_named_dimensions_or_the_first_two() {
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            plane_axes(&d(&["arousal", "valence", "dominance"])),
            Some((1, 0))
        );
        assert_eq!(
            plane_axes(&d(&["dominance", "Valence", "Arousal"])),
            Some((1, 2))
        );
        assert_eq!(plane_axes(&d(&["liking", "energy"])), Some((1, 0)));
        assert_eq!(plane_axes(&d(&["only"])), None);
    }
}
