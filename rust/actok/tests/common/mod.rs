//! Fixtures shared by the integration tests: the bundled tokenizer and seeded smooth chunks.

#![allow(dead_code)] // each test file uses what it needs

use actok::FastTokenizer;
use std::path::PathBuf;

/// The tokenizer bundled with the Python package (`robosuite_fast`).
pub fn bundled() -> FastTokenizer {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/actok/data/robosuite_fast");
    FastTokenizer::from_pretrained(dir).unwrap()
}

/// `n` smooth `(h, d)` chunks in about [-amp, amp] (seeded LCG random walks).
pub fn chunks(n: usize, h: usize, d: usize, amp: f64, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut out = Vec::with_capacity(n * h * d);
    for _ in 0..n {
        let mut x: Vec<f64> = (0..d).map(|_| next()).collect();
        for _ in 0..h {
            for v in x.iter_mut() {
                *v = (*v + next() * 0.2).clamp(-1.0, 1.0);
                out.push(*v * amp);
            }
        }
    }
    out
}
