//! Decodes arbitrary id sequences (any `i64`: negative, past the vocabulary, huge) with the
//! bundled tokenizer, for arbitrary small `(H, D)` and every `on_error` mode, and checks:
//!
//! * `raise` either succeeds with every chunk valid and finite, or fails with an
//!   [`Error::Decode`] naming a chunk `< B` — the first failing one: earlier chunks decode alone
//!   and the named chunk alone fails for the same reason;
//! * the reason is true of the sequence: `UnknownId` names the first out-of-range id and its
//!   position, `WrongLength` expects `H·D` and got something else;
//! * `pad` and `zeros` always succeed, mark exactly the chunks that fail alone as invalid, give
//!   bit-identical actions for valid chunks, and `zeros` gives literal zeros for invalid ones;
//! * a valid chunk re-encodes (with `raise`) and that re-encoding decodes to the same actions bit
//!   for bit (the ids may differ: arbitrary ids need not be the canonical BPE encoding).
#![no_main]

use actok::{DecodeIssue, Error, OnDecodeError, Overflow};
use actok_fuzz::TOKENIZER;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn id(u: &mut Unstructured, vocab: i64) -> Result<i64> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=5 => u.int_in_range(0..=vocab - 1)?,
        6 => u.int_in_range(0..=255)?,
        7 => {
            u.int_in_range(-2..=2)?
                + [0, vocab, i64::MIN + 2, i64::MAX - 2][u.int_in_range(0..=3)?]
        }
        _ => u.arbitrary()?,
    })
}

fn decode_one<I: actok::InputId>(seq: &[I], horizon: usize, dim: usize) -> actok::Result<Vec<f64>> {
    TOKENIZER
        .decode(&[seq], horizon, dim, OnDecodeError::Raise)
        .map(|d| d.actions)
}

fn check_reason(seq: &[i64], reason: &DecodeIssue, horizon: usize, dim: usize, vocab: i64) {
    match reason {
        DecodeIssue::UnknownId {
            position,
            id,
            vocab_len,
        } => {
            assert_eq!(*vocab_len as i64, vocab);
            let first = seq.iter().position(|&i| !(0..vocab).contains(&i));
            assert_eq!(first, Some(*position), "{reason}");
            assert_eq!(seq[*position], *id, "{reason}");
        }
        DecodeIssue::WrongLength { got, expected } => {
            assert_eq!(*expected, horizon * dim, "{reason}");
            assert_ne!(got, expected, "{reason}");
        }
        DecodeIssue::InvalidUtf8 { .. } => {
            assert!(seq.iter().all(|i| (0..vocab).contains(i)), "{reason}");
        }
        other => panic!("unexpected decode issue {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let vocab = TOKENIZER.bpe().vocab_len() as i64;
    let Ok((batch, horizon, dim)) = (|| -> Result<_> {
        let horizon = if u.ratio(1, 16)? {
            u.int_in_range(250..=300)?
        } else {
            u.int_in_range(1..=24)?
        };
        Ok((u.int_in_range(0..=4)?, horizon, u.int_in_range(1..=6)?))
    })() else {
        return;
    };
    let mut seqs: Vec<Vec<i64>> = Vec::with_capacity(batch);
    for _ in 0..batch {
        let len = u.int_in_range(0..=48).unwrap_or(0);
        seqs.push((0..len).map_while(|_| id(&mut u, vocab).ok()).collect());
    }
    let chunk_len = horizon * dim;
    // Ground truth: each chunk alone.
    let alone: Vec<actok::Result<Vec<f64>>> =
        seqs.iter().map(|s| decode_one(s, horizon, dim)).collect();
    for (b, r) in alone.iter().enumerate() {
        match r {
            Ok(actions) => {
                assert_eq!(actions.len(), chunk_len);
                assert!(
                    actions.iter().all(|v| v.is_finite()),
                    "chunk {b}: non-finite action"
                );
                let ids = TOKENIZER
                    .encode(actions, [1, horizon, dim], Overflow::Raise)
                    .unwrap_or_else(|e| {
                        panic!("chunk {b}: a decoded chunk does not re-encode: {e}")
                    });
                let again = decode_one(&ids[0], horizon, dim)
                    .unwrap_or_else(|e| panic!("chunk {b}: its re-encoding does not decode: {e}"));
                assert!(
                    again
                        .iter()
                        .zip(actions)
                        .all(|(a, c)| a.to_bits() == c.to_bits()),
                    "chunk {b}: decode(encode(decode(ids))) != decode(ids)"
                );
            }
            Err(Error::Decode { chunk: 0, reason }) => {
                check_reason(&seqs[b], reason, horizon, dim, vocab)
            }
            Err(e) => panic!("chunk {b}: unexpected error {e:?}"),
        }
    }
    match TOKENIZER.decode(&seqs, horizon, dim, OnDecodeError::Raise) {
        Ok(d) => {
            assert!(
                alone.iter().all(Result::is_ok),
                "raise succeeded over a failing chunk"
            );
            assert!(d.valid.iter().all(|&v| v));
            assert_eq!(d.actions.len(), batch * chunk_len);
        }
        Err(Error::Decode { chunk, reason }) => {
            assert!(chunk < batch, "error names chunk {chunk} of {batch}");
            let first = alone.iter().position(Result::is_err);
            assert_eq!(
                first,
                Some(chunk),
                "the error names chunk {chunk}, not the first failing one"
            );
            match &alone[chunk] {
                Err(Error::Decode { reason: r, .. }) => assert_eq!(r, &reason),
                other => panic!("{other:?}"),
            }
        }
        Err(e) => panic!("unexpected error {e:?}"),
    }
    for mode in [OnDecodeError::Pad, OnDecodeError::Zeros] {
        let d = TOKENIZER
            .decode(&seqs, horizon, dim, mode)
            .unwrap_or_else(|e| panic!("{mode:?} failed: {e}"));
        assert_eq!(d.actions.len(), batch * chunk_len);
        for (b, r) in alone.iter().enumerate() {
            let out = &d.actions[b * chunk_len..(b + 1) * chunk_len];
            assert_eq!(d.valid[b], r.is_ok(), "{mode:?}: chunk {b} validity");
            assert!(
                out.iter().all(|v| v.is_finite()),
                "{mode:?}: chunk {b} not finite"
            );
            match r {
                Ok(actions) => assert!(
                    out.iter()
                        .zip(actions)
                        .all(|(a, c)| a.to_bits() == c.to_bits()),
                    "{mode:?}: valid chunk {b} differs from its decode alone"
                ),
                Err(_) if mode == OnDecodeError::Zeros => {
                    assert!(out.iter().all(|&v| v == 0.0), "zeros: chunk {b} not zero")
                }
                Err(_) => {}
            }
        }
    }
});
