//! The block editor: every field of the selected preset (feature stream, model blocks, head,
//! optimiser, schedule, training, adaptation…) editable in place with its unit and valid range;
//! a value the range, the schema or the model's own checks refuse is shown in red with the
//! reason and not taken. Optional blocks switch on and off, enumerations offer all their
//! variants. Beside the fields: the parameter count and each block's input → output shape,
//! computed by building the model on a helper thread; the diff against the preset the draft
//! came from; Revert; "Save as preset…" (atomic, into the user's presets folder, never over a
//! shipped preset); and "Train with this preset".

use std::collections::HashMap;
use std::sync::mpsc;

use eframe::egui;
use serde_json::Value;

use super::AppCommand;
use crate::model::summary::ModelSummary;
use crate::train::Preset;
use crate::train::preset_edit::{Draft, Key, hint, path_text, variants_at};

/// An edit asked for in this frame (applied after drawing).
#[derive(Clone, Debug)]
enum Edit {
    Set(Vec<Key>, Value, String),
    On(Vec<Key>),
    Off(Vec<Key>),
    Variant(Vec<Key>, String),
}

/// State of the block editor.
#[derive(Default)]
pub struct EditorPanel {
    /// The preset being edited (None until a preset is selected).
    pub draft: Option<Draft>,
    /// Text typed into fields, by dotted path (kept while it is not a valid value).
    pub typed: HashMap<String, String>,
    /// Why the last edit of a field was refused, by dotted path.
    pub refused: HashMap<String, String>,
    /// Name for "Save as preset…".
    pub save_name: String,
    /// Outcome of the last save / train.
    pub message: Option<Result<String, String>>,
    /// The model summary and the preset it describes.
    pub summary: Option<(Preset, Result<ModelSummary, String>)>,
    pending_summary: Option<(Preset, mpsc::Receiver<Result<ModelSummary, String>>)>,
    optional: HashMap<String, bool>,
    variants: HashMap<String, Option<Vec<String>>>,
}

impl EditorPanel {
    /// Starts a draft of `p` (the previous draft is dropped).
    pub fn start(&mut self, p: Preset) {
        self.save_name = format!("{} (edited)", p.name);
        self.draft = Some(Draft::new(p));
        self.typed.clear();
        self.refused.clear();
        self.message = None;
    }

    /// Applies one edit; a refused one records the reason at the field.
    fn apply(&mut self, e: Edit) {
        let Some(d) = self.draft.as_mut() else { return };
        let (path, r) = match e {
            Edit::Set(path, v, typed) => {
                let key = path_text(&path);
                let r = d.set(&path, v);
                match &r {
                    Ok(()) => {
                        self.typed.remove(&key);
                    }
                    Err(_) => {
                        self.typed.insert(key, typed);
                    }
                }
                (path, r)
            }
            Edit::On(path) => {
                let r = d.switch_on(&path);
                (path, r)
            }
            Edit::Off(path) => {
                let r = d.switch_off(&path);
                (path, r)
            }
            Edit::Variant(path, v) => {
                let r = d.switch_variant(&path, &v);
                if r.is_ok() {
                    // The fields below changed shape.
                    self.typed.clear();
                }
                (path, r)
            }
        };
        let key = path_text(&path);
        match r {
            Ok(()) => {
                self.refused.remove(&key);
            }
            Err(e) => {
                self.refused.insert(key, e);
            }
        }
    }

    /// Edits a field given as dotted text, as the field itself would (for tests and scripts).
    pub fn edit_text(&mut self, path: &str, typed: &str) {
        let p = crate::train::preset_edit::parse_path(path);
        let current = self
            .draft
            .as_ref()
            .and_then(|d| crate::train::preset_edit::get(&d.value, &p).cloned())
            .unwrap_or(Value::Null);
        self.apply(Edit::Set(
            p,
            parse_typed(&current, typed),
            typed.to_string(),
        ));
    }

