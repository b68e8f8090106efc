//! Shared helpers of the integration tests.
#![allow(dead_code)]

pub mod hub_server;
pub mod layouts;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ser_workbench::corpus::demo::{DemoConfig, generate};
use ser_workbench::train::Preset;

/// A small demo corpus (70 EMODB-named files, 60 RAVDESS-named), generated once per test binary.
pub fn small_demo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ser-wb-test-demo-{}", std::process::id()));
        generate(
            &dir,
            &DemoConfig {
                seed: 11,
                emodb_texts: 1,
                ravdess_actors: 2,
            },
        )
        .expect("demo corpus");
        dir
    })
}

/// The tiny test preset.
pub fn tiny_preset_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/presets/tiny.ron")
}

/// The tiny test preset, parsed.
pub fn tiny_preset() -> Preset {
    Preset::load(&tiny_preset_path()).expect("tiny preset")
}
