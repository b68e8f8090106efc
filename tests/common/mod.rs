//! Shared helpers of the integration tests.
#![allow(dead_code)]

pub mod hub_server;
pub mod layouts;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ser_workbench::corpus::demo::{DemoConfig, generate};
use ser_workbench::train::{BackendChoice, Preset, RunRequest};

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
                dimensional_speakers: 0,
                style_speakers: 0,
            },
        )
        .expect("demo corpus");
        dir
    })
}

/// A CPU run of `preset` on the small demo corpus's EMODB-named part, into `out`, features
/// cached under `cache`; protocol, seed and label map are the preset's.
pub fn demo_request(preset: Preset, out: &Path, cache: &Path) -> RunRequest {
    RunRequest {
        preset,
        corpus_dirs: vec![small_demo().join("emodb")],
        label_map: None,
        target_corpus: None,
        corpus_type: None,
        protocol: None,
        seed: None,
        out_dir: Some(out.to_path_buf()),
        cache_dir: cache.to_path_buf(),
        backend: BackendChoice::Cpu,
        folds: ser_workbench::train::FoldScope::All,
    }
}

/// A CPU run of `preset` on `corpus` into `out`, features cached beside it (`out.cache`);
/// protocol, seed and label map are the preset's.
pub fn corpus_request(preset: Preset, corpus: &Path, out: &Path) -> RunRequest {
    RunRequest {
        corpus_dirs: vec![corpus.to_path_buf()],
        ..demo_request(preset, out, &out.with_extension("cache"))
    }
}

/// Runs `req` on this thread to the end; the run folder and the log lines.
pub fn run_logged(req: &RunRequest) -> (PathBuf, Vec<String>) {
    use ser_workbench::train::Event;
    use ser_workbench::train::run::{RunEnd, execute};
    let logs = std::sync::Mutex::new(Vec::new());
    let (_tx, rx) = crossbeam_channel::unbounded();
    let controller = ser_workbench::train::control::Controller::new(rx);
    let end = execute(req, &controller, &|e| {
        if let Event::Log(l) = e {
            logs.lock().expect("lock").push(l);
        }
    })
    .expect("run");
    let RunEnd::Finished(dir) = end else {
        panic!("not finished: {end:?}")
    };
    (dir, logs.into_inner().expect("logs"))
}

/// The rows of a CSV file as header → value maps.
pub fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().expect("headers").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("row");
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The tiny test preset.
pub fn tiny_preset_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/presets/tiny.ron")
}

/// The tiny test preset, parsed.
pub fn tiny_preset() -> Preset {
    Preset::load(&tiny_preset_path()).expect("tiny preset")
}

/// The `ser-workbench` binary on the CPU, with its caches and default data folder under the
/// temp folder (`ser-wb-<tag>-cache-<pid>`, `ser-wb-<tag>-data-<pid>`), never the user's home.
pub fn cli(tag: &str) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ser-workbench"));
    c.env("SER_WORKBENCH_BACKEND", "cpu");
    let tmp = std::env::temp_dir();
    let pid = std::process::id();
    c.env(
        "SER_WORKBENCH_CACHE",
        tmp.join(format!("ser-wb-{tag}-cache-{pid}")),
    );
    c.env(
        "SER_WORKBENCH_DATA",
        tmp.join(format!("ser-wb-{tag}-data-{pid}")),
    );
    c
}

/// Runs the command, asserts success (printing both streams otherwise), returns stdout.
pub fn run_ok(mut c: impl std::borrow::BorrowMut<std::process::Command>) -> String {
    let c = c.borrow_mut();
    let out = c.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{c:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
