//! Criterion benchmarks of constrained decoding (`actok::Constraint`, `ConstraintBatch`).
//!
//! The tokenizer is fitted here (vocab 2048, scale 10, lossless) to 4000 smooth chunks of
//! `(H=50, D=14)`, so `H·D = 700`; the token sequences driven through the constraints are the
//! encodings of 256 other chunks (what a model that had learned the data would generate).
//!
//! * `constraint/table`: solving the automaton for `(50, 14)`;
//! * `constraint/step_b1`: one generation step of one sequence, `mask_into` + `advance`, per
//!   token (the target: 2 µs);
//! * `constraint/batch256_mask`: the `(256, 2048)` mask of a batch mid-sequence, per call (the
//!   target: 0.2 µs per row, so 51 µs);
//! * `constraint/batch256_step`: `mask_into` + `advance` of that batch, per step;
//! * `constraint/batch256_mask_openpi`: the same mask in a 257,152-wide model vocabulary
//!   (PaliGemma's size, openpi's map), per call.
//!
//! Run with `cargo bench -p actok --bench constraint` (one thread).

use std::hint::black_box;
use std::time::{Duration, Instant};

use actok::{Constraint, ConstraintBatch, FastTokenizer, FitOptions, Overflow, VocabMapping};
use criterion::{criterion_group, criterion_main, Criterion};

mod common;

use common::{smooth_chunks, D, H};

const BATCH: usize = 256;

fn setup() -> (FastTokenizer, Vec<Vec<i64>>) {
    actok::set_num_threads(Some(1)).expect("one thread");
    let train = smooth_chunks(4000, 1);
    let options = FitOptions {
        vocab_size: 2048,
        ..FitOptions::default()
    };
    let tok = FastTokenizer::fit(&train, [4000, H, D], &options, None).expect("fit");
    let chunks = smooth_chunks(BATCH, 2);
    let ids = tok
        .encode(&chunks, [BATCH, H, D], Overflow::Clip)
        .expect("encode");
    let ids = ids
        .into_iter()
        .map(|s| s.into_iter().map(i64::from).collect())
        .collect();
    (tok, ids)
}

fn bench_constraint(c: &mut Criterion) {
    let (tok, sequences) = setup();
    let table = tok.constraint_table(H, D).expect("table");
    let vocab_len = table.vocab_len();
    let tokens: usize = sequences.iter().map(Vec::len).sum();
    eprintln!(
        "constraint bench: vocab {vocab_len}, H*D = {}, {} distinct masks, {:.1} tokens per chunk",
        H * D,
        table.distinct_masks(),
        tokens as f64 / BATCH as f64
    );
    let mut group = c.benchmark_group("constraint");
    group.sample_size(20);

    group.bench_function("table", |b| {
        b.iter(|| black_box(tok.constraint_table(H, D).unwrap()))
    });

    // Per token: time whole sequences, divide by their tokens.
    group.bench_function("step_b1", |b| {
        let mut constraint = Constraint::new(table.clone());
        let mut mask = vec![false; vocab_len];
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut steps = 0u64;
            while steps < iters {
                for seq in &sequences {
                    constraint.reset();
                    let start = Instant::now();
                    for &id in seq {
                        constraint.mask_into(&mut mask).unwrap();
                        black_box(&mask);
                        constraint.advance(id).unwrap();
                    }
                    total += start.elapsed();
                    steps += seq.len() as u64;
                    if steps >= iters {
                        break;
                    }
                }
            }
            total.mul_f64(iters as f64 / steps as f64)
        })
    });

    // Every row a few tokens into its sequence.
    let mid_batch = |mapping: &VocabMapping| {
        let mut batch = ConstraintBatch::new(table.clone(), BATCH, mapping).unwrap();
        for step in 0..5 {
            let ids: Vec<i64> = sequences.iter().map(|s| s[step]).collect();
            let ids: Vec<i64> = match &mapping.map {
                Some(map) => ids.iter().map(|&a| map[a as usize]).collect(),
                None => ids,
            };
            batch.advance(&ids).unwrap();
        }
        batch
    };
    let plain = mid_batch(&VocabMapping::default());
    let mut out = vec![false; BATCH * vocab_len];
    group.bench_function("batch256_mask", |b| {
        b.iter(|| plain.mask_into(&mut out, &[BATCH, vocab_len]).unwrap())
    });

    group.bench_function("batch256_step", |b| {
        let mut batch =
            ConstraintBatch::new(table.clone(), BATCH, &VocabMapping::default()).unwrap();
        let longest = sequences.iter().map(Vec::len).max().unwrap();
        let steps: Vec<Vec<i64>> = (0..longest)
            .map(|t| {
                sequences
                    .iter()
                    .map(|s| s.get(t).copied().unwrap_or(-1))
                    .collect()
            })
            .collect();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                batch.reset();
                let start = Instant::now();
                for ids in &steps {
                    batch.mask_into(&mut out, &[BATCH, vocab_len]).unwrap();
                    black_box(&out);
                    batch.advance(ids).unwrap();
                    done += 1;
                    if done >= iters {
                        break;
                    }
                }
                total += start.elapsed();
            }
            total
        })
    });

    let width = 257_152;
    let openpi = VocabMapping {
        map: Some(actok::openpi_vocab_map(width, vocab_len, 128).unwrap()),
        model_vocab_size: Some(width),
        end_id: Some(1),
    };
    let mapped = mid_batch(&openpi);
    let mut wide = vec![false; BATCH * width];
    group.bench_function("batch256_mask_openpi", |b| {
        b.iter(|| mapped.mask_into(&mut wide, &[BATCH, width]).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_constraint);
criterion_main!(benches);
