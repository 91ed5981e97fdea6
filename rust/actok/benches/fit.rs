//! Criterion benchmark of [`FastTokenizer::fit`] (DCT, pieces and the BPE trainer), single-threaded.
//!
//! * `fit/reference_alphabet` and `fit/lossless_alphabet`: fitting vocab 1024 to 5000 smooth
//!   random-walk chunks of `(H=50, D=14)` in `[-1, 1]`, generated deterministically here.
//!
//! Run with `cargo bench -p actok --bench fit`.

use std::hint::black_box;

use actok::{FastTokenizer, FitAlphabet, FitOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod common;

use common::{Rng, D, H};

const N: usize = 5000;

/// Random walks: per chunk and dimension a start in [-0.8, 0.8] and uniform steps of ±0.07.
fn chunks() -> Vec<f32> {
    let mut rng = Rng(42);
    let mut out = vec![0.0f32; N * H * D];
    for b in 0..N {
        for d in 0..D {
            let mut x = rng.uniform(0.0, 1.0) * 1.6 - 0.8;
            for t in 0..H {
                x += (rng.uniform(0.0, 1.0) - 0.5) * 0.14;
                out[(b * H + t) * D + d] = x.clamp(-1.0, 1.0) as f32;
            }
        }
    }
    out
}

fn bench_fit(c: &mut Criterion) {
    actok::set_num_threads(Some(1)).expect("one thread");
    let data = chunks();
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    for (name, alphabet) in [
        ("reference_alphabet", FitAlphabet::Reference),
        ("lossless_alphabet", FitAlphabet::Lossless),
    ] {
        let options = FitOptions {
            alphabet,
            ..FitOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| FastTokenizer::fit(black_box(&data), [N, H, D], &options, None).expect("fit"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fit);
criterion_main!(benches);
