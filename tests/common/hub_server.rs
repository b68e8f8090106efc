//! A loopback HTTP server that behaves like huggingface.co's `resolve` URLs: 302 to the file,
//! `X-Linked-Etag` = SHA-256, `X-Linked-Size`, byte ranges; can cut a body or lie about a hash.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::Digest;

#[derive(Default)]
pub struct Behaviour {
    pub files: HashMap<String, Vec<u8>>,
    /// Files whose first body is cut after half the bytes.
    pub cut_first: Vec<String>,
    /// Files served with a wrong SHA-256 ETag.
    pub bad_etag: Vec<String>,
    /// (path, Range header) of every request.
    pub log: Vec<(String, Option<String>)>,
}

pub fn sha_hex(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Starts the server; returns its base URL.
pub fn serve(b: Arc<Mutex<Behaviour>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range:") {
                    range = Some(v.trim().to_string());
                }
            }
            let mut st = b.lock().unwrap();
            st.log.push((path.clone(), range.clone()));
            if let Some(name) = path.strip_prefix("/org/tiny/resolve/main/") {
                let _ = write!(
                    s,
                    "HTTP/1.1 302 Found\r\nLocation: /blob/{name}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            }
            let name = path.strip_prefix("/blob/").unwrap_or("").to_string();
            let Some(body) = st.files.get(&name).cloned() else {
                let _ = write!(
                    s,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            };
            let etag = if st.bad_etag.contains(&name) {
                "0".repeat(64)
            } else {
                sha_hex(&body)
            };
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
                .unwrap_or(0);
            let part = &body[start.min(body.len())..];
            let status = if start > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nX-Linked-Size: {}\r\nX-Linked-Etag: \"{etag}\"\r\nConnection: close\r\n\r\n",
                part.len(),
                body.len()
            );
            if let Some(i) = st.cut_first.iter().position(|f| *f == name) {
                st.cut_first.remove(i);
                let _ = s.write_all(&part[..part.len() / 2]);
                let _ = s.flush();
                let _ = s.shutdown(std::net::Shutdown::Both);
                continue;
            }
            let _ = s.write_all(part);
        }
    });
    format!("http://{addr}")
}

pub fn tiny_files(weights: &str) -> HashMap<String, Vec<u8>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssl");
    let dir = if weights == "pytorch_model.bin" {
        src.join("hubert_tiny_bin")
    } else {
        src.join("hubert_tiny")
    };
    ["config.json", "preprocessor_config.json", weights]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).expect("fixture")))
        .collect()
}
