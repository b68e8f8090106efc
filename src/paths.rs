//! Where the workbench keeps its files: one answer for the GUI and the CLI alike, so features
//! extracted in one are reused by the other and runs started in either are found together.
//!
//! | what | default | override |
//! |---|---|---|
//! | data (demo corpus, runs, models, recordings) | `$XDG_DATA_HOME/ser-workbench`, else `~/.local/share/ser-workbench` | `SER_WORKBENCH_DATA` |
//! | runs | `<data>/runs` | `SER_WORKBENCH_RUNS` (and `train --out`) |
//! | user presets (block editor) | `<data>/presets` | |
//! | SSL models (hub downloads) | `<data>/models` | `download-model --cache` |
//! | caches | `$XDG_CACHE_HOME/ser-workbench`, else `~/.cache/ser-workbench` | `SER_WORKBENCH_CACHE` |
//! | features | `<caches>/features` | `--cache` |
//! | WAV headers | `<caches>/headers.json` | |
//!
//! Without a home folder (some service accounts) the folders are made in the current one.

use std::path::PathBuf;

/// The folders of one workbench installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Generated data: demo corpus, recordings.
    pub data: PathBuf,
    /// Run folders.
    pub runs: PathBuf,
    /// Downloaded SSL models.
    pub models: PathBuf,
    /// Cache root (`features/`, `headers.json`).
    pub cache: PathBuf,
}

impl Paths {
    /// The folders the environment names (see the module table).
    pub fn from_env() -> Self {
        let data = env_path("SER_WORKBENCH_DATA")
            .or_else(|| env_path("XDG_DATA_HOME").map(|p| p.join("ser-workbench")))
            .or_else(|| home().map(|h| h.join(".local/share/ser-workbench")))
            .unwrap_or_else(|| PathBuf::from("ser-workbench-data"));
        let cache = env_path("SER_WORKBENCH_CACHE")
            .or_else(|| env_path("XDG_CACHE_HOME").map(|p| p.join("ser-workbench")))
            .or_else(|| home().map(|h| h.join(".cache/ser-workbench")))
            .unwrap_or_else(|| PathBuf::from(".ser-cache"));
        Self {
            runs: env_path("SER_WORKBENCH_RUNS").unwrap_or_else(|| data.join("runs")),
            models: data.join("models"),
            data,
            cache,
        }
    }

    /// Everything below one folder (tests, portable installs).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            runs: root.join("runs"),
            models: root.join("models"),
            cache: root.join("cache"),
            data: root,
        }
    }

    /// The content-addressed feature cache.
    pub fn features(&self) -> PathBuf {
        self.cache.join("features")
    }

    /// The WAV header cache file.
    pub fn headers(&self) -> PathBuf {
        self.cache.join("headers.json")
    }

    /// The built-in demo corpus.
    pub fn demo(&self) -> PathBuf {
        self.data.join("demo-corpus")
    }

    /// Presets the user saved from the block editor (`<name>.ron`; never a built-in one).
    pub fn presets(&self) -> PathBuf {
        self.data.join("presets")
    }

    /// The user's own recordings (Live panel).
    pub fn recordings(&self) -> PathBuf {
        self.data.join("my-corpus")
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> Option<PathBuf> {
    env_path("HOME")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_keeps_everything_below_the_root() {
        let p = Paths::under("/x");
        assert_eq!(p.runs, PathBuf::from("/x/runs"));
        assert_eq!(p.features(), PathBuf::from("/x/cache/features"));
        assert_eq!(p.models, PathBuf::from("/x/models"));
        assert_eq!(p.demo(), PathBuf::from("/x/demo-corpus"));
    }
}
