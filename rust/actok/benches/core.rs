//! Criterion benchmarks of actok's hot paths, single-threaded.
//!
//! * `dct/forward` and `dct/inverse`: the FAST DCT-II / DCT-III of a `(B=1000, H=50, D=14)`
//!   batch;
//! * `tokenizer/encode` and `tokenizer/decode`: [`FastTokenizer::encode`] / `decode` of the same
//!   batch;
//! * `bpe/encode_piece`: [`actok::Bpe::encode_piece`] on the longest pre-tokenized piece of the
//!   batch (with `min_token = -354` a whole chunk is one ~1400-byte piece);
//! * `bpe/actok_all_pieces` and `bpe/tokenizers_crate_all_pieces`: every pre-tokenized piece of
//!   the first 200 chunks, encoded by actok's BPE and by the `tokenizers` crate's BPE model
//!   (`Model::tokenize` on the byte-level-mapped piece, i.e. its BPE alone, without its
//!   pre-tokenizer or post-processing; its cache is turned off, as actok's long pieces are not
//!   cached either). The ids are checked equal before timing.
//!
//! The tokenizer is the demo one committed in `python/actok/data/robosuite_fast` (vocab 1024,
//! `min_token = -354`); set `ACTOK_BENCH_TOKENIZER` to a FAST directory to bench another. The
//! actions are smooth sinusoid chunks in `[-1, 1]`, generated deterministically here.
//!
//! Run with `cargo bench -p actok --bench core` (add `-- <filter>` to pick benchmarks).

use std::hint::black_box;

use actok::dct::{transform_axis, DctSpec};
use actok::{BpeScratch, FastTokenizer, OnDecodeError, Overflow};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod common;

use common::{smooth_chunks, tokenizer_dir, D, H};

const B: usize = 1000;

/// The longest pre-tokenized piece (as UTF-8 bytes) among the first chunks of `actions`,
/// built the way the encoder builds it: DCT, `round(c * scale)`, `chr(q - min_token)`.
fn longest_piece(tok: &FastTokenizer, actions: &[f64]) -> Vec<u8> {
    // The first of the longest, as a strict comparison keeps it.
    all_pieces(tok, actions, 50)
        .into_iter()
        .fold(
            Vec::new(),
            |best, p| if p.len() > best.len() { p } else { best },
        )
}

/// Every pre-tokenized piece (UTF-8 bytes) of the first `n` chunks of `actions`.
fn all_pieces(tok: &FastTokenizer, actions: &[f64], n: usize) -> Vec<Vec<u8>> {
    let (scale, min_token) = (tok.config().scale, tok.config().min_token);
    let mut pieces = Vec::new();
    for chunk in actions.chunks(H * D).take(n) {
        let mut c = vec![0.0; H * D];
        transform_axis(DctSpec::FAST_FORWARD, chunk, &mut c, [1, H, D]).unwrap();
        let text: String = c
            .iter()
            .map(|&v| {
                let q = (v * scale).round_ties_even() as i64 - min_token;
                char::from_u32(q.max(0) as u32).unwrap_or('\u{0}')
            })
            .collect();
        pieces.extend(
            actok::pretokenize(&text)
                .iter()
                .map(|p| p.as_bytes().to_vec()),
        );
    }
    pieces
}

/// GPT-2's byte-level map (bytes to printable characters), as the `tokenizers` model sees pieces.
fn byte_level(bytes: &[u8]) -> String {
    let mut printable: Vec<u32> = (b'!'..=b'~').map(u32::from).collect();
    printable.extend((0xA1..=0xAC).chain(0xAE..=0xFF));
    let mut map = [' '; 256];
    let mut extra = 0;
    for b in 0..256u32 {
        map[b as usize] = if printable.contains(&b) {
            char::from_u32(b).unwrap()
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap()
        };
    }
    bytes.iter().map(|&b| map[b as usize]).collect()
}

/// The `tokenizers` crate's BPE model of the bench tokenizer, with its cache off.
fn tokenizers_bpe() -> tokenizers::models::bpe::BPE {
    let file = tokenizer_dir().join("tokenizer.json");
    let tok = tokenizers::Tokenizer::from_file(&file)
        .unwrap_or_else(|e| panic!("tokenizers cannot load {}: {e}", file.display()));
    match tok.get_model() {
        tokenizers::ModelWrapper::BPE(bpe) => {
            let mut bpe = bpe.clone();
            bpe.resize_cache(0);
            bpe
        }
        _ => panic!("not a BPE model"),
    }
}

