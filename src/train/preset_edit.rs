//! Editing a preset field by field (the GUI's block editor): the preset as a JSON value tree,
//! each edit checked against the schema (serde) and [`Preset::validate`] before it is taken, so
//! an invalid value is refused with the reason and the draft stays a preset that builds.
//!
//! - Numbers carry a unit and a valid range where the field is known ([`hint`]).
//! - Enumerations offer every variant: the names are read from serde's own "unknown variant"
//!   message, so the list cannot fall behind the code ([`variants_at`]).
//! - Optional blocks (`None` / `Some`) switch off and on; a block switched on takes its value
//!   from the first shipped preset that sets it at the same place, else the schema's defaults.
//! - [`diff`] lists what the draft changes against the preset it came from.

use serde_json::Value;

use super::preset::Preset;

/// One step of a path into the value tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A struct field or enum variant name.
    Field(String),
    /// A list entry.
    Index(usize),
}

/// A path as dotted text (`model.TemporalStack.dtcn.kernel_size`).
pub fn path_text(path: &[Key]) -> String {
    path.iter()
        .map(|k| match k {
            Key::Field(f) => f.clone(),
            Key::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses dotted text into a path (numbers are list entries).
pub fn parse_path(text: &str) -> Vec<Key> {
    text.split('.')
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<usize>() {
            Ok(i) => Key::Index(i),
            Err(_) => Key::Field(s.to_string()),
        })
        .collect()
}

/// The value at `path`.
pub fn get<'a>(v: &'a Value, path: &[Key]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| match k {
        Key::Field(f) => v.get(f),
        Key::Index(i) => v.get(i),
    })
}

fn get_mut<'a>(v: &'a mut Value, path: &[Key]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match k {
        Key::Field(f) => v.get_mut(f),
        Key::Index(i) => v.get_mut(i),
    })
}

/// Unit, valid range and meaning of a numeric field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hint {
    /// Unit shown beside the value ("" = none).
    pub unit: &'static str,
    /// Smallest valid value.
    pub min: f64,
    /// Whether `min` itself is valid.
    pub min_inclusive: bool,
    /// Largest valid value.
    pub max: f64,
    /// Whole numbers only.
    pub integer: bool,
}

const fn h(unit: &'static str, min: f64, min_inclusive: bool, max: f64, integer: bool) -> Hint {
    Hint {
        unit,
        min,
        min_inclusive,
        max,
        integer,
    }
}

impl Hint {
    /// `Err` with the reason when `x` is outside the range.
    pub fn check(&self, field: &str, x: f64) -> Result<(), String> {
        if !x.is_finite() {
            return Err(format!("{field} must be a finite number"));
        }
        if self.integer && x.fract() != 0.0 {
            return Err(format!("{field} must be a whole number"));
        }
        let low_ok = if self.min_inclusive {
            x >= self.min
        } else {
            x > self.min
        };
        if !low_ok || x > self.max {
            return Err(format!(
                "{field} must be in {}{}, {}]{}",
                if self.min_inclusive { "[" } else { "(" },
                self.min,
                self.max,
                if self.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.unit)
                }
            ));
        }
        Ok(())
    }

    /// The range as text for hover help.
    pub fn describe(&self) -> String {
        format!(
            "{}{}, {}]{}{}",
            if self.min_inclusive { "[" } else { "(" },
            self.min,
            self.max,
            if self.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", self.unit)
            },
            if self.integer { ", whole numbers" } else { "" }
        )
    }
}

