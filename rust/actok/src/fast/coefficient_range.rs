//! Which quantized coefficients a tokenizer can represent, and saturation to the nearest one.
//!
//! A coefficient `q` becomes the character `chr(q - min_token)`; its UTF-8 bytes become byte-level
//! symbols. It is representable exactly when that character exists (a Unicode scalar value) and
//! every one of its bytes' symbols is in the vocabulary. The reference silently clamps values
//! below `min_token` and silently drops symbols the vocabulary lacks; actok reports both.

use std::sync::OnceLock;

use crate::bpe::Bpe;
use crate::error::{EncodeIssue, Representable};
use crate::fast::code::CoefficientCode;

/// The largest Unicode scalar value.
const MAX_CODE_POINT: u32 = 0x10FFFF;

/// Representability of quantized coefficients for one tokenizer.
#[derive(Clone, Debug)]
pub(crate) struct CoefficientRange {
    code: CoefficientCode,
    /// Whether each byte's byte-level symbol is in the vocabulary.
    byte_ok: [bool; 256],
    /// Fast path: representability of code points below `SMALL`.
    small_ok: Vec<bool>,
    /// The lowest representable code point, when it is below `SMALL`: where
    /// [`CoefficientRange::nearest`] puts every coefficient below `min_token`.
    lowest_small: Option<u32>,
    /// Sorted, disjoint inclusive ranges of representable code points, built on first clip.
    ranges: OnceLock<Vec<(u32, u32)>>,
    /// The range around zero named in errors, built on the first coefficient out of range.
    span: OnceLock<Option<Representable>>,
}

const SMALL: u32 = 0x800;

impl CoefficientRange {
    pub(crate) fn new(bpe: &Bpe, code: CoefficientCode) -> Self {
        let mut byte_ok = [false; 256];
        for (b, ok) in byte_ok.iter_mut().enumerate() {
            *ok = bpe.byte_id(b as u8).is_some();
        }
        let mut alphabet = Self {
            code,
            byte_ok,
            small_ok: Vec::new(),
            lowest_small: None,
            ranges: OnceLock::new(),
            span: OnceLock::new(),
        };
        alphabet.small_ok = (0..SMALL).map(|cp| alphabet.slow_ok(cp)).collect();
        alphabet.lowest_small = alphabet
            .small_ok
            .iter()
            .position(|&ok| ok)
            .map(|cp| cp as u32);
        alphabet
    }

    fn slow_ok(&self, cp: u32) -> bool {
        match char::from_u32(cp) {
            Some(c) => {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .all(|b| self.byte_ok[b as usize])
            }
            None => false,
        }
    }

    /// The character for quantized value `q` (an integer-valued finite `f64`), or why there is none.
    #[inline]
    pub(crate) fn char_for(&self, q: f64) -> Result<char, EncodeIssue> {
        // The common case inline: a code point below U+0800 whose bytes are all in the vocab.
        let cp = self.code.code_point(q);
        if (0.0..SMALL as f64).contains(&cp) {
            // SAFETY: `cp` is in [0, 0x800), so it converts exactly (truncating) to a `u32`
            // (a plain `as` cast spends a dozen instructions per coefficient saturating).
            let cp = unsafe { cp.to_int_unchecked::<u32>() };
            if self.small_ok[cp as usize] {
                // SAFETY: below 0x800, far from the surrogates: a valid `char`.
                return Ok(unsafe { char::from_u32_unchecked(cp) });
            }
        }
        self.char_for_slow(q)
    }

