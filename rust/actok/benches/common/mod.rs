//! Inputs shared by the benchmarks: a deterministic generator, smooth action chunks and the
//! bench tokenizer's directory.

#![allow(dead_code)] // each bench uses part of it

use std::path::PathBuf;

/// Chunk shape of the benchmarks: H time steps, D action dimensions.
pub const H: usize = 50;
/// See [`H`].
pub const D: usize = 14;

/// A tiny deterministic generator (SplitMix64), so the benches need no extra dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `(b, H, D)` row-major smooth chunks: per dimension a sum of three random sinusoids, scaled so
/// the peak is a random value in `[0.2, 1]`.
pub fn smooth_chunks(b: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut x = vec![0.0; b * H * D];
    for chunk in x.chunks_mut(H * D) {
        for d in 0..D {
            let waves: Vec<(f64, f64, f64)> = (0..3)
                .map(|_| {
                    (
                        rng.uniform(0.1, 2.5),
                        rng.uniform(0.0, std::f64::consts::TAU),
                        rng.uniform(0.0, 1.0),
                    )
                })
                .collect();
            let mut peak = 1e-9f64;
            for t in 0..H {
                let time = t as f64 / (H - 1) as f64;
                let v: f64 = waves
                    .iter()
                    .map(|&(f, p, a)| a * (std::f64::consts::TAU * f * time + p).sin())
                    .sum();
                chunk[t * D + d] = v;
                peak = peak.max(v.abs());
            }
            let target = rng.uniform(0.2, 1.0);
            for t in 0..H {
                chunk[t * D + d] = (chunk[t * D + d] / peak * target).clamp(-1.0, 1.0);
            }
        }
    }
    x
}

pub fn tokenizer_dir() -> PathBuf {
    match std::env::var_os("ACTOK_BENCH_TOKENIZER") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/actok/data/robosuite_fast")
        }
    }
}
