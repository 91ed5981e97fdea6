//! Criterion benchmark of [`FastTokenizer::fit`] (DCT, pieces and the BPE trainer), single-threaded.
//!
//! * `fit/reference_alphabet` and `fit/lossless_alphabet`: fitting vocab 1024 to 5000 smooth
//!   random-walk chunks of `(H=50, D=14)` in `[-1, 1]`, generated deterministically here.
//!
//! Run with `cargo bench -p actok --bench fit`.

use std::hint::black_box;

use actok::{FastTokenizer, FitAlphabet, FitOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const N: usize = 5000;
const H: usize = 50;
const D: usize = 14;

/// SplitMix64, so the bench needs no extra dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Random walks: per chunk and dimension a start in [-0.8, 0.8] and uniform steps of ±0.07.
fn chunks() -> Vec<f32> {
    let mut rng = Rng(42);
    let mut out = vec![0.0f32; N * H * D];
    for b in 0..N {
        for d in 0..D {
            let mut x = rng.next_f64() * 1.6 - 0.8;
            for t in 0..H {
                x += (rng.next_f64() - 0.5) * 0.14;
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