    /// [`CoefficientRange::char_for`] for every other value, out of line.
    #[cold]
    #[inline(never)]
    fn char_for_slow(&self, q: f64) -> Result<char, EncodeIssue> {
        let cp = self.code.code_point(q);
        if cp < 0.0 {
            return Err(EncodeIssue::BelowMinToken {
                quantized: q,
                min_token: self.code.min_token(),
                representable: self.representable(),
            });
        }
        if cp < SMALL as f64 {
            let cp = cp as u32;
            if self.small_ok[cp as usize] {
                // Below 0x800 every value is a scalar value (surrogates start at 0xD800).
                return Ok(char::from_u32(cp).expect("below 0x800"));
            }
        }
        let c = if cp <= MAX_CODE_POINT as f64 {
            char::from_u32(cp as u32)
        } else {
            None
        };
        let Some(c) = c else {
            return Err(EncodeIssue::NotACharacter {
                quantized: q,
                code_point: cp,
                representable: self.representable(),
            });
        };
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            if !self.byte_ok[b as usize] {
                return Err(EncodeIssue::NotInVocab {
                    quantized: q as i64,
                    symbol: crate::bpe::bytelevel::BYTE_TO_CHAR[b as usize],
                    representable: self.representable(),
                });
            }
        }
        Ok(c)
    }

    /// The code point [`CoefficientRange::nearest`] gives every coefficient below `min_token`
    /// (the lowest representable one), when it is below U+0800: then the encoder's front end
    /// clips those coefficients itself.
    pub(crate) fn clip_below(&self) -> Option<u32> {
        self.lowest_small
    }

    /// Builds the tables [`CoefficientRange::nearest`] builds on its first call (a clip), so that
    /// a later clip allocates nothing (the real-time path).
    pub(crate) fn prepare_nearest(&self) {
        let _ = self.ranges.get_or_init(|| self.build_ranges());
    }

    /// The most UTF-8 bytes a representable character can have: 1 to 4, from the lead bytes whose
    /// byte-level symbol the vocabulary holds (every byte of a representable character must be).
    pub(crate) fn max_char_bytes(&self) -> usize {
        let has = |lo: usize, hi: usize| self.byte_ok[lo..=hi].iter().any(|&ok| ok);
        if has(0xF0, 0xF4) {
            4
        } else if has(0xE0, 0xEF) {
            3
        } else if has(0xC2, 0xDF) {
            2
        } else {
            1
        }
    }

    /// The representable character whose quantized value is nearest to `q` (ties go to the value
    /// of smaller magnitude), or `None` if the vocabulary can represent nothing at all.
    pub(crate) fn nearest(&self, q: f64) -> Option<char> {
        let ranges = self.ranges.get_or_init(|| self.build_ranges());
        let target = self
            .code
            .code_point(q)
            .clamp(-1.0, MAX_CODE_POINT as f64 + 1.0);
        // First range whose end is at or above the target.
        let i = ranges.partition_point(|&(_, hi)| (hi as f64) < target);
        let mut best: Option<u32> = None;
        let mut consider = |cp: u32| {
            let better = match best {
                None => true,
                Some(b) => {
                    let (d_new, d_old) = ((cp as f64 - target).abs(), (b as f64 - target).abs());
                    d_new < d_old
                        || (d_new == d_old
                            && self.code.quantized(cp).abs() < self.code.quantized(b).abs())
                }
            };
            if better {
                best = Some(cp);
            }
        };
        if let Some(&(lo, hi)) = ranges.get(i) {
            consider((target.max(lo as f64).min(hi as f64)) as u32);
        }
        if i > 0 {
            consider(ranges[i - 1].1);
        }
        best.and_then(char::from_u32)
    }

    /// The unbroken range of representable quantized coefficients containing zero (or, when zero
    /// itself is not representable, the range nearest to it), for error messages: the range
    /// users can check their data against. `None` when nothing is representable.
    fn representable(&self) -> Option<Representable> {
        *self.span.get_or_init(|| {
            let ranges = self.ranges.get_or_init(|| self.build_ranges());
            let zero = self.code.code_point(0.0);
            let distance = |&&(lo, hi): &&(u32, u32)| {
                let (lo, hi) = (f64::from(lo), f64::from(hi));
                (lo - zero).max(zero - hi).max(0.0)
            };
            let &(lo, hi) = ranges
                .iter()
                .min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
            Some(Representable {
                lo: self.code.quantized(lo),
                hi: self.code.quantized(hi),
            })
        })
    }

    fn build_ranges(&self) -> Vec<(u32, u32)> {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut cp = 0u32;
        while cp <= MAX_CODE_POINT {
            if (0xD800..=0xDFFF).contains(&cp) {
                cp = 0xE000;
                continue;
            }
            if self.slow_ok(cp) {
                match ranges.last_mut() {
                    Some((_, hi)) if *hi + 1 == cp => *hi = cp,
                    _ => ranges.push((cp, cp)),
                }
            }
            cp += 1;
        }
        ranges
    }
}
