//! On-disk feature cache keyed by (audio content hash, extractor name + all parameters).
//!
//! Entry layout: magic `SERFEAT1`, n_frames u32, n_bins u32, f32 LE data, then the BLAKE3 hash
//! of everything before it. An entry whose size or hash does not check out (partial write, disk
//! corruption, format change) is recomputed and rewritten, never trusted. Writes are atomic.

use std::path::{Path, PathBuf};

use super::{FeatureConfig, FeatureMatrix};

const MAGIC: &[u8; 8] = b"SERFEAT1";

/// Cache rooted at a folder; one sub-folder per extractor configuration.
#[derive(Clone, Debug)]
pub struct FeatureCache {
    root: PathBuf,
}

/// Where an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Valid entry read from disk.
    Hit,
    /// No entry: computed and stored.
    Miss,
    /// An entry existed but was invalid: recomputed and replaced.
    Rebuilt,
}

impl FeatureCache {
    /// Cache in `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry_path_for_key(&self, audio_hash: &blake3::Hash, extractor_key: &str) -> PathBuf {
        let key = blake3::hash(extractor_key.as_bytes()).to_hex();
        self.root
            .join(&key[..16])
            .join(format!("{}.feat", audio_hash.to_hex()))
    }

    /// Like [`Self::get_or_compute`] for extractors that live outside this module (SSL
    /// encoders): `extractor_key` must name the extractor, all its parameters and its weights.
    pub fn get_or_compute_with(
        &self,
        path: &Path,
        extractor_key: &str,
        compute: impl FnOnce(&Path) -> Result<FeatureMatrix, String>,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let entry = self.entry_path_for_key(&blake3::hash(&bytes), extractor_key);
        let existed = entry.exists();
        if existed && let Some(m) = read_entry(&entry) {
            return Ok((m, CacheOutcome::Hit));
        }
        let m = compute(path)?;
        // A failed cache write costs only speed; the features are still returned.
        let _ = write_entry(&entry, &m);
        Ok((
            m,
            if existed {
                CacheOutcome::Rebuilt
            } else {
                CacheOutcome::Miss
            },
        ))
    }

    /// Features of `path` under `cfg`: from the cache when a valid entry exists, else computed
    /// from the audio (loaded and resampled to 16 kHz) and stored.
    pub fn get_or_compute(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
    ) -> Result<(FeatureMatrix, CacheOutcome), String> {
        self.get_or_compute_with(path, &cfg.extractor_key(), |p| {
            crate::features::extract_file(p, cfg).map_err(|e| e.to_string())
        })
    }

    /// Whether a valid entry exists for `path` under an external extractor key (SSL streams).
    pub fn is_cached_key(&self, path: &Path, extractor_key: &str) -> bool {
        std::fs::read(path).is_ok_and(|b| {
            read_entry(&self.entry_path_for_key(&blake3::hash(&b), extractor_key)).is_some()
        })
    }

    /// Whether a valid entry exists for `path` (reads and hashes the file).
    pub fn is_cached(&self, path: &Path, cfg: &FeatureConfig) -> bool {
        self.is_cached_key(path, &cfg.extractor_key())
    }
}

fn read_entry(path: &Path) -> Option<FeatureMatrix> {
    let b = std::fs::read(path).ok()?;
    if b.len() < 16 + 32 || &b[..8] != MAGIC {
        return None;
    }
    let (body, tail) = b.split_at(b.len() - 32);
    if blake3::hash(body).as_bytes() != tail {
        return None;
    }
    let n_frames = u32::from_le_bytes(body[8..12].try_into().ok()?) as usize;
    let n_bins = u32::from_le_bytes(body[12..16].try_into().ok()?) as usize;
    let data_bytes = &body[16..];
    if data_bytes.len() != n_frames * n_bins * 4 {
        return None;
    }
    let data = data_bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(FeatureMatrix {
        n_frames,
        n_bins,
        data,
    })
}

fn write_entry(path: &Path, m: &FeatureMatrix) -> std::io::Result<()> {
    let mut b = Vec::with_capacity(16 + m.data.len() * 4 + 32);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&(m.n_frames as u32).to_le_bytes());
    b.extend_from_slice(&(m.n_bins as u32).to_le_bytes());
    for v in &m.data {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let h = blake3::hash(&b);
    b.extend_from_slice(h.as_bytes());
    crate::fsutil::write_atomic(path, &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::LogMelConfig;

    #[test]
    fn hit_miss_and_rebuild_of_corrupt_entries() {
        let dir = tempfile::tempdir().expect("tmp");
        let wav = dir.path().join("a.wav");
        let x: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        crate::audio::write_wav_i16(&wav, &x, 16_000).expect("wav");
        let cache = FeatureCache::new(dir.path().join("cache"));
        let cfg = FeatureConfig {
            logmel: LogMelConfig::short_window(40),
            ..FeatureConfig::default()
        };
        let (a, o1) = cache.get_or_compute(&wav, &cfg).expect("a");
        assert_eq!(o1, CacheOutcome::Miss);
        let (b, o2) = cache.get_or_compute(&wav, &cfg).expect("b");
        assert_eq!(o2, CacheOutcome::Hit);
        assert_eq!(a, b);
        assert!(cache.is_cached(&wav, &cfg));
        // Truncate the entry: detected, rebuilt, identical result.
        let entry = cache.entry_path_for_key(
            &blake3::hash(&std::fs::read(&wav).expect("r")),
            &cfg.extractor_key(),
        );
        let bytes = std::fs::read(&entry).expect("entry");
        std::fs::write(&entry, &bytes[..bytes.len() / 2]).expect("corrupt");
        let (c, o3) = cache.get_or_compute(&wav, &cfg).expect("c");
        assert_eq!(o3, CacheOutcome::Rebuilt);
        assert_eq!(a, c);
        // Flip one data byte: hash mismatch → rebuilt.
        let mut bytes = std::fs::read(&entry).expect("entry");
        bytes[20] ^= 0xFF;
        std::fs::write(&entry, &bytes).expect("flip");
        assert_eq!(
            cache.get_or_compute(&wav, &cfg).expect("d").1,
            CacheOutcome::Rebuilt
        );
        // Other parameters → other key.
        let cfg2 = FeatureConfig {
            logmel: LogMelConfig::short_window(64),
            ..cfg
        };
        assert_eq!(
            cache.get_or_compute(&wav, &cfg2).expect("e").1,
            CacheOutcome::Miss
        );
    }
}