    /// Starts the summary of the draft on a helper thread when the draft changed.
    fn refresh_summary(&mut self, ctx: &egui::Context, n_classes: usize) {
        if let Some((p, rx)) = &self.pending_summary
            && let Ok(r) = rx.try_recv()
        {
            self.summary = Some((p.clone(), r));
            self.pending_summary = None;
        }
        let Some(d) = &self.draft else { return };
        let current = |p: &Preset| *p == d.preset;
        let done = self.summary.as_ref().is_some_and(|(p, _)| current(p));
        // One build at a time: a draft edited meanwhile starts the next when this one reports.
        if done || self.pending_summary.is_some() {
            return;
        }
        let p = d.preset.clone();
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let q = p.clone();
        let spawned = std::thread::Builder::new()
            .name("ser-model-summary".into())
            .spawn(move || {
                let r =
                    std::panic::catch_unwind(|| crate::model::summary::summarize(&q, n_classes))
                        .unwrap_or_else(|_| Err("building the model panicked".into()));
                let _ = tx.send(r);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.pending_summary = Some((p, rx)),
            Err(e) => self.summary = Some((p, Err(format!("cannot start a thread: {e}")))),
        }
    }

    fn is_optional(&mut self, d: &Draft, path: &[Key]) -> bool {
        *self
            .optional
            .entry(path_text(path))
            .or_insert_with(|| d.is_optional(path))
    }

    fn variants(&mut self, d: &Draft, path: &[Key]) -> Option<Vec<String>> {
        self.variants
            .entry(path_text(path))
            .or_insert_with(|| variants_at(&d.value, path))
            .clone()
    }

    /// One field or block.
    fn node_ui(
        &mut self,
        ui: &mut egui::Ui,
        d: &Draft,
        path: Vec<Key>,
        value: &Value,
        edits: &mut Vec<Edit>,
    ) {
        let key = path_text(&path);
        let name = match path.last() {
            Some(Key::Field(f)) => f.clone(),
            Some(Key::Index(i)) => format!("#{}", i + 1),
            None => String::new(),
        };
        let optional = !path.is_empty() && self.is_optional(d, &path);
        let refused = self.refused.get(&key).cloned();
        let show_refused = |ui: &mut egui::Ui| {
            if let Some(e) = &refused {
                ui.colored_label(ui.visuals().error_fg_color, format!("refused: {e}"));
            }
        };
        match value {
            Value::Null => {
                ui.horizontal(|ui| {
                    let mut on = false;
                    if ui
                        .checkbox(&mut on, format!("{name}: off"))
                        .on_hover_text(format!("{key}: switch this block on"))
                        .changed()
                    {
                        edits.push(Edit::On(path.clone()));
                    }
                    show_refused(ui);
                });
            }
            Value::Object(m) if m.len() == 1 && self.variants(d, &path).is_some() => {
                let variants = self.variants(d, &path).unwrap_or_default();
                let (variant, inner) = m.iter().next().expect("one entry");
                ui.horizontal(|ui| {
                    if optional {
                        off_switch(ui, &path, edits);
                    }
                    let l = ui.label(&name);
                    egui::ComboBox::from_id_salt(format!("variant {key}"))
                        .selected_text(variant)
                        .show_ui(ui, |ui| {
                            for v in &variants {
                                if ui.selectable_label(v == variant, v).clicked() && v != variant {
                                    edits.push(Edit::Variant(path.clone(), v.clone()));
                                }
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    show_refused(ui);
                });
                let mut inner_path = path.clone();
                inner_path.push(Key::Field(variant.clone()));
                ui.indent(format!("in {key}"), |ui| {
                    self.children_ui(ui, d, inner_path, inner, edits)
                });
            }
            Value::Object(_) => {
                let header = egui::CollapsingHeader::new(&name)
                    .id_salt(format!("block {key}"))
                    .default_open(path.len() <= 4);
                if optional {
                    ui.horizontal(|ui| {
                        let mut on = true;
                        if ui
                            .checkbox(&mut on, format!("{name}: on"))
                            .on_hover_text(format!("{key}: switch this block off"))
                            .changed()
                        {
                            edits.push(Edit::Off(path.clone()));
                        }
                        show_refused(ui);
                    });
                }
                header.show(ui, |ui| self.children_ui(ui, d, path.clone(), value, edits));
            }
            Value::Array(items) if items.iter().any(|x| x.is_object() || x.is_array()) => {
                egui::CollapsingHeader::new(format!("{name} ({} entries)", items.len()))
                    .id_salt(format!("list {key}"))
                    .show(ui, |ui| {
                        for (i, x) in items.iter().enumerate() {
                            let mut p = path.clone();
                            p.push(Key::Index(i));
                            self.node_ui(ui, d, p, x, edits);
                        }
                    });
            }
            Value::Bool(b) => {
                ui.horizontal(|ui| {
                    let mut on = *b;
                    if ui.checkbox(&mut on, &name).on_hover_text(&key).changed() {
                        edits.push(Edit::Set(path.clone(), Value::Bool(on), on.to_string()));
                    }
                    show_refused(ui);
                });
            }
            Value::String(s) if self.variants(d, &path).is_some() => {
                let variants = self.variants(d, &path).unwrap_or_default();
                ui.horizontal(|ui| {
                    let l = ui.label(&name);
                    egui::ComboBox::from_id_salt(format!("variant {key}"))
                        .selected_text(s)
                        .show_ui(ui, |ui| {
                            for v in &variants {
                                if ui.selectable_label(v == s, v).clicked() && v != s {
                                    edits.push(Edit::Variant(path.clone(), v.clone()));
                                }
                            }
                        })
                        .response
                        .labelled_by(l.id)
                        .on_hover_text(&key);
                    show_refused(ui);
                });
            }
            leaf => {
                let shown = leaf_text(leaf);
                let mut text = self.typed.get(&key).cloned().unwrap_or(shown.clone());
                let h = hint(&path);
                ui.horizontal(|ui| {
                    if optional {
                        off_switch(ui, &path, edits);
                    }
                    let l = ui.label(&name);
                    let width = if leaf.is_string() { 260.0 } else { 90.0 };
                    let mut te = egui::TextEdit::singleline(&mut text).desired_width(width);
                    if refused.is_some() && self.typed.contains_key(&key) {
                        te = te.text_color(ui.visuals().error_fg_color);
                    }
                    let r = ui.add(te).labelled_by(l.id);
                    let mut help = key.clone();
                    if let Some(h) = h {
                        help.push_str(&format!("\nvalid: {}", h.describe()));
                    }
                    let r = r.on_hover_text(help);
                    if let Some(h) = h
                        && !h.unit.is_empty()
                    {
                        ui.label(egui::RichText::new(h.unit).small());
                    }
                    if r.changed() {
                        edits.push(Edit::Set(
                            path.clone(),
                            parse_typed(leaf, &text),
                            text.clone(),
                        ));
                    }
                    show_refused(ui);
                });
            }
        }
    }

    fn children_ui(
        &mut self,
        ui: &mut egui::Ui,
        d: &Draft,
        path: Vec<Key>,
        value: &Value,
        edits: &mut Vec<Edit>,
    ) {
        let Value::Object(m) = value else {
            self.node_ui(ui, d, path, value, edits);
            return;
        };
        // Scalars first, then blocks.
        let (leaves, blocks): (Vec<_>, Vec<_>) = m.iter().partition(|(_, v)| {
            !(v.is_object()
                || v.is_array()
                    && v.as_array()
                        .is_some_and(|a| a.iter().any(|x| x.is_object())))
        });
        for (k, v) in leaves.into_iter().chain(blocks) {
            let mut p = path.clone();
            p.push(Key::Field(k.clone()));
            self.node_ui(ui, d, p, v, edits);
        }
    }

    /// The parameter count and block shapes.
    fn summary_ui(&self, ui: &mut egui::Ui, n_classes: usize) {
        ui.label(egui::RichText::new("Model").strong());
        let computing = self.pending_summary.is_some();
        match &self.summary {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("building the model…");
                });
            }
            Some((_, Err(e))) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some((p, Ok(s))) => {
                let stale = self.draft.as_ref().is_some_and(|d| d.preset != *p);
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{}: {} parameters",
                        s.model.replace('→', "->"),
                        thousands(s.params)
                    ));
                    if stale || computing {
                        ui.spinner();
                    }
                });
                ui.label(format!(
                    "input {:?} -> embedding {:?} -> output {:?} ({n_classes} classes)",
                    s.input, s.embedding, s.output
                ));
                egui::Grid::new("summary_blocks")
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["block", "parameters", "input -> output"] {
                            ui.label(egui::RichText::new(h).strong());
                        }
                        ui.end_row();
                        for b in &s.blocks {
                            ui.label(&b.name).on_hover_text(
                                b.tensors
                                    .iter()
                                    .map(|(t, sh)| format!("{t} {sh:?}"))
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            );
                            ui.label(thousands(b.params));
                            ui.label(
                                b.shapes
                                    .as_ref()
                                    .map_or("—".into(), |(i, o)| format!("{i:?} -> {o:?}")),
                            );
                            ui.end_row();
                        }
                    });
                for a in &s.assumptions {
                    ui.label(egui::RichText::new(format!("assumed: {a}")).small());
                }
            }
        }
    }

    /// Draws the panel. `selected` is the Training panel's preset; `n_classes` the open
    /// corpus's class count (for the summary's output size).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cmds: &mut Vec<AppCommand>,
        selected: Option<&Preset>,
        n_classes: usize,
        presets_dir: &std::path::Path,
    ) {
        ui.heading("Preset editor");
        let Some(sel) = selected else {
            ui.label("Select a preset in the Training panel first.");
            return;
        };
        // A new selection starts a new draft unless the draft holds edits.
        let edited = self.draft.as_ref().is_some_and(|d| d.preset != d.base);
        if self
            .draft
            .as_ref()
            .is_none_or(|d| d.base.name != sel.name && !edited)
        {
            self.start(sel.clone());
        }
        self.refresh_summary(ui.ctx(), n_classes);
        let Some(d) = self.draft.clone() else { return };
        ui.horizontal(|ui| {
            ui.label(format!("Editing a copy of '{}'.", d.base.name));
            if d.base.name != sel.name
                && ui
                    .button(format!("Start over from '{}'", sel.name))
                    .clicked()
            {
                self.start(sel.clone());
            }
        });
        let diff = d.diff();
        ui.horizontal(|ui| {
            let l = ui.label("Preset name");
            ui.add(egui::TextEdit::singleline(&mut self.save_name).desired_width(220.0))
                .labelled_by(l.id);
            if ui
                .button("Save as preset…")
                .on_hover_text(format!("writes {}/<name>.ron (never over a shipped preset)", presets_dir.display()))
                .clicked()
            {
                match crate::train::preset_edit::save_user_preset(presets_dir, &d.preset, &self.save_name) {
                    Ok(path) => {
                        let mut p = d.preset.clone();
                        p.name = self.save_name.trim().to_string();
                        self.message = Some(Ok(format!("saved {}", path.display())));
                        cmds.push(AppCommand::AddPreset(Box::new(p.clone())));
                        self.start(p);
                    }
                    Err(e) => self.message = Some(Err(e)),
                }
            }
            if ui
                .button("Train with this preset")
                .on_hover_text("select the draft in the Training panel and start training on the open corpus (the run folder keeps the exact preset)")
                .clicked()
            {
                let mut p = d.preset.clone();
                if !diff.is_empty() {
                    p.name = self.save_name.trim().to_string();
                }
                cmds.push(AppCommand::AddPreset(Box::new(p.clone())));
                cmds.push(AppCommand::StartTraining);
                self.start(p);
            }
            if ui.add_enabled(!diff.is_empty(), egui::Button::new("Revert")).clicked() {
                if let Some(d) = self.draft.as_mut() {
                    d.revert();
                }
                self.typed.clear();
                self.refused.clear();
            }
        });
        super::plots::outcome_ui(ui, &self.message);
        let mut edits = Vec::new();
        ui.columns(2, |cols| {
            egui::ScrollArea::vertical()
                .id_salt("editor_fields")
                .show(&mut cols[0], |ui| {
                    self.children_ui(ui, &d, Vec::new(), &d.value, &mut edits);
                });
            let ui = &mut cols[1];
            self.summary_ui(ui, n_classes);
            ui.separator();
            ui.label(egui::RichText::new(format!("Changes against '{}'", d.base.name)).strong());
            if diff.is_empty() {
                ui.label("none");
            } else {
                egui::Grid::new("editor_diff").striped(true).show(ui, |ui| {
                    for (k, a, b) in &diff {
                        ui.label(egui::RichText::new(k).monospace());
                        ui.label(a);
                        ui.label("->");
                        ui.label(b);
                        ui.end_row();
                    }
                });
            }
        });
        for e in edits {
            self.apply(e);
        }
    }
}

