//! `encode_rows` (all ids in one buffer, the bindings' encode) against encoding each chunk on
//! its own: the same rows on the calling thread and on the pool, with any thread count, and the
//! lowest failing chunk named when several fail in different ranges.

mod common;

use actok::{Error, Overflow};
use common::{bundled, chunks};

#[test]
fn rows_are_each_chunk_encoded_alone() {
    let tok = bundled();
    let (h, d) = (20, 7);
    let len = h * d;
    for threads in [Some(1), Some(2), Some(3)] {
        actok::set_num_threads(threads).unwrap();
        // 1 and 3 chunks run on the calling thread, 300 (> 32768 / 140) in ranges on the pool.
        for batch in [1, 3, 300] {
            let x = chunks(batch, h, d, 3.0, batch as u64);
            let encoded = tok.encode_rows(&x, [batch, h, d], Overflow::Clip).unwrap();
            assert_eq!(encoded.rows.len(), batch);
            assert!(encoded.clipped.is_empty());
            let mut total = 0;
            for (b, row) in encoded.rows.iter().enumerate() {
                let alone = tok
                    .encode(&x[b * len..(b + 1) * len], [1, h, d], Overflow::Clip)
                    .unwrap();
                assert_eq!(
                    row,
                    &alone[0][..],
                    "chunk {b} of {batch}, {threads:?} threads"
                );
                assert_eq!(encoded.rows.get(b), Some(row));
                total += row.len();
            }
            assert_eq!(encoded.rows.get(batch), None);
            assert_eq!(encoded.rows.ids().len(), total);
            assert_eq!(
                encoded.rows.to_nested(),
                tok.encode(&x, [batch, h, d], Overflow::Clip).unwrap()
            );
        }
    }
    actok::set_num_threads(None).unwrap();
}

#[test]
fn the_lowest_failing_chunk_is_named_whatever_the_ranges() {
    let tok = bundled();
    let (h, d, batch) = (20, 7, 300);
    let mut x = chunks(batch, h, d, 3.0, 7);
    // Chunks in different ranges of the pool (ranges of 300 / (4 · threads) chunks) fail.
    for b in [290, 120, 250] {
        x[b * h * d + 5] = f64::NAN;
    }
    for threads in [Some(1), Some(2), Some(3)] {
        actok::set_num_threads(threads).unwrap();
        match tok.encode_rows(&x, [batch, h, d], Overflow::Clip) {
            Err(Error::Encode { chunk, index, .. }) => {
                assert_eq!((chunk, index), (120, 5), "{threads:?} threads")
            }
            other => panic!("expected an encode error, got {other:?}"),
        }
    }
    actok::set_num_threads(None).unwrap();
}
