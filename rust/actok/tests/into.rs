//! `encode_into` / `decode_into` (caller buffers, the C ABI's entry points) against `encode` /
//! `decode_padded`: the same ids, actions, validity and errors, on the calling thread and on the
//! pool; `max_tokens` always suffices.

mod common;

use actok::{Error, FastTokenizer, FitOptions, OnDecodeError, Overflow};
use common::{bundled, chunks};

#[test]
fn encode_into_writes_the_ids_of_encode_on_both_paths() {
    let tok = bundled();
    let (h, d) = (20, 7);
    let stride = tok.max_tokens(h, d).unwrap();
    // 3 chunks run on the calling thread, 300 chunks (> 32768 / 140) on the pool.
    for batch in [1, 3, 300] {
        let x = chunks(batch, h, d, 3.0, batch as u64);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let want = tok.encode(&x, [batch, h, d], Overflow::Clip).unwrap();
        let mut ids = vec![u32::MAX; batch * stride];
        let mut lengths = vec![0; batch];
        tok.encode_into(
            &x,
            [batch, h, d],
            Overflow::Clip,
            &mut ids,
            stride,
            &mut lengths,
        )
        .unwrap();
        let mut ids32 = vec![u32::MAX; batch * stride];
        let mut lengths32 = vec![0; batch];
        tok.encode_into(
            &x32,
            [batch, h, d],
            Overflow::Clip,
            &mut ids32,
            stride,
            &mut lengths32,
        )
        .unwrap();
        let want32 = tok.encode(&x32, [batch, h, d], Overflow::Clip).unwrap();
        for b in 0..batch {
            assert_eq!(&ids[b * stride..][..lengths[b]], &want[b][..], "chunk {b}");
            assert_eq!(&ids32[b * stride..][..lengths32[b]], &want32[b][..]);
            // Entries past the count are untouched.
            assert!(ids[b * stride + lengths[b]..(b + 1) * stride]
                .iter()
                .all(|&i| i == u32::MAX));
            assert!(lengths[b] <= stride);
        }
    }
}

#[test]
fn max_tokens_suffices_for_the_longest_chunks() {
    let tok = bundled();
    // Large, rough values clipped to the vocabulary: the most and longest characters.
    let (h, d) = (20, 3);
    let x = chunks(50, h, d, 60.0, 3);
    let stride = tok.max_tokens(h, d).unwrap();
    // The bundled vocabulary holds every byte's symbol: characters of up to 4 bytes.
    assert_eq!(stride, 4 * h * d);
    let ids = tok.encode(&x, [50, h, d], Overflow::Clip).unwrap();
    assert!(ids.iter().all(|s| s.len() <= stride));
    assert_eq!(tok.max_tokens(usize::MAX, 2), None);
    // A lossless fit's alphabet is small (here below U+0080: 1 byte), and every chunk, clipped
    // to it, still fits.
    let normalized = chunks(50, h, d, 1.0, 5);
    let fit = FastTokenizer::fit(&normalized, [50, h, d], &FitOptions::default(), None).unwrap();
    let stride = fit.max_tokens(h, d).unwrap();
    assert_eq!(stride, h * d);
    let rough = chunks(50, h, d, 50.0, 4);
    let ids = fit.encode(&rough, [50, h, d], Overflow::Clip).unwrap();
    assert!(ids.iter().all(|s| s.len() <= stride));
}

#[test]
fn a_row_too_short_is_refused_naming_the_chunk_and_never_overrun() {
    let tok = bundled();
    let (h, d) = (20, 2);
    let x = chunks(3, h, d, 1.0, 9);
    let want = tok.encode(&x, [3, h, d], Overflow::Raise).unwrap();
    let longest = (0..3).max_by_key(|&b| (want[b].len(), b)).unwrap();
    let stride = want[longest].len() - 1;
    let mut ids = vec![7; 3 * stride];
    let mut lengths = vec![0; 3];
    let err = tok
        .encode_into(
            &x,
            [3, h, d],
            Overflow::Raise,
            &mut ids,
            stride,
            &mut lengths,
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InvalidArgument(_)), "{message}");
    let first = (0..3).find(|&b| want[b].len() > stride).unwrap();
    assert!(
        message.contains(&format!(
            "chunk {first} encodes to {} ids",
            want[first].len()
        )),
        "{message}"
    );
    assert!(message.contains("max_tokens(20, 2) = 160"), "{message}");
    // Buffers of the wrong size are refused before anything is encoded.
    let err = tok
        .encode_into(
            &x,
            [3, h, d],
            Overflow::Raise,
            &mut ids[1..],
            stride,
            &mut lengths,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not 3 rows of"), "{err}");
}

