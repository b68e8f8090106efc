//! Hub downloads against a loopback HTTP server that behaves like huggingface.co's `resolve` URLs
//! (302 to the file, `X-Linked-Etag` = SHA-256, `X-Linked-Size`, byte ranges): a full download
//! that loads as an encoder, resuming a cut connection with `Range`, a checksum mismatch, the
//! `pytorch_model.bin` fallback, and an unreachable hub.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

mod common;

use common::hub_server::{Behaviour, serve, tiny_files};
use ser_workbench::ssl::hub::{download_model, model_dir};

/// Serializes the tests: HF_ENDPOINT is process-wide.
static ENV: Mutex<()> = Mutex::new(());

fn with_endpoint<T>(url: &str, f: impl FnOnce() -> T) -> T {
    let _g = ENV.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the ENV lock serialises every test that touches the environment in this binary.
    unsafe { std::env::set_var("HF_ENDPOINT", url) };
    let r = f();
    unsafe { std::env::remove_var("HF_ENDPOINT") };
    r
}

#[test]
fn downloads_through_redirects_and_loads() {
    let b = Arc::new(Mutex::new(Behaviour {
        files: tiny_files("model.safetensors"),
        ..Default::default()
    }));
    let url = serve(b.clone());
    let d = tempfile::tempdir().expect("tmp");
    let seen = Mutex::new(Vec::new());
    let dir = with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|p| {
            seen.lock().unwrap().push(p.clone())
        })
    })
    .expect("download");
    assert_eq!(dir, model_dir(d.path(), "org/tiny", "main"));
    let (_, cfg, _) =
        ser_workbench::ssl::load_encoder(&dir, &burn::prelude::Device::flex()).expect("loads");
    assert_eq!(cfg.num_hidden_layers, 2);
    let last = seen
        .lock()
        .unwrap()
        .iter()
        .rfind(|p| p.file == "model.safetensors")
        .cloned()
        .expect("progress");
    assert_eq!(Some(last.done), last.total);
    // A second call finds the files complete and asks for nothing.
    let before = b.lock().unwrap().log.len();
    with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect("again");
    assert_eq!(b.lock().unwrap().log.len(), before);
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    let b = Arc::new(Mutex::new(Behaviour {
        files: tiny_files("model.safetensors"),
        cut_first: vec!["model.safetensors".into()],
        ..Default::default()
    }));
    let url = serve(b.clone());
    let d = tempfile::tempdir().expect("tmp");
    let err = with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect_err("cut");
    assert!(err.contains("resume"), "{err}");
    let dir = model_dir(d.path(), "org/tiny", "main");
    assert!(dir.join("model.safetensors.part").is_file());
    assert!(!dir.join("model.safetensors").exists());
    with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect("resumed");
    let log = b.lock().unwrap().log.clone();
    assert!(
        log.iter().any(|(p, r)| p == "/blob/model.safetensors"
            && r.as_deref().is_some_and(|r| r.starts_with("bytes="))),
        "{log:?}"
    );
    let want = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ssl/hubert_tiny/model.safetensors"),
    )
    .expect("fixture");
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).expect("w"),
        want
    );
}

#[test]
fn a_checksum_mismatch_deletes_the_part_and_says_so() {
    let b = Arc::new(Mutex::new(Behaviour {
        files: tiny_files("model.safetensors"),
        bad_etag: vec!["model.safetensors".into()],
        ..Default::default()
    }));
    let url = serve(b);
    let d = tempfile::tempdir().expect("tmp");
    let err = with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect_err("mismatch");
    assert!(
        err.contains("SHA-256") && err.contains("model.safetensors"),
        "{err}"
    );
    let dir = model_dir(d.path(), "org/tiny", "main");
    assert!(!dir.join("model.safetensors").exists());
    assert!(!dir.join("model.safetensors.part").exists());
}

#[test]
fn falls_back_to_pytorch_model_bin() {
    let b = Arc::new(Mutex::new(Behaviour {
        files: tiny_files("pytorch_model.bin"),
        ..Default::default()
    }));
    let url = serve(b);
    let d = tempfile::tempdir().expect("tmp");
    let dir = with_endpoint(&url, || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect("download");
    assert!(dir.join("pytorch_model.bin").is_file());
    ser_workbench::ssl::load_encoder(&dir, &burn::prelude::Device::flex()).expect("loads");
}

#[test]
fn unreachable_hub_and_bad_ids_give_clear_errors() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let d = tempfile::tempdir().expect("tmp");
    let err = with_endpoint(&format!("http://127.0.0.1:{port}"), || {
        download_model("org/tiny", "main", d.path(), &|_| {})
    })
    .expect_err("unreachable");
    assert!(err.contains("cannot reach the hub"), "{err}");
    assert!(download_model("../etc", "main", d.path(), &|_| {}).is_err());
}
