//! A process-wide cache of audio headers keyed by (path, size, modification time), persisted as
//! JSON, so that inspecting a large corpus a second time only stats the files.
//!
//! Off until [`enable`] names the cache file; [`save`] writes it back atomically when it changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::audio::WavHeader;

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: u128,
    sample_rate_hz: u32,
    channels: u16,
    bits_per_sample: u16,
    audio_frames: u64,
}

#[derive(Default)]
struct Cache {
    file: Option<PathBuf>,
    entries: HashMap<PathBuf, Entry>,
    dirty: bool,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn stamp(path: &Path) -> Option<(u64, u128)> {
    let md = std::fs::metadata(path).ok()?;
    let mtime = md
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((md.len(), mtime))
}

/// Turns the cache on, backed by `file` (loaded now if it exists; an unreadable or corrupt file
/// is ignored and rebuilt).
pub fn enable(file: &Path) {
    let entries = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Ok(mut g) = CACHE.lock() {
        *g = Some(Cache {
            file: Some(file.to_path_buf()),
            entries,
            dirty: false,
        });
    }
}

/// The cached header of `path` if its size and modification time are unchanged.
pub fn get(path: &Path) -> Option<WavHeader> {
    let g = CACHE.lock().ok()?;
    let c = g.as_ref()?;
    let e = c.entries.get(path)?;
    let (size, mtime_ns) = stamp(path)?;
    (e.size == size && e.mtime_ns == mtime_ns).then_some(WavHeader {
        sample_rate_hz: e.sample_rate_hz,
        channels: e.channels,
        bits_per_sample: e.bits_per_sample,
        audio_frames: e.audio_frames,
    })
}

/// Remembers a freshly read header.
pub fn put(path: &Path, h: &WavHeader) {
    let Some((size, mtime_ns)) = stamp(path) else {
        return;
    };
    if let Ok(mut g) = CACHE.lock()
        && let Some(c) = g.as_mut()
    {
        c.entries.insert(
            path.to_path_buf(),
            Entry {
                size,
                mtime_ns,
                sample_rate_hz: h.sample_rate_hz,
                channels: h.channels,
                bits_per_sample: h.bits_per_sample,
                audio_frames: h.audio_frames,
            },
        );
        c.dirty = true;
    }
}

/// Writes the cache back (atomically) when it changed.
pub fn save() -> std::io::Result<()> {
    let Ok(mut g) = CACHE.lock() else {
        return Ok(());
    };
    let Some(c) = g.as_mut() else { return Ok(()) };
    let Some(file) = c.file.clone() else {
        return Ok(());
    };
    if !c.dirty {
        return Ok(());
    }
    let bytes = serde_json::to_vec(&c.entries).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic(&file, &bytes)?;
    c.dirty = false;
    Ok(())
}