fn bench_against_tokenizers_crate(c: &mut Criterion, tok: &FastTokenizer, actions: &[f64]) {
    use tokenizers::Model;
    let pieces = all_pieces(tok, actions, 200);
    let mapped: Vec<String> = pieces.iter().map(|p| byte_level(p)).collect();
    let theirs = tokenizers_bpe();
    let bpe = tok.bpe();
    let mut scratch = BpeScratch::default();
    let mut out = Vec::new();
    for (piece, text) in pieces.iter().zip(&mapped) {
        out.clear();
        bpe.encode_piece(piece, &mut scratch, &mut out);
        let ids: Vec<u32> = theirs
            .tokenize(text)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(
            out, ids,
            "actok and the tokenizers crate disagree on a piece"
        );
    }
    let bytes: usize = pieces.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("bpe");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function(format!("actok_all_pieces_{}", pieces.len()), |bench| {
        bench.iter(|| {
            let mut n = 0;
            for piece in &pieces {
                out.clear();
                bpe.encode_piece(black_box(piece), &mut scratch, &mut out);
                n += out.len();
            }
            n
        })
    });
    group.bench_function(
        format!("tokenizers_crate_all_pieces_{}", pieces.len()),
        |bench| {
            bench.iter(|| {
                let mut n = 0;
                for text in &mapped {
                    n += theirs.tokenize(black_box(text)).unwrap().len();
                }
                n
            })
        },
    );
    group.finish();
}

fn benches(c: &mut Criterion) {
    actok::set_num_threads(Some(1)).unwrap();
    let dir = tokenizer_dir();
    let tok = FastTokenizer::from_pretrained(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot load the bench tokenizer from {}: {e}",
            dir.display()
        )
    });
    let actions = smooth_chunks(B, 12345);

    let mut group = c.benchmark_group("dct");
    group.throughput(Throughput::Elements(B as u64));
    let mut coefficients = vec![0.0; B * H * D];
    group.bench_function("forward_1000x50x14", |bench| {
        bench.iter(|| {
            transform_axis(
                DctSpec::FAST_FORWARD,
                black_box(&actions),
                &mut coefficients,
                [B, H, D],
            )
            .unwrap()
        })
    });
    let mut back = vec![0.0; B * H * D];
    group.bench_function("inverse_1000x50x14", |bench| {
        bench.iter(|| {
            transform_axis(
                DctSpec::FAST_INVERSE,
                black_box(&coefficients),
                &mut back,
                [B, H, D],
            )
            .unwrap()
        })
    });
    group.finish();

    let ids = tok.encode(&actions, [B, H, D], Overflow::Clip).unwrap();
    // Decoded as i64, the ids the Python bindings pass (numpy int64).
    let ids64: Vec<Vec<i64>> = ids
        .iter()
        .map(|s| s.iter().map(|&i| i64::from(i)).collect())
        .collect();
    let mut group = c.benchmark_group("tokenizer");
    group.throughput(Throughput::Elements(B as u64));
    group.sample_size(20);
    group.bench_function("encode_1000x50x14", |bench| {
        bench.iter(|| {
            tok.encode(black_box(&actions), [B, H, D], Overflow::Clip)
                .unwrap()
        })
    });
    group.bench_function("decode_1000x50x14", |bench| {
        bench.iter(|| {
            tok.decode(black_box(&ids64), H, D, OnDecodeError::Raise)
                .unwrap()
        })
    });
    group.finish();

    let piece = longest_piece(&tok, &actions);
    let bpe = tok.bpe();
    let mut scratch = BpeScratch::default();
    let mut out = Vec::new();
    let mut group = c.benchmark_group("bpe");
    group.throughput(Throughput::Bytes(piece.len() as u64));
    group.bench_function(format!("encode_piece_{}B", piece.len()), |bench| {
        bench.iter(|| {
            out.clear();
            bpe.encode_piece(black_box(&piece), &mut scratch, &mut out);
            out.len()
        })
    });
    group.finish();
    bench_against_tokenizers_crate(c, &tok, &actions);
}

criterion_group!(core, benches);
criterion_main!(core);
