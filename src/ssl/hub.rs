//! Downloading a model folder from the HuggingFace hub: `config.json`, `preprocessor_config.json`
//! and a text model's tokenizer files (optional) and the weights (`model.safetensors`, else `pytorch_model.bin`) of `repo` at
//! `revision` into `<cache>/models--<owner>--<name>/<revision>/`.
//!
//! - Resumable: bytes go to `<file>.part`; a later call asks for the rest with `Range` and
//!   appends (a server that answers 200 instead of 206 restarts the file).
//! - Verified: the size against `X-Linked-Size`/`Content-Length`, and the SHA-256 against the
//!   hub's LFS ETag (`X-Linked-Etag`, 64 hex digits) when the server gives one; a mismatch deletes
//!   the partial file. Only a complete, verified file is renamed into place.
//! - `HF_ENDPOINT` overrides `https://huggingface.co` (mirrors, tests); `HF_TOKEN` is sent as a
//!   bearer token for gated models.
//! - Build machines cannot reach the hub: the error says so and how to place the files by hand.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

/// Progress of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// File name within the repository.
    pub file: String,
    /// Bytes on disk so far (including a resumed part).
    pub done: u64,
    /// Expected size when the server said.
    pub total: Option<u64>,
}

/// The hub address: `$HF_ENDPOINT` or `https://huggingface.co`.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "https://huggingface.co".into())
}

/// Folder a model lands in.
pub fn model_dir(cache_root: &Path, repo: &str, revision: &str) -> PathBuf {
    cache_root
        .join(format!("models--{}", repo.replace('/', "--")))
        .join(revision)
}

/// Why one file could not be fetched.
#[derive(Debug)]
enum FetchError {
    NotFound,
    Other(String),
}

