//! Confusion-matrix heat map: rows = true class (first class on top), columns = predicted class,
//! colour = row-normalised value, text = counts or row percentages.

use eframe::egui::{self, Align2, Color32, FontId, Rect, Sense, Vec2, pos2, vec2};

use crate::eval::ConfusionMatrix;

/// Blue ramp from white (0) to dark blue (1).
pub(super) fn ramp(v: f64) -> Color32 {
    let v = v.clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * v) as u8;
    Color32::from_rgb(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// Draws the heat map; `normalised` switches the cell text to row percentages; cells are at most
/// `max_cell` points wide.
pub fn confusion_ui(
    ui: &mut egui::Ui,
    classes: &[String],
    m: &ConfusionMatrix,
    normalised: bool,
    max_cell: f32,
) -> egui::Response {
    let n = m.n_classes.max(1);
    let norm = m.row_normalised();
    let cells: Vec<Vec<(f64, String)>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let v = norm.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0);
                    let count = m.counts.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0);
                    let txt = if normalised {
                        format!("{:.0}%", v * 100.0)
                    } else {
                        count.to_string()
                    };
                    (v, txt)
                })
                .collect()
        })
        .collect();
    heat_grid(
        ui,
        classes,
        &cells,
        max_cell,
        "rows = true class, columns = predicted class",
        "Confusion matrix",
    )
}

/// A square heat map: `cells[i][j]` = (colour value in [0, 1], text); row and column names are
/// `names`; `footer` under it; `title` names it for screen readers.
pub fn heat_grid(
    ui: &mut egui::Ui,
    names: &[String],
    cells: &[Vec<(f64, String)>],
    max_cell: f32,
    footer: &str,
    title: &str,
) -> egui::Response {
    let n = cells.len().max(1);
    let label_w = 90.0;
    let header_h = 70.0;
    let cell = ((ui.available_width() - label_w - 20.0) / n as f32).clamp(24.0, max_cell.max(24.0));
    let size = vec2(label_w + cell * n as f32, header_h + cell * n as f32 + 18.0);
    let (response, painter) = ui.allocate_painter(size, Sense::hover());
    let origin = response.rect.min;
    let font = FontId::proportional(12.0);
    let text_color = ui.visuals().text_color();
    for (j, c) in names.iter().enumerate().take(n) {
        // Column headers, rotated text is not available: write the name above, clipped.
        let x = origin.x + label_w + cell * (j as f32 + 0.5);
        painter.text(
            pos2(x, origin.y + header_h - 4.0 - (j % 2) as f32 * 14.0),
            Align2::CENTER_BOTTOM,
            c,
            font.clone(),
            text_color,
        );
    }
    for (i, row) in cells.iter().enumerate() {
        let y = origin.y + header_h + cell * i as f32;
        if let Some(c) = names.get(i) {
            painter.text(
                pos2(origin.x + label_w - 6.0, y + cell / 2.0),
                Align2::RIGHT_CENTER,
                c,
                font.clone(),
                text_color,
            );
        }
        for (j, (v, txt)) in row.iter().enumerate() {
            let rect = Rect::from_min_size(
                pos2(origin.x + label_w + cell * j as f32, y),
                Vec2::splat(cell),
            );
            painter.rect_filled(rect.shrink(1.0), 2.0, ramp(*v));
            let fg = if *v > 0.5 {
                Color32::WHITE
            } else {
                Color32::BLACK
            };
            painter.text(rect.center(), Align2::CENTER_CENTER, txt, font.clone(), fg);
        }
    }
    painter.text(
        pos2(
            origin.x + label_w,
            origin.y + header_h + cell * n as f32 + 4.0,
        ),
        Align2::LEFT_TOP,
        footer,
        FontId::proportional(11.0),
        ui.visuals().weak_text_color(),
    );
    let title = title.to_string();
    response.widget_info(move || egui::WidgetInfo::labeled(egui::Role::Image, true, &title));
    response
}
