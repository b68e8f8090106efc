//! What a linear baseline relies on: the weight of every named input per class, averaged over
//! the folds' fitted models. Inputs are standardised on each fold's training part, so a weight
//! is the change of the class score per training-set standard deviation of that input and
//! weights of different inputs compare directly (docs/baselines.md).

use serde::{Deserialize, Serialize};

/// Top inputs per class, for the report and the Results panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeights {
    /// How the weights were made (for readers of the report).
    pub note: String,
    /// Folds averaged.
    pub folds: usize,
    /// Per class (class order): the inputs with the largest positive mean weight, largest
    /// first, as (name, mean weight, std over folds).
    pub top: Vec<ClassTop>,
}

/// One class's strongest inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassTop {
    /// Class name.
    pub class: String,
    /// (input name, mean weight, std over folds), largest mean first.
    pub inputs: Vec<(String, f32, f32)>,
}

/// Input names of a run's vectors: the functionals' names, else `x0`, `x1`, … (SSL utterance
/// vectors: `layer{l}_{d}`).
pub fn input_names(features: &crate::features::FeatureConfig, inputs: usize) -> Vec<String> {
    use crate::features::StreamKind;
    match features.stream {
        StreamKind::Functionals => {
            let n = crate::features::functionals::names(features);
            if n.len() == inputs {
                return n;
            }
            (0..inputs).map(|i| format!("x{i}")).collect()
        }
        StreamKind::Ssl => {
            let dim = [1024, 768, 512]
                .into_iter()
                .find(|d| inputs.is_multiple_of(*d))
                .unwrap_or(inputs.max(1));
            (0..inputs)
                .map(|i| format!("layer{}_{}", i / dim, i % dim))
                .collect()
        }
        _ => (0..inputs).map(|i| format!("x{i}")).collect(),
    }
}

/// Mean and std over folds of every weight: `folds` are row-major `[inputs, classes]`
/// matrices; returns `[inputs][classes]` of (mean, std).
pub fn mean_std(folds: &[Vec<f32>], inputs: usize, classes: usize) -> Vec<Vec<(f32, f32)>> {
    let n = folds.len().max(1) as f64;
    (0..inputs)
        .map(|i| {
            (0..classes)
                .map(|c| {
                    let vals: Vec<f64> = folds.iter().map(|w| w[i * classes + c] as f64).collect();
                    let mean = vals.iter().sum::<f64>() / n;
                    let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    (mean as f32, var.sqrt() as f32)
                })
                .collect()
        })
        .collect()
}

/// `feature_weights.csv` text (input, class, mean, std, then one column per fold) and the
/// report summary with the `k` strongest inputs per class.
pub fn summarise(
    names: &[String],
    classes: &[String],
    folds: &[Vec<f32>],
    k: usize,
) -> Result<(Vec<u8>, FeatureWeights), String> {
    let (inputs, nc) = (names.len(), classes.len());
    if let Some(w) = folds.iter().find(|w| w.len() != inputs * nc) {
        return Err(format!(
            "feature weights: a fold has {} weights, expected {inputs} inputs × {nc} classes",
            w.len()
        ));
    }
    let stats = mean_std(folds, inputs, nc);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "input".to_string(),
        "class".into(),
        "weight_mean".into(),
        "weight_std".into(),
    ];
    header.extend((1..=folds.len()).map(|f| format!("fold{f}")));
    w.write_record(&header).map_err(|e| e.to_string())?;
    for (i, name) in names.iter().enumerate() {
        for (c, class) in classes.iter().enumerate() {
            let (m, s) = stats[i][c];
            let mut row = vec![name.clone(), class.clone(), m.to_string(), s.to_string()];
            row.extend(folds.iter().map(|f| f[i * nc + c].to_string()));
            w.write_record(&row).map_err(|e| e.to_string())?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    let top = classes
        .iter()
        .enumerate()
        .map(|(c, class)| {
            let mut idx: Vec<usize> = (0..inputs).collect();
            idx.sort_by(|&a, &b| stats[b][c].0.total_cmp(&stats[a][c].0));
            ClassTop {
                class: class.clone(),
                inputs: idx
                    .into_iter()
                    .take(k)
                    .map(|i| (names[i].clone(), stats[i][c].0, stats[i][c].1))
                    .collect(),
            }
        })
        .collect();
    Ok((
        bytes,
        FeatureWeights {
            note: "mean over folds of the linear model's weight per input and class; inputs are standardised on each fold's training part, so a weight is the class score's change per standard deviation".into(),
            folds: folds.len(),
            top,
        },
    ))
}

impl FeatureWeights {
    /// Markdown section for `report.md`.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## Strongest inputs per class (linear model, mean over {} folds)\n\n{}.\n\n| class | inputs (weight ± std over folds) |\n|---|---|\n",
            self.folds, self.note
        );
        for t in &self.top {
            let list: Vec<String> = t
                .inputs
                .iter()
                .map(|(n, m, sd)| format!("{n} {m:+.3} ± {sd:.3}"))
                .collect();
            s.push_str(&format!("| {} | {} |\n", t.class, list.join(", ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: two folds of a 3-input, 2-class model; input b is class 1's strongest
    /// (mean (2 + 4)/2 = 3, std 1), input a class 0's (mean 1, std 0).
    #[test]
    fn means_and_ranking() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let classes: Vec<String> = ["x", "y"].map(String::from).to_vec();
        // [inputs, classes] row-major.
        let f1 = vec![1.0, 0.0, -1.0, 2.0, 0.5, -2.0];
        let f2 = vec![1.0, 0.0, -3.0, 4.0, 0.5, -2.0];
        let (csv, fw) = summarise(&names, &classes, &[f1, f2], 2).expect("summary");
        assert_eq!(fw.top[0].inputs[0], ("a".to_string(), 1.0, 0.0));
        assert_eq!(fw.top[1].inputs[0], ("b".to_string(), 3.0, 1.0));
        assert_eq!(fw.top[0].inputs[1].0, "c");
        let text = String::from_utf8(csv).expect("utf8");
        assert!(text.starts_with("input,class,weight_mean,weight_std,fold1,fold2\n"));
        assert!(text.contains("b,y,3,1,2,4\n"), "{text}");
        assert!(fw.markdown().contains("| y | b +3.000 ± 1.000"));
        assert!(summarise(&names, &classes, &[vec![0.0; 5]], 2).is_err());
    }
}