/// Unit and range of a numeric field, by its name (the last path component; a list entry takes
/// its list's name).
pub fn hint(path: &[Key]) -> Option<Hint> {
    let name = path.iter().rev().find_map(|k| match k {
        Key::Field(f) => Some(f.as_str()),
        Key::Index(_) => None,
    })?;
    let big = 1e9;
    Some(match name {
        "learning_rate" => h("", 0.0, false, 1.0, false),
        "weight_decay" => h("", 0.0, true, 1.0, false),
        "epochs" | "stage1_epochs" => h("epochs", 1.0, true, 10_000.0, true),
        "batch_size" => h("examples", 1.0, true, 4096.0, true),
        "seed" => h("", 0.0, true, u64::MAX as f64, true),
        "early_stopping_patience" => h("epochs", 1.0, true, 10_000.0, true),
        "eval_every_steps" => h("steps", 1.0, true, big, true),
        "valid_fraction" => h("", 0.0, true, 0.9, false),
        "grad_clip_norm" => h("", 0.0, false, big, false),
        "sgd_momentum" => h("", 0.0, true, 1.0, false),
        "adam_epsilon" => h("", 0.0, false, 1.0, false),
        "adam_betas" => h("", 0.0, true, 1.0, false),
        n if n.contains("dropout") => h("", 0.0, true, 1.0, false),
        "channels" | "ffn_dim" | "hidden" | "ser_hidden" | "gru_hidden" | "embed_dim" => {
            h("units", 1.0, true, 16_384.0, true)
        }
        "attention_heads" | "heads" | "num_heads" => h("heads", 1.0, true, 64.0, true),
        "pyramid_levels" => h("levels", 1.0, true, 8.0, true),
        "kernel_size" => h("frames", 1.0, true, 63.0, true),
        "dilations" => h("frames", 1.0, true, 1024.0, true),
        "layers" | "num_layers" | "blocks" => h("layers", 0.0, true, 64.0, true),
        "sample_rate_hz" => h("Hz", 1000.0, true, 192_000.0, true),
        "n_fft" => h("samples", 16.0, true, 16_384.0, true),
        "hop_length_samples" => h("samples", 1.0, true, 16_384.0, true),
        "n_mels" => h("bands", 1.0, true, 512.0, true),
        "n_mfcc" => h("coefficients", 1.0, true, 128.0, true),
        "fmin_hz" | "fmax_hz" => h("Hz", 0.0, true, 96_000.0, false),
        "top_db" => h("dB", 0.0, false, 200.0, false),
        "max_secs" => h("s", 0.0, false, 600.0, false),
        "lambda" => h("", 0.0, true, 100.0, false),
        "ramp_gamma" => h("", 0.0, false, 1000.0, false),
        "weight" | "ser_weight" => h("", 0.0, true, 100.0, false),
        "probability" => h("", 0.0, true, 1.0, false),
        "stage2_freeze_layers" => h("layers", 0.0, true, 64.0, true),
        "freq_masks" | "time_masks" => h("masks", 0.0, true, 16.0, true),
        "freq_width" => h("bins", 0.0, true, 1024.0, true),
        "time_width" => h("frames", 0.0, true, 10_000.0, true),
        "max_time_fraction" => h("", 0.0, true, 1.0, false),
        _ => return None,
    })
}

/// Fields that hold free text (never offered as a list of variants).
const FREE_TEXT: [&str; 8] = [
    "name",
    "description",
    "protocol",
    "label_map",
    "ssl_weights",
    "ssl_layers",
    "weights",
    "task",
];

