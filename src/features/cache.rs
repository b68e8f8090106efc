//! On-disk feature cache keyed by (audio content hash, extractor name + all parameters).
//!
//! Entry layout: magic `SERFEAT1`, n_frames u32, n_bins u32, f32 LE data, then the BLAKE3 hash
//! of everything before it. An entry whose size or hash does not check out (partial write, disk
//! corruption, format change) is recomputed and rewritten, never trusted. Writes are atomic.
//!
//! Several processes may share one cache (the Slurm tasks of a run or a grid, README "On a
//! cluster"). The process that computes an entry first claims `<entry>.lock` (created
//! exclusively); another one that needs the same entry meanwhile waits for it instead of
//! computing it a second time, unless the lock is older than [`STALE_LOCK`] (its owner was
//! killed): then it computes the entry itself.

use std::path::{Path, PathBuf};

use super::{FeatureConfig, FeatureMatrix};

const MAGIC: &[u8; 8] = b"SERFEAT1";

/// A claim on an entry older than this is taken to be left by a killed process.
pub const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(600);

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
        let claim = match EntryClaim::take(&entry) {
            Claim::Ours(c) => Some(c),
            Claim::Theirs => {
                if let Some(m) = wait_for_entry(&entry) {
                    return Ok((m, CacheOutcome::Hit));
                }
                None
            }
            Claim::Unavailable => None,
        };
        let m = compute(path);
        // A failed cache write costs only speed; the features are still returned.
        if let Ok(m) = &m {
            let _ = write_entry(&entry, m);
        }
        drop(claim);
        let m = m?;
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
        self.lookup_key(path, extractor_key).is_some()
    }

    /// The valid entry for `path` under an external extractor key, if there is one (reads and
    /// hashes the file; an unreadable file has none).
    pub fn lookup_key(&self, path: &Path, extractor_key: &str) -> Option<FeatureMatrix> {
        let bytes = std::fs::read(path).ok()?;
        read_entry(&self.entry_path_for_key(&blake3::hash(&bytes), extractor_key))
    }

    /// Whether a valid entry exists for `path` (reads and hashes the file).
    pub fn is_cached(&self, path: &Path, cfg: &FeatureConfig) -> bool {
        self.is_cached_key(path, &cfg.extractor_key())
    }
}

/// An exclusive claim on computing one entry (`<entry>.lock`), released on drop.
struct EntryClaim(PathBuf);

enum Claim {
    /// This process computes the entry.
    Ours(EntryClaim),
    /// Another process is computing it.
    Theirs,
    /// No lock could be made (read-only cache): compute without one.
    Unavailable,
}

fn lock_path(entry: &Path) -> PathBuf {
    entry.with_extension("feat.lock")
}

impl EntryClaim {
    fn take(entry: &Path) -> Claim {
        let lock = lock_path(entry);
        if let Some(dir) = lock.parent()
            && std::fs::create_dir_all(dir).is_err()
        {
            return Claim::Unavailable;
        }
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = writeln!(f, "pid {}", std::process::id());
                    return Claim::Ours(EntryClaim(lock));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !lock_is_stale(&lock) {
                        return Claim::Theirs;
                    }
                    // Left by a killed process: take it over.
                    let _ = std::fs::remove_file(&lock);
                }
                Err(_) => return Claim::Unavailable,
            }
        }
        Claim::Unavailable
    }
}

impl Drop for EntryClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn lock_is_stale(lock: &Path) -> bool {
    std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_LOCK)
}

/// Waits while another process holds the claim on `entry`; the entry when it appears valid,
/// `None` when the claim went away without one (that process failed) or went stale.
fn wait_for_entry(entry: &Path) -> Option<FeatureMatrix> {
    let lock = lock_path(entry);
    loop {
        if let Some(m) = read_entry(entry) {
            return Some(m);
        }
        if !lock.exists() {
            // Released between the two checks, or by a process that failed.
            return read_entry(entry);
        }
        if lock_is_stale(&lock) {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
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

    /// A second process that needs an entry another one is computing waits and reads it
    /// instead of computing it again; a claim left by a killed process is taken over.
    #[test]
    fn a_claimed_entry_is_waited_for_and_a_stale_claim_taken_over() {
        let dir = tempfile::tempdir().expect("tmp");
        let wav = dir.path().join("a.wav");
        crate::audio::write_wav_i16(&wav, &[0.1f32; 1600], 16_000).expect("wav");
        let cache = FeatureCache::new(dir.path().join("cache"));
        let key = "test-extractor v1";
        let entry = cache.entry_path_for_key(&blake3::hash(&std::fs::read(&wav).expect("r")), key);
        let Claim::Ours(claim) = EntryClaim::take(&entry) else {
            panic!("first claim")
        };
        assert!(matches!(EntryClaim::take(&entry), Claim::Theirs));
        let want = FeatureMatrix::zeros(3, 2);
        let computed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                cache.get_or_compute_with(&wav, key, |_| {
                    computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(FeatureMatrix::zeros(1, 1))
                })
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            // The claiming "process" finishes its entry.
            write_entry(&entry, &want).expect("write");
            drop(claim);
            let (m, outcome) = waiter.join().expect("join").expect("features");
            assert_eq!((m, outcome), (want.clone(), CacheOutcome::Hit));
        });
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert!(!lock_path(&entry).exists());

        // A stale claim (its owner killed): computed here, the lock removed.
        std::fs::remove_file(&entry).expect("rm");
        let Claim::Ours(old) = EntryClaim::take(&entry) else {
            panic!("claim")
        };
        std::mem::forget(old);
        let f = std::fs::File::options()
            .write(true)
            .open(lock_path(&entry))
            .expect("lock");
        f.set_modified(std::time::SystemTime::now() - STALE_LOCK * 2)
            .expect("age the lock");
        let (m, outcome) = cache
            .get_or_compute_with(&wav, key, |_| Ok(FeatureMatrix::zeros(2, 2)))
            .expect("features");
        assert_eq!(
            (m, outcome),
            (FeatureMatrix::zeros(2, 2), CacheOutcome::Miss)
        );
        assert!(!lock_path(&entry).exists());
    }

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
