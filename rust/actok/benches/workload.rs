//! A fixed amount of encode or decode work, for instruction-level profiling: run it under
//! `valgrind --tool=callgrind` (or `perf record`), whose counts, unlike this machine's timers,
//! repeat exactly. Single-threaded, the bench tokenizer and chunks of `benches/core.rs`.
//!
//! ```sh
//! cargo bench -p actok --bench workload --no-run      # prints the binary's path
//! valgrind --tool=callgrind target/release/deps/workload-<hash> encode 3
//! ```
//!
//! Arguments: `encode`, `decode` or `fit` (vocab 1024, the default options), then the number of
//! passes over 1000 chunks (default 3). Encodes go through [`FastTokenizer::encode_rows`] (ids
//! in one buffer), the encode the Python bindings call; [`FastTokenizer::encode`]'s `Vec` per
//! chunk would add an allocation and a free per chunk that Python users never pay.
//! It prints the wall time per chunk too, for a rough look.
//!
//! `shape DIR H D CONTENT PASSES` encodes about 100,000 values of `H×D` chunks (`CONTENT`:
//! `smooth`, `noisy` or `zero`) with the tokenizer in `DIR`, whatever shape it was fitted on
//! (`check_shape` off, coefficients out of its range clipped): the per-cell instruction counts
//! of the shape sweep (`benches/sweep_instructions.py`).

mod common;

use actok::{EncodeOptions, FastTokenizer, FitOptions, OnDecodeError, Overflow};
use common::{smooth_chunks, tokenizer_dir, D, H};

const B: usize = 1000;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let what = args.next().unwrap_or_else(|| "encode".into());
    let passes_or_dir = args.next();
    actok::set_num_threads(Some(1)).unwrap();
    if what == "shape" {
        let rest: Vec<String> = args.collect();
        return shape_workload(&passes_or_dir, &rest);
    }
    let passes: usize = passes_or_dir.map_or(3, |s| s.parse().expect("passes: a number"));
    let tok = FastTokenizer::from_pretrained(tokenizer_dir()).expect("bench tokenizer");
    let actions = smooth_chunks(B, 12345);
    // The bundled tokenizer records the shape it was fitted on (20×7), not the bench's.
    let any_shape = EncodeOptions {
        overflow: Overflow::Raise,
        check_shape: false,
    };
    // Decoded as i64, the ids the Python bindings pass (numpy int64).
    let ids: Vec<Vec<i64>> = tok
        .encode(&actions, [B, H, D], any_shape)
        .unwrap()
        .into_iter()
        .map(|seq| seq.into_iter().map(i64::from).collect())
        .collect();
    let start = std::time::Instant::now();
    for _ in 0..passes {
        match what.as_str() {
            "encode" => {
                let out = tok.encode_rows(std::hint::black_box(&actions), [B, H, D], any_shape);
                std::hint::black_box(out.unwrap());
            }
            "decode" => {
                let out = tok.decode(std::hint::black_box(&ids), H, D, OnDecodeError::Raise);
                std::hint::black_box(out.unwrap());
            }
            "fit" => {
                let options = FitOptions::default();
                let out =
                    FastTokenizer::fit(std::hint::black_box(&actions), [B, H, D], &options, None);
                std::hint::black_box(out.unwrap());
            }
            other => panic!("unknown workload {other:?}: encode, decode or fit"),
        }
    }
    let per_chunk = start.elapsed().as_secs_f64() * 1e6 / (passes * B) as f64;
    println!("{what}: {passes} x {B} chunks of {H}x{D}, {per_chunk:.2} us per chunk (wall)");
}

/// `shape DIR H D CONTENT PASSES` (module docs).
fn shape_workload(dir: &Option<String>, rest: &[String]) {
    let usage = "shape DIR H D smooth|noisy|zero PASSES";
    let dir = dir.as_ref().expect(usage);
    let [h, d, content, passes] = rest else {
        panic!("{usage}")
    };
    let (h, d): (usize, usize) = (h.parse().expect(usage), d.parse().expect(usage));
    let passes: usize = passes.parse().expect(usage);
    let tok = FastTokenizer::from_pretrained(dir).expect("tokenizer directory");
    let b = (100_000 / (h * d)).max(4);
    let actions = shape_chunks(b, h, d, content);
    let options = EncodeOptions {
        overflow: Overflow::Clip,
        check_shape: false,
    };
    // Warm-up outside the counted passes: tables built on first use.
    std::hint::black_box(tok.encode_rows(&actions, [b, h, d], options).unwrap());
    counted_passes(&tok, &actions, [b, h, d], options, passes);
    println!("shape: {b} chunks of {h}x{d} {content}, {passes} passes");
}

/// The encodes to count: `valgrind --tool=callgrind --toggle-collect='*counted_passes*'`.
#[inline(never)]
fn counted_passes(
    tok: &FastTokenizer,
    actions: &[f64],
    shape: [usize; 3],
    options: EncodeOptions,
    passes: usize,
) {
    for _ in 0..passes {
        let out = tok.encode_rows(std::hint::black_box(actions), shape, options);
        std::hint::black_box(out.unwrap());
    }
}

/// `(b, h, d)` chunks: smooth (three random sinusoids per dimension, peak in `[0.2, 1]`), the
/// same plus uniform noise of standard deviation 0.05, or zeros.
fn shape_chunks(b: usize, h: usize, d: usize, content: &str) -> Vec<f64> {
    let mut rng = common::Rng(h as u64 * 100 + d as u64);
    let mut x = vec![0.0; b * h * d];
    if content == "zero" {
        return x;
    }
    assert!(
        content == "smooth" || content == "noisy",
        "content: smooth, noisy or zero"
    );
    for chunk in x.chunks_mut(h * d) {
        for dim in 0..d {
            let waves: Vec<(f64, f64, f64)> = (0..3)
                .map(|_| {
                    (
                        rng.uniform(0.1, 2.5),
                        rng.uniform(0.0, std::f64::consts::TAU),
                        rng.uniform(0.0, 1.0),
                    )
                })
                .collect();
            let column: Vec<f64> = (0..h)
                .map(|t| {
                    let time = t as f64 / (h.max(2) - 1) as f64;
                    waves
                        .iter()
                        .map(|&(f, p, a)| a * (std::f64::consts::TAU * f * time + p).sin())
                        .sum()
                })
                .collect();
            let peak = column.iter().fold(1e-9f64, |m, v| m.max(v.abs()));
            let target = rng.uniform(0.2, 1.0);
            for (t, v) in column.iter().enumerate() {
                chunk[t * d + dim] = v / peak * target;
            }
        }
    }
    if content == "noisy" {
        // Uniform on [-a, a] has standard deviation a / sqrt(3).
        let a = 0.05 * 3f64.sqrt();
        for v in x.iter_mut() {
            *v = (*v + rng.uniform(-a, a)).clamp(-1.0, 1.0);
        }
    }
    x
}
