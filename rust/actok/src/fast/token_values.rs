//! The decoded coefficient values of every token, precomputed for the decoder's fast path.
//!
//! Decoding concatenates the tokens' bytes, validates the UTF-8 and turns each character `c`
//! into the coefficient `(c + min_token) / scale`. A FAST token is almost always some bytes
//! finishing a character begun by the previous token (its *head*, continuation bytes only),
//! whole characters, and the first bytes of a character the next token finishes (its *tail*):
//! byte-level merges join bytes across character boundaries, so the head and tail are common
//! (for `min_token = -354`, zero is the two bytes `C5 A2`). The whole characters' values are
//! precomputed; at a boundary the previous tail and the next head, at most four bytes, are
//! validated as one character. This gives the same values as validating the whole byte string
//! (UTF-8 is self-synchronizing: a sequence is valid iff every character in it is). Any other
//! shape, or a head without a tail before it, goes to the general path, which reports the error.

use crate::bpe::Bpe;
use crate::fast::code::CoefficientCode;
use crate::token_id::InputId;

/// The shape of one token's bytes (module docs).
#[derive(Clone, Copy, Debug, Default)]
struct Parts {
    /// Leading continuation bytes.
    head: [u8; 3],
    head_len: u8,
    /// Trailing first bytes of an unfinished character.
    tail: [u8; 3],
    tail_len: u8,
    /// False when the bytes are not `head, whole characters, tail`.
    usable: bool,
}

impl Parts {
    fn of(bytes: &[u8]) -> Self {
        let mut parts = Self::default();
        let head_len = bytes.iter().take_while(|&&b| b & 0xC0 == 0x80).count();
        if head_len > 3 {
            return parts;
        }
        // The last lead byte (within 3 bytes of the end) starts the tail if its character
        // needs more bytes than are left.
        let mut tail_len = 0;
        if let Some(back) = bytes[head_len..]
            .iter()
            .rev()
            .take(4)
            .position(|&b| b & 0xC0 != 0x80)
        {
            let start = bytes.len() - 1 - back;
            let needed = match bytes[start] {
                0x00..=0x7F => 1,
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => return parts,
            };
            if needed > back + 1 {
                tail_len = back + 1;
            }
        }
        let middle = &bytes[head_len..bytes.len() - tail_len];
        if std::str::from_utf8(middle).is_err() {
            return parts;
        }
        parts.head[..head_len].copy_from_slice(&bytes[..head_len]);
        parts.head_len = head_len as u8;
        parts.tail[..tail_len].copy_from_slice(&bytes[bytes.len() - tail_len..]);
        parts.tail_len = tail_len as u8;
        parts.usable = true;
        parts
    }
}

/// What the fast path needs of one token, together: one lookup per id.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Its whole characters' values are `values[start..start + len]`.
    start: u32,
    len: u32,
    /// One past its last nonzero value among those (0 when all are zero).
    nonzero_end: u32,
    parts: Parts,
}

/// Per-token coefficient values.
#[derive(Clone, Debug)]
pub(crate) struct TokenValues {
    entries: Vec<Entry>,
    values: Vec<f64>,
    code: CoefficientCode,
}

/// What [`TokenValues::write`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// How many coefficients the ids hold (also when more than the output holds).
    pub(crate) count: usize,
    /// One past the last nonzero coefficient written (0 when all are zero; at most the output's
    /// length, and when the ids hold more coefficients than that, possibly past the last
    /// nonzero one): the inverse DCT skips the rows after it without looking at them.
    pub(crate) nonzero_end: usize,
}

