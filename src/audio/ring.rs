//! Lock-free single-producer/single-consumer sample ring (rtrb) between the real-time audio
//! callback and the consumer thread. The producer side never allocates, locks or blocks: samples
//! that do not fit are dropped and counted as overruns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The audio callback's end.
pub struct SampleProducer {
    inner: rtrb::Producer<f32>,
    overruns: Arc<AtomicU64>,
}

/// The consumer thread's end.
pub struct SampleConsumer {
    inner: rtrb::Consumer<f32>,
    overruns: Arc<AtomicU64>,
}

/// A ring holding `capacity` samples.
pub fn sample_ring(capacity: usize) -> (SampleProducer, SampleConsumer) {
    let (p, c) = rtrb::RingBuffer::new(capacity.max(1));
    let overruns = Arc::new(AtomicU64::new(0));
    (
        SampleProducer {
            inner: p,
            overruns: overruns.clone(),
        },
        SampleConsumer { inner: c, overruns },
    )
}

impl SampleProducer {
    /// Copies as many samples as fit; the rest are counted as overruns. Real-time safe.
    pub fn push_slice(&mut self, samples: &[f32]) {
        let n = samples.len().min(self.inner.slots());
        if n > 0
            && let Ok(chunk) = self.inner.write_chunk_uninit(n)
        {
            chunk.fill_from_iter(samples[..n].iter().copied());
        }
        if n < samples.len() {
            self.overruns
                .fetch_add((samples.len() - n) as u64, Ordering::Relaxed);
        }
    }
}

impl SampleConsumer {
    /// Moves every available sample to the end of `out`.
    pub fn drain_into(&mut self, out: &mut Vec<f32>) {
        let n = self.inner.slots();
        if let Ok(chunk) = self.inner.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            out.extend_from_slice(a);
            out.extend_from_slice(b);
            chunk.commit_all();
        }
    }

    /// Samples dropped so far because the consumer fell behind.
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overruns_are_counted_and_order_is_kept() {
        let (mut p, mut c) = sample_ring(8);
        p.push_slice(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        p.push_slice(&[6.0, 7.0, 8.0, 9.0, 10.0]); // 3 fit, 2 dropped
        assert_eq!(c.overruns(), 2);
        let mut out = Vec::new();
        c.drain_into(&mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        // After draining, space is free again (wrap-around).
        p.push_slice(&[11.0, 12.0, 13.0, 14.0, 15.0, 16.0]);
        out.clear();
        c.drain_into(&mut out);
        assert_eq!(out, vec![11.0, 12.0, 13.0, 14.0, 15.0, 16.0]);
        assert_eq!(c.overruns(), 2);
    }
}
