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
//! passes over 1000 chunks (default 3).
//! It prints the wall time per chunk too, for a rough look.

mod common;

use actok::{FastTokenizer, FitOptions, OnDecodeError, Overflow};
use common::{smooth_chunks, tokenizer_dir, D, H};

const B: usize = 1000;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let what = args.next().unwrap_or_else(|| "encode".into());
    let passes: usize = args
        .next()
        .map_or(3, |s| s.parse().expect("passes: a number"));
    actok::set_num_threads(Some(1)).unwrap();
    let tok = FastTokenizer::from_pretrained(tokenizer_dir()).expect("bench tokenizer");
    let actions = smooth_chunks(B, 12345);
    // Decoded as i64, the ids the Python bindings pass (numpy int64).
    let ids: Vec<Vec<i64>> = tok
        .encode(&actions, [B, H, D], Overflow::Raise)
        .unwrap()
        .into_iter()
        .map(|seq| seq.into_iter().map(i64::from).collect())
        .collect();
    let start = std::time::Instant::now();
    for _ in 0..passes {
        match what.as_str() {
            "encode" => {
                let out = tok.encode(std::hint::black_box(&actions), [B, H, D], Overflow::Raise);
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