impl TokenValues {
    /// The values of `bpe`'s tokens under `min_token` and `scale`, computed by the same
    /// [`CoefficientCode::value`] as the decoder's general path, so both give identical
    /// coefficients.
    pub(crate) fn new(bpe: &Bpe, min_token: i64, scale: f64) -> Self {
        let n = bpe.vocab_len();
        let mut this = Self {
            entries: Vec::with_capacity(n),
            values: Vec::new(),
            code: CoefficientCode::new(min_token, scale),
        };
        for id in 0..n as u32 {
            let bytes = bpe.token_bytes(id).unwrap_or_default();
            let parts = Parts::of(bytes);
            let mut entry = Entry {
                start: this.values.len() as u32,
                parts,
                ..Entry::default()
            };
            if parts.usable {
                let middle = &bytes[parts.head_len as usize..bytes.len() - parts.tail_len as usize];
                let text = std::str::from_utf8(middle).expect("checked by Parts::of");
                let values: Vec<f64> = text.chars().map(|c| this.value(c)).collect();
                entry.len = values.len() as u32;
                entry.nonzero_end =
                    values.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1) as u32;
                this.values.extend(values);
            }
            this.entries.push(entry);
        }
        this
    }

    #[inline]
    fn value(&self, c: char) -> f64 {
        self.code.value(c)
    }

    /// Writes the coefficients of `ids` into `out` (positions past the last one written are set
    /// to zero) and returns how many there are and where the nonzero ones end ([`Written`]), or
    /// `None` when some id is unknown or the bytes are not valid UTF-8 this way (then the caller
    /// takes the general path and `out` holds garbage).
    #[inline]
    pub(crate) fn write<I: InputId>(&self, ids: &[I], out: &mut [f64]) -> Option<Written> {
        let mut count = 0usize;
        let mut nonzero_end = 0usize;
        // The first bytes of a character the previous token began (its tail), little-endian.
        let mut pending = 0u32;
        let mut pending_len = 0usize;
        for &id in ids {
            let entry = self.entries.get(id.token_id()? as usize)?;
            let parts = &entry.parts;
            if !parts.usable {
                return None;
            }
            let head_len = parts.head_len as usize;
            if head_len > 0 || pending_len > 0 {
                // The previous tail and this head must be exactly one character.
                let len = pending_len + head_len;
                if pending_len == 0 || head_len == 0 || len > 4 {
                    return None;
                }
                let [h0, h1, h2] = parts.head;
                let head = u32::from_le_bytes([h0, h1, h2, 0]);
                let bytes = (pending | head << (8 * pending_len)).to_le_bytes();
                let c = std::str::from_utf8(&bytes[..len]).ok()?.chars().next()?;
                if let Some(slot) = out.get_mut(count) {
                    *slot = self.value(c);
                    if *slot != 0.0 {
                        nonzero_end = count + 1;
                    }
                }
                count += 1;
            }
            let start = entry.start as usize;
            let values = &self.values[start..start + entry.len as usize];
            match out.get_mut(count..count + values.len()) {
                // Runs of zeros are long tokens: a block copy; a few values: an element loop,
                // where a `memcpy` call costs more.
                Some(slots) if values.len() >= 8 => slots.copy_from_slice(values),
                Some(slots) => {
                    for (slot, &v) in slots.iter_mut().zip(values) {
                        *slot = v;
                    }
                }
                // Too many values: count them, write what fits.
                None => {
                    let start = count.min(out.len());
                    let room = out.len() - start;
                    out[start..].copy_from_slice(&values[..room]);
                }
            }
            if entry.nonzero_end > 0 {
                nonzero_end = count + entry.nonzero_end as usize;
            }
            count += values.len();
            // Bytes past `tail_len` are zero (`Parts::of`), so the shift above needs no mask.
            let [t0, t1, t2] = parts.tail;
            pending = u32::from_le_bytes([t0, t1, t2, 0]);
            pending_len = parts.tail_len as usize;
        }
        if pending_len > 0 {
            return None;
        }
        if count < out.len() {
            out[count..].fill(0.0);
        }
        Some(Written {
            count,
            nonzero_end: nonzero_end.min(out.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpe::bytelevel::BYTE_TO_CHAR;
    use proptest::prelude::*;

    /// A model whose tokens are the given byte strings (plus every byte, so any id list of
    /// them is a valid model input); no merges are needed to decode.
    fn model(tokens: &[Vec<u8>]) -> Bpe {
        let mut names: Vec<String> = BYTE_TO_CHAR.iter().map(|c| c.to_string()).collect();
        for t in tokens {
            let name: String = t.iter().map(|&b| BYTE_TO_CHAR[b as usize]).collect();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Bpe::new(names, Vec::new(), Vec::new(), false)
    }

    /// The definition: concatenate, validate, one value per character.
    fn general(bpe: &Bpe, ids: &[i64], min_token: i64, scale: f64) -> Option<Vec<f64>> {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|&i| bpe.token_bytes(i as u32).unwrap().to_vec())
            .collect();
        let text = String::from_utf8(bytes).ok()?;
        Some(
            text.chars()
                .map(|c| (c as i64 + min_token) as f64 / scale)
                .collect(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whenever the fast path answers, it is the definition's answer; and on sequences of
        /// FAST-like tokens (whole characters split anywhere) it does answer.
        #[test]
        fn fast_path_is_the_definition(
            text in prop::collection::vec(
                prop_oneof![
                    Just('\u{162}'), Just('\u{161}'), Just('a'), Just('\u{20AC}'),
                    Just('\u{1F600}'), Just('\u{7FF}')
                ],
                0..40,
            ),
            cuts in prop::collection::vec(0usize..200, 0..20),
            junk in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..5), 0..4),
            shuffle in any::<bool>(),
            out_len in 0usize..50,
        ) {
            let bytes = text.iter().collect::<String>().into_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.extend([0, bytes.len()]);
            cuts.sort_unstable();
            cuts.dedup();
            let mut tokens: Vec<Vec<u8>> = cuts.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect();
            let split_count = tokens.len();
            tokens.extend(junk);
            let bpe = model(&tokens);
            let id_of = |t: &[u8]| {
                let name: String = t.iter().map(|&b| BYTE_TO_CHAR[b as usize]).collect();
                bpe.tokens().iter().position(|n| *n == name).unwrap() as i64
            };
            let mut ids: Vec<i64> = tokens[..split_count].iter().map(|t| id_of(t)).collect();
            // The fast path handles a character split in two; one split in three goes general.
            let mut start = 0;
            let mut split_once = true;
            for c in &text {
                let end = start + c.len_utf8();
                split_once &= cuts.iter().filter(|&&k| start < k && k < end).count() <= 1;
                start = end;
            }
            let complete = split_once && !shuffle;
            if shuffle {
                ids.extend(tokens[split_count..].iter().map(|t| id_of(t)));
                ids.reverse();
            }
            let values = TokenValues::new(&bpe, -354, 10.0);
            let mut out = vec![f64::NAN; out_len];
            let fast = values.write(&ids, &mut out);
            let expected = general(&bpe, &ids, -354, 10.0);
            if complete {
                prop_assert!(fast.is_some(), "the split text must take the fast path");
            }
            if let Some(Written { count, nonzero_end }) = fast {
                let expected = expected.expect("fast path answered on invalid UTF-8");
                prop_assert_eq!(count, expected.len());
                let n = count.min(out.len());
                prop_assert_eq!(&out[..n], &expected[..n]);
                prop_assert!(out[n..].iter().all(|&v| v == 0.0));
                // Exact when everything fit; an upper bound (all the inverse needs) otherwise.
                let last = out.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1);
                if count <= out.len() {
                    prop_assert_eq!(nonzero_end, last);
                } else {
                    prop_assert!(last <= nonzero_end && nonzero_end <= out.len());
                }
            }
        }
    }
}