/// The tick before an optional field that is on; unticking switches it off.
fn off_switch(ui: &mut egui::Ui, path: &[Key], edits: &mut Vec<Edit>) {
    let mut on = true;
    if ui
        .checkbox(&mut on, "")
        .on_hover_text("switch off")
        .changed()
    {
        edits.push(Edit::Off(path.to_vec()));
    }
}

/// A scalar as its field shows it.
fn leaf_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => n
            .as_f64()
            .map_or(n.to_string(), |f| format!("{}", f as f32)),
        Value::Array(items) => items.iter().map(leaf_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// What typed text means for a field holding `current`: numbers parse as numbers (whole
/// numbers stay whole), lists as comma-separated values, strings stay text.
fn parse_typed(current: &Value, typed: &str) -> Value {
    let t = typed.trim();
    let number = |s: &str| -> Value {
        let s = s.trim();
        if let Ok(i) = s.parse::<u64>() {
            Value::from(i)
        } else if let Ok(i) = s.parse::<i64>() {
            Value::from(i)
        } else if let Ok(f) = s.parse::<f64>() {
            serde_json::Number::from_f64(f).map_or(Value::String(s.into()), Value::Number)
        } else {
            Value::String(s.into())
        }
    };
    match current {
        Value::Number(_) => number(t),
        Value::Array(_) => Value::Array(
            t.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(number)
                .collect(),
        ),
        _ => Value::String(typed.to_string()),
    }
}

/// 1234567 → "1 234 567".
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_keeps_the_field_type() {
        assert_eq!(parse_typed(&Value::from(3), "5"), Value::from(5));
        assert_eq!(parse_typed(&Value::from(0.1), " 0.25 "), Value::from(0.25));
        assert_eq!(
            parse_typed(&serde_json::json!([1, 2]), "1, 2, 4"),
            serde_json::json!([1, 2, 4])
        );
        assert_eq!(parse_typed(&Value::from(3), "x"), Value::from("x"));
        assert_eq!(thousands(1234567), "1\u{2009}234\u{2009}567");
        assert_eq!(leaf_text(&Value::from(0.1f32 as f64)), "0.1");
    }
}