/// Downloads `repo` (e.g. `facebook/hubert-base-ls960`) at `revision` into the cache and returns
/// the model folder (ready for [`super::load_encoder`]). Files already complete are kept.
pub fn download_model(
    repo: &str,
    revision: &str,
    cache_root: &Path,
    progress: &dyn Fn(&Progress),
) -> Result<PathBuf, String> {
    let repo = repo.trim().trim_matches('/');
    if repo.is_empty() || repo.contains("..") || repo.split('/').count() > 2 {
        return Err(format!(
            "'{repo}' is not a model id (owner/name, e.g. facebook/hubert-base-ls960)"
        ));
    }
    let dir = model_dir(cache_root, repo, revision);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .max_redirects(10)
        .build()
        .into();
    let base = endpoint();
    let url = |f: &str| format!("{base}/{repo}/resolve/{revision}/{f}");
    let get = |f: &str| fetch(&agent, &url(f), &dir.join(f), f, progress);
    match get("config.json") {
        Ok(()) => {}
        Err(FetchError::NotFound) => {
            return Err(format!(
                "{}: not found (is '{repo}' a model id and '{revision}' a revision?)",
                url("config.json")
            ));
        }
        Err(FetchError::Other(e)) => return Err(e),
    }
    // Optional: the audio preprocessor's settings, or a text model's tokenizer (tokenizer.json,
    // or BERT's vocab.txt with its casing in tokenizer_config.json).
    let model_type = std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["model_type"].as_str().map(str::to_string))
        .unwrap_or_default();
    let optional: &[&str] = if ["bert", "roberta", "distilbert"].contains(&model_type.as_str()) {
        &["tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    } else {
        &["preprocessor_config.json"]
    };
    for f in optional {
        match get(f) {
            Ok(()) | Err(FetchError::NotFound) => {}
            Err(FetchError::Other(e)) => return Err(e),
        }
    }
    for weights in ["model.safetensors", "pytorch_model.bin"] {
        match get(weights) {
            Ok(()) => return Ok(dir),
            Err(FetchError::NotFound) => continue,
            Err(FetchError::Other(e)) => return Err(e),
        }
    }
    Err(format!(
        "{repo}@{revision}: neither model.safetensors nor pytorch_model.bin exists on {base}"
    ))
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The SHA-256 an ETag names, when it is one (the hub's LFS files).
fn sha256_etag(etag: &str) -> Option<String> {
    let e = etag.trim().trim_start_matches("W/").trim_matches('"');
    (e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit())).then(|| e.to_ascii_lowercase())
}

fn fetch(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    name: &str,
    progress: &dyn Fn(&Progress),
) -> Result<(), FetchError> {
    if dest.is_file() {
        return Ok(()); // only complete, verified files are ever renamed into place
    }
    let other = |m: String| FetchError::Other(m);
    let part = dest.with_file_name(format!("{name}.part"));
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    if let Ok(token) = std::env::var("HF_TOKEN") {
        req = req.header("Authorization", format!("Bearer {}", token.trim()));
    }
    let mut resp = req.call().map_err(|e| {
        other(format!(
            "{url}: cannot reach the hub ({e}). Without network access, put config.json, preprocessor_config.json and model.safetensors (or pytorch_model.bin) into a folder and open that folder instead"
        ))
    })?;
    let status = resp.status().as_u16();
    let (append, mut done) = match status {
        200 => (false, 0),
        206 => (true, have),
        404 => return Err(FetchError::NotFound),
        416 => {
            // The part is at least as long as the file: start over.
            let _ = std::fs::remove_file(&part);
            return fetch(agent, url, dest, name, progress);
        }
        401 | 403 => {
            return Err(other(format!(
                "{url}: HTTP {status} — a gated or private model: set HF_TOKEN to an access token"
            )));
        }
        s => return Err(other(format!("{url}: HTTP {s}"))),
    };
    let etag = header(&resp, "x-linked-etag").or_else(|| header(&resp, "etag"));
    let sha = etag.as_deref().and_then(sha256_etag);
    let total = header(&resp, "x-linked-size")
        .and_then(|s| s.parse::<u64>().ok())
        .or_else(|| {
            header(&resp, "content-length")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|n| n + done)
        });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&part)
        .map_err(|e| other(format!("{}: {e}", part.display())))?;
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    let mut buf = vec![0u8; 1 << 20];
    let mut last_report = 0u64;
    progress(&Progress {
        file: name.into(),
        done,
        total,
    });
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = file.flush();
                return Err(other(format!(
                    "{url}: download interrupted after {done} bytes ({e}); run it again to resume"
                )));
            }
        };
        file.write_all(&buf[..n])
            .map_err(|e| other(format!("{}: {e}", part.display())))?;
        done += n as u64;
        if done - last_report >= 1 << 20 {
            last_report = done;
            progress(&Progress {
                file: name.into(),
                done,
                total,
            });
        }
    }
    file.sync_all()
        .map_err(|e| other(format!("{}: {e}", part.display())))?;
    drop(file);
    progress(&Progress {
        file: name.into(),
        done,
        total,
    });
    if let Some(t) = total
        && done != t
    {
        if done > t {
            let _ = std::fs::remove_file(&part);
        }
        return Err(other(format!(
            "{url}: got {done} of {t} bytes; run it again to resume"
        )));
    }
    if let Some(want) = sha {
        let got = sha256_file(&part).map_err(|e| other(format!("{}: {e}", part.display())))?;
        if got != want {
            let _ = std::fs::remove_file(&part);
            return Err(other(format!(
                "{name}: SHA-256 {got} does not match the hub's {want}; the partial file was deleted, download again"
            )));
        }
    }
    std::fs::rename(&part, dest).map_err(|e| other(format!("{}: {e}", dest.display())))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_and_folders() {
        let h = "a".repeat(64);
        assert_eq!(sha256_etag(&format!("\"{h}\"")), Some(h.clone()));
        assert_eq!(sha256_etag(&format!("W/\"{h}\"")), Some(h));
        assert_eq!(sha256_etag("\"abc-123\""), None);
        assert_eq!(
            model_dir(Path::new("/c"), "facebook/hubert-base-ls960", "main"),
            Path::new("/c/models--facebook--hubert-base-ls960/main")
        );
    }
}
