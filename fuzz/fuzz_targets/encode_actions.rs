//! Encodes arbitrary `f64` (or `f32`) chunks of arbitrary small shapes with the bundled tokenizer,
//! in both overflow modes, and checks every result:
//!
//! * an error is an [`Error::Encode`] naming a chunk inside the batch and an index inside the
//!   chunk, and it names the *first* failing chunk: every earlier chunk encodes on its own, and
//!   the named chunk alone fails with the same index and reason; a `NotFinite` reason carries the
//!   first non-finite value of that chunk;
//! * a chunk containing NaN or ±inf never encodes, in either mode;
//! * a successful `raise` encode decodes back within `0.5·√H/scale` per column (see
//!   [`actok_fuzz::column_bound`]), and `clip` then gives the same ids;
//! * a successful `clip` encode decodes, and the decoded chunk re-encodes (with `raise`) to the
//!   same ids;
//! * `H = 0` is an `InvalidArgument`, `B = 0` gives no sequences.
#![no_main]

use actok::{EncodeIssue, Error, Overflow};
use actok_fuzz::{assert_reencodes, assert_within_bound, decode_one, is_encode_error, TOKENIZER};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// One value: mostly raw bits (NaN payloads, infinities, subnormals, 1e300), but also values
/// near the tokenizer's range, so that successful encodes are common enough to check.
fn value(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 | 1 => f64::from_bits(u.arbitrary()?),
        2 => f64::from(u.arbitrary::<i16>()?) / 1000.0,
        3 => f64::from(u.arbitrary::<i32>()?) / 100.0,
        4 => f64::from(u.arbitrary::<i8>()?) / 20.0,
        5 => [0.0, -0.0, 1.0, -1.0, 0.05, -0.05, 35.4, -35.4][u.int_in_range(0..=7)?],
        6 => f64::from(f32::from_bits(u.arbitrary()?)),
        _ => f64::from(u.arbitrary::<i8>()?) * 3.0e3,
    })
}

struct Case {
    shape: [usize; 3],
    values: Vec<f64>,
    single: bool,
}

fn case(u: &mut Unstructured) -> Result<Case> {
    let batch = u.int_in_range(0..=3)?;
    // Mostly FAST-sized horizons; sometimes past the decoder's matrix path (256) to pocketfft.
    let horizon = if u.ratio(1, 16)? {
        u.int_in_range(250..=300)?
    } else {
        u.int_in_range(0..=20)?
    };
    let dim = u.int_in_range(0..=4)?;
    let single = u.ratio(1, 4)?;
    let n = batch * horizon * dim;
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        values.push(if u.is_empty() { 0.0 } else { value(u)? });
    }
    Ok(Case {
        shape: [batch, horizon, dim],
        values,
        single,
    })
}

fn encode(
    values: &[f64],
    shape: [usize; 3],
    single: bool,
    overflow: Overflow,
) -> actok::Result<Vec<Vec<u32>>> {
    if single {
        let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        TOKENIZER.encode(&v, shape, overflow)
    } else {
        TOKENIZER.encode(values, shape, overflow)
    }
}

fn check(case: &Case, overflow: Overflow) -> Option<Vec<Vec<u32>>> {
    let [batch, horizon, dim] = case.shape;
    let chunk_len = horizon * dim;
    // What the tokenizer actually sees (the f32 rounding of the values, for f32 input).
    let seen: Vec<f64> = if case.single {
        case.values.iter().map(|&x| f64::from(x as f32)).collect()
    } else {
        case.values.clone()
    };
    let result = encode(&case.values, case.shape, case.single, overflow);
    // No time steps or no dimensions: refused before any chunk is looked at (D = 0 would be
    // no tokens, which no decode accepts).
    if horizon == 0 || dim == 0 {
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "H={horizon}, D={dim}: {result:?}"
        );
        return None;
    }
    let first_bad_chunk = (0..batch).find(|&b| {
        seen[b * chunk_len..(b + 1) * chunk_len]
            .iter()
            .any(|v| !v.is_finite())
    });
    match result {
        Ok(ids) => {
            assert_eq!(ids.len(), batch);
            assert_eq!(first_bad_chunk, None, "a chunk with NaN/inf encoded");
            for (b, seq) in ids.iter().enumerate() {
                let chunk = &seen[b * chunk_len..(b + 1) * chunk_len];
                let decoded = decode_one(seq, horizon, dim)
                    .unwrap_or_else(|e| panic!("chunk {b}: its own ids do not decode: {e}"));
                if overflow == Overflow::Raise {
                    assert_within_bound(chunk, &decoded, horizon, dim);
                }
                assert_reencodes(&decoded, horizon, dim, seq);
            }
            Some(ids)
        }
        Err(e) => {
            assert!(
                is_encode_error(&e, batch, chunk_len),
                "{overflow:?}: unexpected error {e:?}"
            );
            let Error::Encode {
                chunk,
                index,
                reason,
            } = &e
            else {
                unreachable!()
            };
            if let Some(bad) = first_bad_chunk {
                assert!(
                    *chunk <= bad,
                    "error names chunk {chunk} after non-finite chunk {bad}"
                );
            }
            if overflow == Overflow::Clip {
                assert!(
                    matches!(
                        reason,
                        EncodeIssue::NotFinite { .. } | EncodeIssue::CoefficientNotFinite { .. }
                    ),
                    "clip failed on a finite coefficient: {e}"
                );
            }
            let this = &seen[chunk * chunk_len..(chunk + 1) * chunk_len];
            if let EncodeIssue::NotFinite { value } = reason {
                let first = this.iter().position(|v| !v.is_finite());
                assert_eq!(first, Some(*index), "NotFinite names the wrong index: {e}");
                assert_eq!(value.to_bits(), this[*index].to_bits(), "{e}");
            }
            // The named chunk is the first failing one.
            let values = |b: usize| &case.values[b * chunk_len..(b + 1) * chunk_len];
            for b in 0..*chunk {
                let alone = encode(values(b), [1, horizon, dim], case.single, overflow);
                assert!(
                    alone.is_ok(),
                    "chunk {b} fails alone but the batch error names {chunk}"
                );
            }
            match encode(values(*chunk), [1, horizon, dim], case.single, overflow) {
                Err(Error::Encode {
                    chunk: 0,
                    index: i,
                    reason: r,
                }) => {
                    // Compared as text: a NotFinite reason may hold a NaN, never equal to itself.
                    assert_eq!(
                        (i, format!("{r:?}")),
                        (*index, format!("{reason:?}")),
                        "alone, chunk {chunk} fails differently"
                    )
                }
                other => panic!("chunk {chunk} alone: {other:?}, in the batch: {e}"),
            }
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(case) = case(&mut u) else { return };
    let raised = check(&case, Overflow::Raise);
    let clipped = check(&case, Overflow::Clip);
    if let Some(raised) = raised {
        assert_eq!(
            clipped.as_ref(),
            Some(&raised),
            "clip differs where raise succeeded"
        );
    }
});