#[test]
fn encode_into_keeps_encodes_checks_and_messages() {
    let tok = bundled();
    let mut ids = vec![0; 400];
    let mut lengths = vec![0; 1];
    let mut x = chunks(1, 20, 2, 1.0, 1);
    x[5] = f64::NAN;
    let into = tok
        .encode_into(&x, [1, 20, 2], Overflow::Clip, &mut ids, 400, &mut lengths)
        .unwrap_err();
    let plain = tok.encode(&x, [1, 20, 2], Overflow::Clip).unwrap_err();
    assert_eq!(into.to_string(), plain.to_string());
    // The recorded horizon (20) is checked like encode does.
    let x = chunks(1, 10, 2, 1.0, 1);
    let into = tok
        .encode_into(
            &x,
            [1, 10, 2],
            Overflow::Raise,
            &mut ids[..40],
            40,
            &mut lengths,
        )
        .unwrap_err();
    let plain = tok.encode(&x, [1, 10, 2], Overflow::Raise).unwrap_err();
    assert_eq!(into.to_string(), plain.to_string());
    let options = actok::EncodeOptions {
        overflow: Overflow::Raise,
        check_shape: false,
    };
    tok.encode_into(&x, [1, 10, 2], options, &mut ids[..40], 40, &mut lengths)
        .unwrap();
}

#[test]
fn decode_into_gives_decode_paddeds_actions_validity_and_errors() {
    let tok = bundled();
    let (h, d) = (20, 4);
    for batch in [1, 5, 500] {
        let x = chunks(batch, h, d, 1.0, 40 + batch as u64);
        let padded = tok
            .encode_padded(&x, [batch, h, d], Overflow::Raise, None, 0)
            .unwrap();
        let width = padded.width + 3;
        let mut ids = vec![0i32; batch * width];
        let mut lengths = vec![0usize; batch];
        for b in 0..batch {
            let len = padded.lengths[b] as usize;
            ids[b * width..][..len].copy_from_slice(&padded.ids[b * padded.width..][..len]);
            lengths[b] = len;
            // Damage some rows: an unknown id, a truncated and an over-long sequence.
            match b % 7 {
                1 => ids[b * width] = 5000,
                2 => lengths[b] = len - 1,
                3 => {
                    ids[b * width + len] = ids[b * width];
                    lengths[b] = len + 1;
                }
                _ => {}
            }
        }
        for on_error in [
            OnDecodeError::Pad,
            OnDecodeError::Zeros,
            OnDecodeError::Raise,
        ] {
            let lengths64: Vec<u64> = lengths.iter().map(|&n| n as u64).collect();
            let want = tok.decode_padded(&ids, width, &lengths64, h, d, on_error);
            let mut actions = vec![f64::NAN; batch * h * d];
            let mut actions32 = vec![f32::NAN; batch * h * d];
            let mut valid = vec![true; batch];
            let got = tok.decode_into(
                &ids,
                width,
                &lengths,
                h,
                d,
                on_error,
                &mut actions,
                Some(&mut valid),
            );
            let got32 =
                tok.decode_into(&ids, width, &lengths, h, d, on_error, &mut actions32, None);
            match want {
                Ok(want) => {
                    got.unwrap();
                    got32.unwrap();
                    assert_eq!(actions, want.actions);
                    assert_eq!(valid, want.valid);
                    let narrowed: Vec<f32> = want.actions.iter().map(|&v| v as f32).collect();
                    assert_eq!(actions32, narrowed);
                }
                Err(want) => {
                    assert_eq!(got.unwrap_err().to_string(), want.to_string());
                    assert_eq!(got32.unwrap_err().to_string(), want.to_string());
                }
            }
        }
    }
}

#[test]
fn decode_into_refuses_lengths_beyond_the_row_and_wrong_buffers() {
    let tok = bundled();
    let ids = [0i32; 8];
    let mut actions = [0f64; 80];
    let err = tok
        .decode_into(
            &ids,
            4,
            &[4, 5],
            20,
            2,
            OnDecodeError::Pad,
            &mut actions[..],
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "lengths[1] = 5 is outside 0 to 4, inclusive (the ids' width)"
    );
    let err = tok
        .decode_into(
            &ids,
            4,
            &[4, 4],
            20,
            2,
            OnDecodeError::Pad,
            &mut actions[1..],
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not 2 chunks of (20, 2)"), "{err}");
    let err = tok
        .decode_into(
            &ids,
            4,
            &[4, 4],
            0,
            2,
            OnDecodeError::Pad,
            &mut actions[..0],
            None,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid chunk shape (0, 2)");
}
