//! Protocol presets (`presets/protocols/*.ron`): the standard evaluation set-up of each corpus —
//! protocol spelling, label map, and whether it is (knowingly) speaker-dependent.

use serde::{Deserialize, Serialize};

/// One protocol preset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolPreset {
    /// Name used with `--protocol-preset`.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Corpus type it is meant for (`multi` for several corpora).
    pub corpus_type: String,
    /// Protocol spelling.
    pub protocol: String,
    /// Label map name, if any.
    pub label_map: Option<String>,
    /// True only where the standard protocol itself shares speakers (ESD official).
    pub speaker_dependent: bool,
}

/// The files of `presets/protocols/`, compiled in.
pub const BUILTIN: [(&str, &str); 11] = [
    (
        "emodb_loso",
        include_str!("../../presets/protocols/emodb_loso.ron"),
    ),
    (
        "iemocap_4class_session_loso",
        include_str!("../../presets/protocols/iemocap_4class_session_loso.ron"),
    ),
    (
        "iemocap_4class_loso",
        include_str!("../../presets/protocols/iemocap_4class_loso.ron"),
    ),
    (
        "ravdess_actor_kfold",
        include_str!("../../presets/protocols/ravdess_actor_kfold.ron"),
    ),
    (
        "casia_loso",
        include_str!("../../presets/protocols/casia_loso.ron"),
    ),
    (
        "savee_loso",
        include_str!("../../presets/protocols/savee_loso.ron"),
    ),
    (
        "cremad_actor_kfold",
        include_str!("../../presets/protocols/cremad_actor_kfold.ron"),
    ),
    (
        "esd_official",
        include_str!("../../presets/protocols/esd_official.ron"),
    ),
    (
        "esd_speaker_heldout",
        include_str!("../../presets/protocols/esd_speaker_heldout.ron"),
    ),
    (
        "msp_podcast_official",
        include_str!("../../presets/protocols/msp_podcast_official.ron"),
    ),
    (
        "cross_corpus_emodb_ravdess",
        include_str!("../../presets/protocols/cross_corpus_emodb_ravdess.ron"),
    ),
];

impl ProtocolPreset {
    /// Every built-in protocol preset.
    pub fn builtin() -> Result<Vec<ProtocolPreset>, String> {
        BUILTIN
            .iter()
            .map(|(n, t)| ron::from_str(t).map_err(|e| format!("presets/protocols/{n}.ron: {e}")))
            .collect()
    }

    /// A built-in preset by name, or a RON file.
    pub fn resolve(spec: &str) -> Result<ProtocolPreset, String> {
        if let Some(p) = Self::builtin()?.into_iter().find(|p| p.name == spec) {
            return Ok(p);
        }
        let path = std::path::Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|_| {
            let names: Vec<String> = Self::builtin()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.name)
                .collect();
            format!(
                "protocol preset '{spec}' is neither a built-in ({}) nor a readable file",
                names.join(", ")
            )
        })?;
        ron::from_str(&text)
            .map_err(|e| format!("{}: malformed protocol preset: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse() {
        let all = ProtocolPreset::builtin().expect("parse");
        assert_eq!(all.len(), BUILTIN.len());
        for p in &all {
            assert!(
                p.protocol.parse::<crate::corpus::Protocol>().is_ok(),
                "{}",
                p.name
            );
            if let Some(m) = &p.label_map {
                assert!(
                    crate::corpus::label_map::LabelMap::named(m).is_some(),
                    "{}",
                    p.name
                );
            }
        }
        assert!(
            ProtocolPreset::resolve("nope")
                .unwrap_err()
                .contains("emodb-loso")
        );
    }
}