/// Every variant name an enumeration at `path` accepts, read from serde's own message for an
/// unknown variant; `None` where the field is not an enumeration.
pub fn variants_at(root: &Value, path: &[Key]) -> Option<Vec<String>> {
    if let Some(Key::Field(f)) = path.last()
        && FREE_TEXT.contains(&f.as_str())
    {
        return None;
    }
    let mut probe = root.clone();
    let slot = get_mut(&mut probe, path)?;
    let probe_name = "\u{1}no-such-variant";
    *slot = match slot {
        Value::Object(m) if m.len() == 1 => serde_json::json!({ probe_name: Value::Null }),
        Value::String(_) => Value::String(probe_name.into()),
        _ => return None,
    };
    let err = serde_json::from_value::<Preset>(probe).err()?.to_string();
    let rest = err.split("unknown variant").nth(1)?;
    let expected = rest.split("expected").nth(1)?;
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The value at `path` in the first shipped preset that has a non-null one there.
pub fn example_at(path: &[Key]) -> Option<Value> {
    Preset::builtin().iter().find_map(|p| {
        let v = serde_json::to_value(p).ok()?;
        get(&v, path).filter(|x| !x.is_null()).cloned()
    })
}

/// The value at `path` in the first shipped preset whose value there is the variant `variant`.
fn example_variant(path: &[Key], variant: &str) -> Option<Value> {
    Preset::builtin().iter().find_map(|p| {
        let v = serde_json::to_value(p).ok()?;
        let x = get(&v, path)?;
        let name = match x {
            Value::Object(m) if m.len() == 1 => m.keys().next()?.clone(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        (name == variant).then(|| x.clone())
    })
}

/// A preset as a value tree.
pub fn to_value(p: &Preset) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// The preset a value tree describes, checked as a preset file is.
pub fn from_value(v: &Value) -> Result<Preset, String> {
    let p: Preset = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    p.validate()?;
    Ok(p)
}

/// A preset being edited: the one it came from and the current draft (always valid).
#[derive(Clone, Debug)]
pub struct Draft {
    /// The preset the draft started from ("Revert" returns to it).
    pub base: Preset,
    /// The draft.
    pub preset: Preset,
    /// The draft as a value tree.
    pub value: Value,
}

impl Draft {
    /// A draft of `p`, unchanged.
    pub fn new(p: Preset) -> Self {
        Self {
            value: to_value(&p),
            base: p.clone(),
            preset: p,
        }
    }

    /// Sets the value at `path`; an edit that the schema, the field's range or the preset's
    /// checks refuse leaves the draft as it was and returns the reason.
    pub fn set(&mut self, path: &[Key], new: Value) -> Result<(), String> {
        let field = path_text(path);
        if let (Some(h), Some(x)) = (hint(path), new.as_f64()) {
            h.check(&field, x)?;
        }
        if let (Some(h), Value::Array(items)) = (hint(path), &new) {
            for x in items.iter().filter_map(Value::as_f64) {
                h.check(&field, x)?;
            }
        }
        let mut v = self.value.clone();
        let slot = get_mut(&mut v, path).ok_or_else(|| format!("{field}: no such field"))?;
        *slot = new;
        let p = from_value(&v).map_err(|e| format!("{field}: {e}"))?;
        // Store the canonical form (what the preset serialises to).
        self.value = to_value(&p);
        self.preset = p;
        Ok(())
    }

    /// Sets a field given as dotted text (for tests and scripts).
    pub fn set_text(&mut self, path: &str, new: Value) -> Result<(), String> {
        self.set(&parse_path(path), new)
    }

    /// Switches an optional block off (`None`).
    pub fn switch_off(&mut self, path: &[Key]) -> Result<(), String> {
        self.set(path, Value::Null)
    }

    /// Switches an optional block on: the base preset's value if it had one, else the first
    /// shipped preset's at the same place, else the schema's defaults (an empty record).
    pub fn switch_on(&mut self, path: &[Key]) -> Result<(), String> {
        let base = get(&to_value(&self.base), path)
            .filter(|v| !v.is_null())
            .cloned();
        self.set_first(path, [base, example_at(path), Some(serde_json::json!({}))])
            .map_err(|mut tried| {
                tried
                    .pop()
                    .unwrap_or_else(|| format!("{}: cannot switch on", path_text(path)))
            })
    }

    /// Sets the first candidate the draft takes; `Err` holds every refusal, in order.
    fn set_first<const N: usize>(
        &mut self,
        path: &[Key],
        candidates: [Option<Value>; N],
    ) -> Result<(), Vec<String>> {
        let mut tried = Vec::new();
        for cand in candidates.into_iter().flatten() {
            match self.set(path, cand) {
                Ok(()) => return Ok(()),
                Err(e) => tried.push(e),
            }
        }
        Err(tried)
    }

    /// Whether the field at `path` may be `None` (cheap check through the schema).
    pub fn is_optional(&self, path: &[Key]) -> bool {
        let mut v = self.value.clone();
        let Some(slot) = get_mut(&mut v, path) else {
            return false;
        };
        if slot.is_null() {
            return true;
        }
        *slot = Value::Null;
        serde_json::from_value::<Preset>(v).is_ok()
    }

    /// Replaces an enumeration at `path` by another variant: the base preset's value when it is
    /// that variant, a shipped preset's, or the variant with its defaults.
    pub fn switch_variant(&mut self, path: &[Key], variant: &str) -> Result<(), String> {
        let base = get(&to_value(&self.base), path)
            .cloned()
            .filter(|v| match v {
                Value::Object(m) => m.contains_key(variant),
                Value::String(s) => s == variant,
                _ => false,
            });
        self.set_first(
            path,
            [
                base,
                example_variant(path, variant),
                Some(serde_json::json!({ variant: {} })),
                Some(Value::String(variant.into())),
            ],
        )
        .map_err(|tried| {
            tried
                .into_iter()
                .next()
                .unwrap_or_else(|| format!("{}: cannot switch to {variant}", path_text(path)))
        })
    }

    /// Back to the preset it came from.
    pub fn revert(&mut self) {
        *self = Self::new(self.base.clone());
    }

    /// Fields that differ from the base: (dotted path, base value, draft value).
    pub fn diff(&self) -> Vec<(String, String, String)> {
        diff(&self.base, &self.preset)
    }
}

/// Fields that differ between two presets: (dotted path, value in `a`, value in `b`).
pub fn diff(a: &Preset, b: &Preset) -> Vec<(String, String, String)> {
    let mut va = to_value(a);
    let mut vb = to_value(b);
    // Name and description are compared too (the diff of a saved copy names the rename).
    for (v, p) in [(&mut va, a), (&mut vb, b)] {
        if let Some(m) = v.as_object_mut() {
            m.insert("preset_name".into(), Value::String(p.name.clone()));
        }
    }
    super::runs::preset_diff(&[va, vb])
        .into_iter()
        .map(|(k, mut v)| {
            let b = v.pop().unwrap_or_default();
            let a = v.pop().unwrap_or_default();
            (k, a, b)
        })
        .collect()
}

/// Where the user's presets go: `<dir>/<name>.ron` with the name made file-safe. Refuses an
/// empty name and the name of a shipped preset.
pub fn user_preset_path(dir: &std::path::Path, name: &str) -> Result<std::path::PathBuf, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("give the preset a name".into());
    }
    if Preset::is_builtin_name(name) {
        return Err(format!(
            "'{name}' is a shipped preset: save the edited one under another name"
        ));
    }
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(dir.join(format!("{file}.ron")))
}

/// Saves `p` (renamed `name`) atomically as a user preset; returns the file.
pub fn save_user_preset(
    dir: &std::path::Path,
    p: &Preset,
    name: &str,
) -> Result<std::path::PathBuf, String> {
    let path = user_preset_path(dir, name)?;
    let mut p = p.clone();
    p.name = name.trim().to_string();
    p.validate()?;
    p.save(&path)
        .map_err(|e| format!("{}: cannot write preset: {e}", path.display()))?;
    // What was written reads back as the same preset (the file is the record of the run).
    let back = Preset::load(&path).map_err(|e| e.to_string())?;
    if back != p {
        return Err(format!(
            "{}: the written preset does not read back the same",
            path.display()
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Preset {
        Preset::builtin()
            .into_iter()
            .find(|p| p.name == "paper-full")
            .expect("paper-full")
    }

    #[test]
    fn an_edit_in_range_is_taken_and_diffed() {
        let mut d = Draft::new(full());
        d.set_text("model.TemporalStack.dtcn.kernel_size", 5.into())
            .expect("kernel 5");
        d.set_text("training.learning_rate", 0.0005.into())
            .expect("lr");
        let ModelConfig::TemporalStack(c) = &d.preset.model else {
            panic!("model")
        };
        assert_eq!(c.dtcn.kernel_size, 5);
        assert_eq!(d.preset.training.learning_rate, 0.0005);
        let diff = d.diff();
        assert_eq!(
            diff,
            vec![
                (
                    "model.TemporalStack.dtcn.kernel_size".to_string(),
                    "3".to_string(),
                    "5".to_string()
                ),
                (
                    "training.learning_rate".to_string(),
                    "0.001".to_string(),
                    "0.0005".to_string()
                ),
            ]
        );
        d.revert();
        assert!(d.diff().is_empty());
    }

    use crate::model::ModelConfig;

    #[test]
    fn invalid_values_are_refused_with_the_reason() {
        let mut d = Draft::new(full());
        let before = d.preset.clone();
        let e = d
            .set_text("training.learning_rate", (-0.1).into())
            .expect_err("negative rate");
        assert_eq!(e, "training.learning_rate must be in (0, 1]");
        // attention_heads must divide channels (the model's own check).
        let e = d
            .set_text("model.TemporalStack.attention_heads", 3.into())
            .expect_err("3 heads for 64 channels");
        assert!(
            e.contains("attention_heads (3) must divide channels (64)"),
            "{e}"
        );
        // A string where a number belongs: the schema refuses it.
        let e = d
            .set_text("training.epochs", "ten".into())
            .expect_err("text");
        assert!(e.starts_with("training.epochs: invalid type"), "{e}");
        let e = d
            .set_text("model.TemporalStack.head.dropout", 1.5.into())
            .expect_err("dropout");
        assert!(e.contains("must be in [0, 1]"), "{e}");
        assert_eq!(d.preset, before, "nothing refused was taken");
    }

    #[test]
    fn variants_come_from_the_schema() {
        let d = Draft::new(full());
        let opt = variants_at(&d.value, &parse_path("training.optimizer")).expect("optimizer");
        assert!(
            opt.contains(&"Adam".to_string()) && opt.contains(&"Sgd".to_string()),
            "{opt:?}"
        );
        let models = variants_at(&d.value, &parse_path("model")).expect("model");
        assert!(
            models.contains(&"TemporalStack".to_string())
                && models.contains(&"Cnn".to_string())
                && models.contains(&"SslFineTune".to_string()),
            "{models:?}"
        );
        assert!(variants_at(&d.value, &parse_path("name")).is_none());
        assert!(variants_at(&d.value, &parse_path("training.epochs")).is_none());
    }

    #[test]
    fn blocks_switch_off_and_on() {
        let mut d = Draft::new(full());
        let adapt = parse_path("training.adaptation");
        assert!(d.is_optional(&adapt));
        assert!(!d.is_optional(&parse_path("training.epochs")));
        d.switch_off(&adapt).expect("off");
        assert!(d.preset.training.adaptation.is_none());
        d.switch_on(&adapt).expect("on");
        assert_eq!(d.preset.training.adaptation, d.base.training.adaptation);
        // Augmentation is off in paper-full: switching it on takes a shipped preset's value.
        let aug = parse_path("training.augment");
        d.switch_on(&aug).expect("augment on");
        assert!(d.preset.training.augment.is_some());
        // SpecAugment masks a single frame-level stream: refused on paper-full's fused one.
        let e = d
            .switch_on(&parse_path("training.spec_augment"))
            .expect_err("fused stream");
        assert!(e.contains("spec_augment"), "{e}");
        assert!(d.preset.training.spec_augment.is_none());
        // A model variant switch that does not fit the stream is refused with the reason.
        let e = d
            .switch_variant(&parse_path("model"), "SslFineTune")
            .expect_err("needs the waveform stream");
        assert!(e.contains("waveform"), "{e}");
        let pool = parse_path("model.TemporalStack.pyramid_pool");
        assert_eq!(
            variants_at(&d.value, &pool).expect("pool"),
            ["mean", "max", "mean_std"]
        );
        d.switch_variant(&pool, "max").expect("max pooling");
        let ModelConfig::TemporalStack(c) = &d.preset.model else {
            panic!("model")
        };
        assert_eq!(c.pyramid_pool, crate::model::dtpm::SegmentPool::Max);
    }

    #[test]
    fn user_presets_never_replace_shipped_ones() {
        let dir = tempfile::tempdir().expect("tmp");
        let e = save_user_preset(dir.path(), &full(), "paper-full").expect_err("shipped name");
        assert!(e.contains("shipped preset"), "{e}");
        let mut d = Draft::new(full());
        d.set_text("training.epochs", 7.into()).expect("epochs");
        let path = save_user_preset(dir.path(), &d.preset, "my full / k5").expect("save");
        assert_eq!(path, dir.path().join("my_full___k5.ron"));
        let back = Preset::load(&path).expect("load");
        assert_eq!(back.name, "my full / k5");
        assert_eq!(back.training.epochs, 7);
        let (all, bad) = Preset::load_folder(dir.path());
        assert_eq!((all.len(), bad.len()), (1, 0));
    }
}
