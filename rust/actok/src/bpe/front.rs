//! The encoder's front end for a whole text (a FAST chunk's characters): the GPT-2 split, the
//! units of each piece and the memo of short pieces in one pass over a per-model table, with no
//! UTF-8 spelling, no Unicode lookups and few data-dependent branches.
//!
//! Token-heavy chunks (short horizons, noisy values) split into a piece every two or three
//! characters, and the per-piece path (find the piece's end, spell it in UTF-8, hash it, look it
//! up) then cost more than the BPE, mostly in mispredicted branches. Here:
//!
//! * **One table per model** ([`FrontTable`]), indexed by code point below U+0800 (every FAST
//!   alphabet lives there), gives a character's unit (the symbol the merge loop starts from,
//!   [`Bpe::unit_at`]), its GPT-2 class, and whether it is *special* for the split (white space
//!   or the apostrophe of contractions). A piece holding a character spelled by two units (a
//!   two-byte character whose bytes are not pre-merged) takes the general path
//!   ([`Bpe::encode_chars`]), and so does a whole text with a character outside the table.
//! * **The split from bit masks.** A piece that starts with a character that is not special is
//!   exactly the run of its class ([`super::pretokenize`]): its end is the next set bit of the
//!   mask of class changes, built branch-free for the whole text. Pieces starting with a special
//!   character go through the exact scan of [`super::pretokenize`].
//! * **Short pieces memoized by units**: the key is the piece's up to [`CACHED_LEN`] units
//!   (plus one, as 16-bit lanes of a `u128`, so shorter keys are zero-padded), read as one load
//!   from a parallel array; the memo is two-way set-associative (a pair of slots, the way chosen
//!   without a branch; forgets the older of two colliding pieces) and a hit copies a fixed 8 ids,
//!   so a hit takes no data-dependent branch.
//!
//! Every piece still gets [`Bpe::encode_units`] of its units, the function the general path
//! ends in, so the ids are the same (the tests compare both, and with the merge-loop oracle).

use super::pretokenize::{piece_end, split_pieces};
use super::unicode_class::{char_class, CharClass};
use super::{reserve_total, Bpe, BpeScratch, CACHED_LEN, NONE};

/// Code points below this bound are in [`FrontTable`]; the entry at the bound stands for every
/// other character (and is [`BAD`]).
const TABLE_LEN: usize = 0x800;

/// Values [`fill_from_values`] converts between two looks at whether to stop.
const BLOCK: usize = 64;

/// Entry bits: the unit plus one in the low 16 bits (the memo's key lane), then a byte of
/// flags: the class (0 to 3)...
const CLASS_SHIFT: u32 = 16;
/// ... whether the character is special for the split...
const SPECIAL: u32 = 1 << 18;
/// ... whether the character is spelled by more than one unit (or by one that does not fit in
/// 16 bits): its pieces take the general path...
const MULTI: u32 = 1 << 19;
/// ... and whether the character is outside the table (its class is unknown) or one the
/// vocabulary cannot spell: the whole text takes the general path.
const BAD: u32 = 1 << 20;
/// The flags byte of an entry as kept per character: class in bits 0-1, then these.
const FLAG_MULTI: u8 = (MULTI >> CLASS_SHIFT) as u8;

/// Per code point below [`TABLE_LEN`]: unit, class and flags (module docs).
#[derive(Clone, Debug)]
pub(super) struct FrontTable {
    /// The entry of code point `cp` at `cp + 1`, with [`BAD`] at both ends: at 0 for values
    /// below the table (and NaN), at `TABLE_LEN + 1` for everything above.
    entries: Box<[u32]>,
    /// Per code point below [`TABLE_LEN`] that the vocabulary can spell: its units, the second
    /// [`NONE`] for a character of one unit (every one of the table's takes one or two).
    spelled: Box<[[u32; 2]]>,
}

impl FrontTable {
    /// The table of `bpe`, or `None` when the front end does not apply (`ignore_merges`, whose
    /// whole-piece lookup the general path does).
    pub(super) fn new(bpe: &Bpe) -> Option<Self> {
        if bpe.whole_tokens.is_some() {
            return None;
        }
        let mut entries = vec![BAD; TABLE_LEN + 2].into_boxed_slice();
        let mut spelled = vec![[NONE; 2]; TABLE_LEN].into_boxed_slice();
        for (cp, entry) in entries[1..=TABLE_LEN].iter_mut().enumerate() {
            let Some(c) = char::from_u32(cp as u32) else {
                continue;
            };
            let mut units = Vec::new();
            let mut utf8 = [0u8; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            // Characters the vocabulary cannot spell are refused before encoding: `BAD`, so that
            // [`Bpe::encode_code_points`] leaves them to the caller's checks.
            if bytes.iter().any(|&b| bpe.byte_id(b).is_none()) {
                continue;
            }
            bpe.push_units(bytes, &mut units);
            spelled[cp][..units.len()].copy_from_slice(&units);
            // `u16::MAX` is excluded: the key stores `unit + 1` in 16 bits.
            let lane = match units[..] {
                [unit] if unit < u32::from(u16::MAX) => unit + 1,
                _ => MULTI,
            };
            let class = match char_class(c) {
                CharClass::Letter => 0,
                CharClass::Number => 1,
                CharClass::Other => 2,
                CharClass::Whitespace => 3,
            };
            let special = class == 3 || c == '\'';
            *entry = lane | class << CLASS_SHIFT | if special { SPECIAL } else { 0 };
        }
        Some(Self { entries, spelled })
    }

    #[inline(always)]
    fn entry(&self, c: char) -> u32 {
        self.entries[(c as usize).min(TABLE_LEN) + 1]
    }
}

/// One slot of [`UnitCache`]: a piece's key and its ids.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Slot {
    /// The piece's units plus one in 16-bit lanes (zero lanes past its end); 0 when empty.
    key: u128,
    ids: [u32; CACHED_LEN],
    len: u32,
}

/// Two-way set-associative memo of short pieces' ids, keyed by their units.
#[derive(Default, Debug)]
struct UnitCache {
    /// `uid` of the model the entries belong to (0: none; uids start at 1).
    owner: u64,
    /// [`UnitCache::LEN`] slots once prepared.
    slots: Box<[Slot]>,
}

impl UnitCache {
    /// Slots (1 MiB): FAST vocabularies meet a few thousand distinct short pieces.
    const LEN: usize = 1 << 14;

    /// Readies the memo for the model `uid`: kept if it already belongs to it, else emptied.
    fn prepare(&mut self, uid: u64) {
        if self.owner == uid && self.slots.len() == Self::LEN {
            return;
        }
        self.slots = zeroed_slots(Self::LEN);
        self.owner = uid;
    }

    #[inline(always)]
    fn index(key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::LEN.trailing_zeros())) as usize
    }
}

/// `len` empty slots, from zeroed memory: a large allocation then maps zero pages instead of
/// writing a megabyte, so a model change or a one-chunk encode costs nothing up front.
fn zeroed_slots(len: usize) -> Box<[Slot]> {
    use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
    let layout = Layout::array::<Slot>(len).expect("the memo's size fits in memory");
    assert!(layout.size() > 0, "a memo has slots");
    // SAFETY: the layout has a non-zero size; a `Slot` is integers only, so all-zero bytes are a
    // valid (empty) slot; the box is built from a global-allocator pointer of this very layout.
    unsafe {
        let ptr = alloc_zeroed(layout).cast::<Slot>();
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len))
    }
}

/// Buffers of the front end, kept in [`BpeScratch`].
#[derive(Default, Debug)]
pub(super) struct FrontScratch {
    /// Units plus one of the text as `u16`, then [`CACHED_LEN`] more entries (stale, masked off):
    /// the memo's keys, read in place.
    keys: Vec<u16>,
    /// The flags byte of each character's entry, then stale bytes up to a multiple of 8.
    flags: Vec<u8>,
    /// Bit `i`: the class of character `i` differs from the one before (bit 0 and bit `n` set).
    changes: Vec<u64>,
    /// Bit `i`: character `i` is special.
    specials: Vec<u64>,
    /// The units of the piece being encoded, for the search.
    units: Vec<u32>,
    /// Piece ends for the general path.
    ends: Vec<usize>,
    cache: UnitCache,
}

impl FrontScratch {
    /// Reserves every buffer for texts of up to `chars` characters of `bpe` (see
    /// [`Bpe::reserve`]).
    pub(super) fn reserve(&mut self, chars: usize, bpe: &Bpe) {
        reserve_total(&mut self.keys, chars + CACHED_LEN);
        reserve_total(&mut self.flags, chars + 8);
        reserve_total(&mut self.changes, chars / 64 + 1);
        reserve_total(&mut self.specials, chars / 64 + 1);
        reserve_total(&mut self.units, chars);
        reserve_total(&mut self.ends, chars);
        self.cache.prepare(bpe.uid);
    }
}

impl Bpe {
    /// Splits `chars` into GPT-2 pieces and encodes each, appending the ids to `out`: the same
    /// ids as the GPT-2 split (`pretokenize::split_pieces`) followed by [`Bpe::encode_chars`] on
    /// each piece (the general path, taken when the front end does not apply; module docs). Every
    /// character's byte-level symbols must be in the vocabulary (the caller checks).
    pub fn encode_text(&self, chars: &[char], scratch: &mut BpeScratch, out: &mut Vec<u32>) {
        let table = self.front.get_or_init(|| FrontTable::new(self));
        let mut front = scratch.front.take().unwrap_or_default();
        let done = table
            .as_ref()
            .is_some_and(|table| self.encode_front(table, chars, &mut front, scratch, out));
        if !done {
            front.ends.clear();
            split_pieces(chars, &mut front.ends);
            let mut start = 0;
            for &end in &front.ends {
                self.encode_chars(&chars[start..end], scratch, out);
                start = end;
            }
        }
        scratch.front = Some(front);
    }

    /// [`Bpe::encode_text`] of the text whose characters have the code points `values[i] -
    /// offset` (FAST's quantized coefficients and `min_token`), also written to `chars`; returns
    /// `false`, with `out` untouched and `chars` unspecified, unless every value is
    /// (integer-valued and) the code point of a character of the front end's table that the
    /// vocabulary can spell: the caller then converts the values with its own checks and calls
    /// [`Bpe::encode_text`]. One pass from values to units, classes and characters, without
    /// per-value checks.
    pub fn encode_code_points(
        &self,
        values: &[f64],
        offset: f64,
        chars: &mut Vec<char>,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        self.encode_code_points_below(values, offset, None, chars, scratch, out)
    }

    /// [`Bpe::encode_code_points`], where `below` (when given) is the code point that finite
    /// values below zero take instead of declining: FAST's clipping of coefficients below
    /// `min_token` to the nearest representable one, which the caller has found to be `below`
    /// (NaN and infinities still decline).
    pub(crate) fn encode_code_points_below(
        &self,
        values: &[f64],
        offset: f64,
        below: Option<u32>,
        chars: &mut Vec<char>,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        let Some(table) = self.front.get_or_init(|| FrontTable::new(self)) else {
            return false;
        };
        // -0.5 truncates to the entry below the table (`BAD`): no code point for them.
        let below = below.map_or(-0.5, f64::from);
        let mut front = scratch.front.take().unwrap_or_default();
        let mixed = fill_from_values(table, values, (offset, below), chars, &mut front);
        if let Some(mixed) = mixed {
            self.encode_filled(table, mixed, chars, &mut front, scratch, out);
        }
        scratch.front = Some(front);
        mixed.is_some()
    }

    /// The front end proper; `false` (with `out` untouched) when a character is not in the
    /// table.
    fn encode_front(
        &self,
        table: &FrontTable,
        chars: &[char],
        front: &mut FrontScratch,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) -> bool {
        let Some(mixed) = fill_from_chars(table, chars, front) else {
            return false;
        };
        self.encode_filled(table, mixed, chars, front, scratch, out);
        true
    }

    /// Encodes the pieces of `chars` from the filled `front` (`mixed`: some characters are
    /// spelled by several units).
    fn encode_filled(
        &self,
        table: &FrontTable,
        mixed: bool,
        chars: &[char],
        front: &mut FrontScratch,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) {
        front.cache.prepare(self.uid);
        if mixed {
            self.encode_pieces::<true>(table, chars, front, scratch, out);
        } else {
            self.encode_pieces::<false>(table, chars, front, scratch, out);
        }
    }

    /// Encodes the pieces of `chars` from the filled `front`; `MIXED`: some characters are
    /// spelled by several units, and the pieces holding one take the general path.
    #[inline(always)]
    fn encode_pieces<const MIXED: bool>(
        &self,
        table: &FrontTable,
        chars: &[char],
        front: &mut FrontScratch,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) {
        let FrontScratch {
            keys,
            flags,
            changes,
            specials,
            units,
            cache,
            ..
        } = front;
        let n = chars.len();
        let mut start = 0;
        while start < n {
            let end = if specials[start >> 6] >> (start & 63) & 1 != 0 {
                special_piece_end(chars, flags, changes, start)
            } else {
                next_bit(changes, start + 1)
            };
            if MIXED && flags[start..end].iter().any(|&f| f & FLAG_MULTI != 0) {
                let piece = (&chars[start..end], &keys[start..end], &flags[start..end]);
                self.encode_mixed(table, piece, units, cache, scratch, out);
            } else if end - start <= CACHED_LEN {
                self.encode_short(end - start, &keys[start..], cache, scratch, out);
            } else {
                units.clear();
                units.extend(keys[start..end].iter().map(|&k| u32::from(k) - 1));
                self.encode_units(units, scratch, out);
            }
            start = end;
        }
    }

    /// The ids of a piece holding a character spelled by several units, given as its
    /// characters, keys and flags: its units are the keys' but for those characters (spelled
    /// from their code points), then the memo when they fit a key, else the search. (Such pieces
    /// went through [`Bpe::encode_chars`], which spelled every character again, and short ones
    /// into UTF-8 for a memo in a hash map: 17% of a 50x14 chunk's instructions with the
    /// bundled tokenizer, some of whose characters near zero are two units.)
    #[inline(always)]
    fn encode_mixed(
        &self,
        table: &FrontTable,
        (chars, keys, flags): (&[char], &[u16], &[u8]),
        units: &mut Vec<u32>,
        cache: &mut UnitCache,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) {
        units.clear();
        units.reserve(2 * chars.len());
        let mut n = 0;
        // Without a branch per character: both lanes written, the count advanced by the
        // character's units (one for a key, one or two from `spelled`).
        let base = units.as_mut_ptr();
        for ((&c, &key), &flag) in chars.iter().zip(keys).zip(flags) {
            let multi = flag & FLAG_MULTI != 0;
            // Below `TABLE_LEN`: the text's characters are the table's.
            let [first, second] = table.spelled[c as usize];
            // SAFETY: `n <= 2 * i` before character `i`, so both writes are below `2 *
            // chars.len()`, the reserved capacity.
            unsafe {
                base.add(n)
                    .write(if multi { first } else { u32::from(key) - 1 });
                base.add(n + 1).write(second);
            }
            n += 1 + usize::from(multi && second != NONE);
        }
        // SAFETY: the first `n` entries were written above (each character's units, in order).
        unsafe { units.set_len(n) };
        if units.len() <= CACHED_LEN && units.iter().all(|&u| u < u32::from(u16::MAX)) {
            // The memo's key lanes, as `fill_from_chars` writes them for one-unit characters:
            // the same units give the same key, and the same ids.
            let mut keys = [0u16; CACHED_LEN];
            for (key, &unit) in keys.iter_mut().zip(units.iter()) {
                *key = (unit + 1) as u16;
            }
            self.encode_short(units.len(), &keys, cache, scratch, out);
        } else {
            self.encode_units(units, scratch, out);
        }
    }

    /// The ids of the short piece of `len` units (1 to [`CACHED_LEN`]) whose keys start `keys`
    /// (at least [`CACHED_LEN`] long), through the memo.
    #[inline(always)]
    fn encode_short(
        &self,
        len: usize,
        keys: &[u16],
        cache: &mut UnitCache,
        scratch: &mut BpeScratch,
        out: &mut Vec<u32>,
    ) {
        let mut lanes = [0u8; 16];
        for (pair, &key) in lanes.chunks_exact_mut(2).zip(&keys[..CACHED_LEN]) {
            pair.copy_from_slice(&key.to_le_bytes());
        }
        // The lanes past the piece's end zeroed: `len` is 1 to 8.
        let key = u128::from_le_bytes(lanes) & (u128::MAX >> (128 - 16 * len));
        // Two ways: the piece in the first slot of its pair, or in the second (the previous
        // occupant of the first, moved there on a miss).
        let pair = UnitCache::index(key) & !1;
        let way = usize::from(cache.slots[pair].key != key);
        let slot = &cache.slots[pair + way];
        if slot.key == key {
            let (at, len) = (out.len(), slot.len as usize);
            if out.capacity() - at >= CACHED_LEN {
                // SAFETY: room for `CACHED_LEN` ids after `at` (checked); the first `len <=
                // CACHED_LEN` of them are the slot's ids, written before the length grows. A
                // fixed-size copy takes no branch on the piece's length.
                unsafe {
                    let end = out.as_mut_ptr().add(at);
                    std::ptr::copy_nonoverlapping(slot.ids.as_ptr(), end, CACHED_LEN);
                    out.set_len(at + len);
                }
            } else {
                out.extend_from_slice(&slot.ids[..len]);
            }
            return;
        }
        let mut units = [0u32; CACHED_LEN];
        for (unit, &key) in units.iter_mut().zip(&keys[..len]) {
            *unit = u32::from(key) - 1;
        }
        let from = out.len();
        self.encode_units(&units[..len], scratch, out);
        let ids = &out[from..];
        cache.slots[pair + 1] = cache.slots[pair];
        let slot = &mut cache.slots[pair];
        slot.key = key;
        slot.len = ids.len() as u32;
        slot.ids[..ids.len()].copy_from_slice(ids);
    }
}

/// Fills the keys, flags and masks of `chars`: `None` when a character is not in the table,
/// else whether one is spelled by several units.
fn fill_from_chars(table: &FrontTable, chars: &[char], front: &mut FrontScratch) -> Option<bool> {
    let n = chars.len();
    let FrontScratch { keys, flags, .. } = front;
    size_buffers(n, keys, flags);
    let mut bad = 0;
    for ((&c, key), flag) in chars.iter().zip(keys.iter_mut()).zip(flags.iter_mut()) {
        let entry = table.entry(c);
        bad |= entry;
        *key = entry as u16;
        *flag = (entry >> CLASS_SHIFT) as u8;
    }
    if bad & BAD != 0 {
        return None;
    }
    fill_masks(n, front);
    Some(bad & MULTI != 0)
}

/// Sizes the buffers for a text of `n` characters, written in place rather than pushed (no
/// capacity check per character) and not cleared: every entry up to `n` is written, the keys
/// past a piece are masked off, and the flags past `n` only reach mask bits past `n`, which
/// nothing reads (bit `n` of the changes is set). The flags fill whole words of 64, so that
/// [`fill_masks`] takes every word on vectors, a short text's one word too.
fn size_buffers(n: usize, keys: &mut Vec<u16>, flags: &mut Vec<u8>) {
    keys.resize(n + CACHED_LEN, 0);
    flags.resize(n.div_ceil(64) * 64, 0);
}

/// [`fill_from_chars`] for the characters of code points `values[i] - offset`, which it writes
/// to `chars`, with `code = (offset, below)`: finite values below zero take code point `below`
/// (-0.5: none; see [`Bpe::encode_code_points_below`]).
fn fill_from_values(
    table: &FrontTable,
    values: &[f64],
    code: (f64, f64),
    chars: &mut Vec<char>,
    front: &mut FrontScratch,
) -> Option<bool> {
    let n = values.len();
    let FrontScratch { keys, flags, .. } = front;
    size_buffers(n, keys, flags);
    // Only resized: every character is written below (a chunk shape's second text resizes
    // nothing).
    chars.resize(n, '\0');
    let mut bad = 0;
    // Blocks by index ranges: a zip of the four buffers' `chunks` cost about 40 instructions of
    // setup, a fifth of a 20-value text's fill.
    for start in (0..n).step_by(BLOCK) {
        // A value out of the table: the caller converts them all again with its checks, so
        // stop here. FAST's large coefficients come first (the low frequencies, in the first
        // rows): a clipped chunk of a long horizon wastes little of a pass.
        if bad & BAD != 0 {
            return None;
        }
        let block = start..(start + BLOCK).min(n);
        let (values, chars) = (&values[block.clone()], &mut chars[block.clone()]);
        let (keys, flags) = (&mut keys[block.clone()], &mut flags[block]);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe {
                    if code.1 >= 0.0 {
                        fill_block_avx2::<true>(table, values, code, keys, flags, chars, &mut bad)
                    } else {
                        fill_block_avx2::<false>(table, values, code, keys, flags, chars, &mut bad)
                    }
                };
                continue;
            }
        }
        fill_block(table, values, code, keys, flags, chars, &mut bad);
    }
    if bad & BAD != 0 {
        return None;
    }
    fill_masks(n, front);
    Some(bad & MULTI != 0)
}

/// One block of [`fill_from_values`], or-ing the entries into `bad`.
#[inline(always)]
fn fill_block(
    table: &FrontTable,
    values: &[f64],
    (offset, below): (f64, f64),
    keys: &mut [u16],
    flags: &mut [u8],
    chars: &mut [char],
    bad: &mut u32,
) {
    let values_keys = values.iter().zip(keys.iter_mut());
    for (((&v, key), flag), c) in values_keys.zip(flags.iter_mut()).zip(chars.iter_mut()) {
        // Clamped to [lower, TABLE_LEN] (NaN to -0.5 by `max`), truncated, then shifted by one
        // when not negative: below the table (NaN, values in (-1, 0) included) is 0, above it
        // `TABLE_LEN + 1`, both `BAD`, so no separate range test. `lower` is `below` for
        // finite values below zero (-0.5 unless clipping), -0.5 for the others, NaN and -inf.
        let x = v - offset;
        let lower = if (-f64::MAX..0.0).contains(&x) {
            below
        } else {
            -0.5
        };
        let clamped = x.max(lower).min(TABLE_LEN as f64);
        // SAFETY: in [-0.5, TABLE_LEN], so it converts exactly (by truncation, to 0 for
        // negatives) to an `i32`; a plain `as` cast spends a dozen instructions saturating.
        let truncated = unsafe { clamped.to_int_unchecked::<i32>() } as u32;
        let index = truncated + u32::from(clamped >= 0.0);
        // SAFETY: at most `TABLE_LEN` (0x800), far below the surrogates: a valid `char`.
        *c = unsafe { char::from_u32_unchecked(truncated) };
        let entry = table.entries[index as usize];
        *bad |= entry;
        *key = entry as u16;
        *flag = (entry >> CLASS_SHIFT) as u8;
    }
}

/// [`fill_block`] four values at a time on AVX2 vectors, the same arithmetic: clamped to
/// `[lower, TABLE_LEN]` (NaN to -0.5: `max` returns its second operand for NaN), truncated, plus
/// one when not negative; the entries gathered, their unit and flags bytes shuffled out. The
/// last values (fewer than four) go through [`fill_block`]. (The scalar loop took 19
/// instructions per value, a sixth of a 50x14 chunk's encode.)
///
/// `CLIP` must be whether `below` is a code point (not -0.5).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_block_avx2<const CLIP: bool>(
    table: &FrontTable,
    values: &[f64],
    (offset, below): (f64, f64),
    keys: &mut [u16],
    flags: &mut [u8],
    chars: &mut [char],
    bad: &mut u32,
) {
    use std::arch::x86_64::*;
    let n = values.len();
    assert!(keys.len() >= n && flags.len() >= n && chars.len() >= n);
    assert_eq!(table.entries.len(), TABLE_LEN + 2);
    let vector_end = n / 4 * 4;
    let offset_v = _mm256_set1_pd(offset);
    let (low, below_v, finite_floor) = (
        _mm256_set1_pd(-0.5),
        _mm256_set1_pd(below),
        _mm256_set1_pd(-f64::MAX),
    );
    let zero = _mm256_setzero_pd();
    let high = _mm256_set1_pd(TABLE_LEN as f64);
    // The low halves of the four 64-bit comparison masks.
    let low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);
    // Bytes 0-1 of each entry (the unit lane), then byte 2 of each (the flags).
    let unit_bytes = _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    let flag_bytes = _mm_setr_epi8(2, 6, 10, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    let mut bad_v = _mm_setzero_si128();
    let entries = table.entries.as_ptr() as *const i32;
    for at in (0..vector_end).step_by(4) {
        // In bounds: `at + 4 <= n`, and every buffer holds at least `n` (asserted above).
        let v = _mm256_loadu_pd(values.as_ptr().add(at));
        let x = _mm256_sub_pd(v, offset_v);
        // `below` for finite values below zero, -0.5 for the others, NaN and -inf (the ordered
        // comparisons are false for NaN).
        // (Compiled out without a clip: `below` is then -0.5 too.)
        let lower = if CLIP {
            let finite_negative = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(x, finite_floor),
                _mm256_cmp_pd::<_CMP_LT_OQ>(x, zero),
            );
            _mm256_blendv_pd(low, below_v, finite_negative)
        } else {
            low
        };
        let clamped = _mm256_min_pd(_mm256_max_pd(x, lower), high);
        let truncated = _mm256_cvttpd_epi32(clamped);
        let not_negative = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
            _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_GE_OQ>(clamped, zero)),
            low_halves,
        ));
        // The mask is -1 where not negative: subtracting it adds one.
        let index = _mm_sub_epi32(truncated, not_negative);
        // In bounds: `index` is in `[0, TABLE_LEN + 1]`, the clamp's range shifted by one.
        let entry = _mm_i32gather_epi32::<4>(entries, index);
        bad_v = _mm_or_si128(bad_v, entry);
        _mm_storel_epi64(
            keys.as_mut_ptr().add(at) as *mut __m128i,
            _mm_shuffle_epi8(entry, unit_bytes),
        );
        let flag_word = _mm_cvtsi128_si32(_mm_shuffle_epi8(entry, flag_bytes));
        (flags.as_mut_ptr().add(at) as *mut i32).write_unaligned(flag_word);
        // The truncated code points, at most `TABLE_LEN` (below the surrogates): valid `char`s.
        _mm_storeu_si128(chars.as_mut_ptr().add(at) as *mut __m128i, truncated);
    }
    let lanes: [u32; 4] = std::mem::transmute(bad_v);
    *bad |= lanes[0] | lanes[1] | lanes[2] | lanes[3];
    fill_block(
        table,
        &values[vector_end..],
        (offset, below),
        &mut keys[vector_end..],
        &mut flags[vector_end..],
        &mut chars[vector_end..],
        bad,
    );
}

/// The masks of a text of `n` characters from its flags: whole words of 64 characters on AVX2
/// vectors when the CPU has them ([`word_masks_avx2`]), the rest eight characters at a time
/// (SWAR on the flags bytes, no branch). The flags are whole words ([`size_buffers`]), so with
/// AVX2 a short text is one vector word too (its SWAR groups made the masks of a 20-value chunk
/// about 88 instructions, against 74).
fn fill_masks(n: usize, front: &mut FrontScratch) {
    #[cfg(target_arch = "x86_64")]
    let vector = std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let vector = false;
    fill_masks_with(n, front, vector);
}

/// [`fill_masks`], with the AVX2 words only when `vector` (which needs a CPU with AVX2).
fn fill_masks_with(n: usize, front: &mut FrontScratch, vector: bool) {
    let FrontScratch {
        flags,
        changes,
        specials,
        ..
    } = front;
    changes.clear();
    specials.clear();
    // The flags of the character before the group, in the top byte.
    let mut before = 0u64;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if vector && flags.len() >= 64 {
        done = flags.len() / 64 * 64;
        // SAFETY: `vector` is only true on a CPU with AVX2 (see `fill_masks`).
        unsafe { word_masks_avx2(&flags[..done], changes, specials) };
        before = u64::from(flags[done - 1]) << 56;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = vector;
    let (mut change, mut special) = (0u64, 0u64);
    for (g, group) in flags[done..].chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(group.try_into().expect("eight bytes"));
        let previous = w << 8 | before >> 56;
        before = w;
        let diff = (w ^ previous) & 0x0303_0303_0303_0303;
        // High bit of each byte whose class differs, then one bit per byte.
        let differs = (diff + 0x7F7F_7F7F_7F7F_7F7F) & 0x8080_8080_8080_8080;
        let shift = (g & 7) * 8;
        change |= gather_bytes(differs >> 7) << shift;
        special |= gather_bytes(w >> 2 & 0x0101_0101_0101_0101) << shift;
        if g & 7 == 7 {
            changes.push(change);
            specials.push(special);
            (change, special) = (0, 0);
        }
    }
    if flags.len() % 64 != 0 || n % 64 == 0 {
        changes.push(change);
        specials.push(special);
    }
    // Bit 0 (no character before the first) and bit `n` set: the search for the next change
    // always stops by `n`.
    changes[0] |= 1;
    changes[n >> 6] |= 1 << (n & 63);
}

/// The change and special masks of `flags` (a whole number of 64-character words), one word per
/// 64 flags, on AVX2: a class differs where `(flags[i] ^ flags[i-1]) & 3` is not zero (the
/// first character against 0, as in the SWAR loop), a character is special where bit 2 is set
/// (shifted to the top of its byte for `movemask`). (The SWAR loop took 4 instructions per
/// character.)
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn word_masks_avx2(flags: &[u8], changes: &mut Vec<u64>, specials: &mut Vec<u64>) {
    use std::arch::x86_64::*;
    assert!(flags.len() % 64 == 0);
    for (g, word) in flags.chunks_exact(64).enumerate() {
        let at = word.as_ptr();
        // In bounds: the 64 flags of the word, and the 64 before each shifted by one (the
        // previous word's last flag first, or for the first word a 0: no character before it).
        let low = _mm256_loadu_si256(at as *const __m256i);
        let low_before = if g == 0 {
            after_a_zero(low)
        } else {
            _mm256_loadu_si256(at.sub(1) as *const __m256i)
        };
        let high = _mm256_loadu_si256(at.add(32) as *const __m256i);
        let high_before = _mm256_loadu_si256(at.add(31) as *const __m256i);
        let (c0, s0) = half_word_masks(low, low_before);
        let (c1, s1) = half_word_masks(high, high_before);
        changes.push(u64::from(c0) | u64::from(c1) << 32);
        specials.push(u64::from(s0) | u64::from(s1) << 32);
    }
}

/// The bytes of `w` moved up by one, a 0 first: `[0, w[0], .., w[30]]`. (The first word's
/// predecessors had been copied into a 65-byte array behind a 0, which the compiler sometimes
/// turned into a byte-by-byte shuffle of some 60 instructions.)
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn after_a_zero(w: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    // `[0, low half of w]` as 128-bit lanes; then each lane of `w` shifted up by one byte, the
    // byte shifted in being the top byte of that vector's lane (0 below, w[15] above).
    let below = _mm256_permute2x128_si256::<0x08>(w, w);
    _mm256_alignr_epi8::<15>(w, below)
}

/// The change and special bits of the 32 flags `w`, whose predecessors are `previous` (see
/// [`word_masks_avx2`]).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn half_word_masks(
    w: std::arch::x86_64::__m256i,
    previous: std::arch::x86_64::__m256i,
) -> (u32, u32) {
    use std::arch::x86_64::*;
    let classes = _mm256_and_si256(_mm256_xor_si256(w, previous), _mm256_set1_epi8(3));
    let same = _mm256_cmpeq_epi8(classes, _mm256_setzero_si256());
    let change = !(_mm256_movemask_epi8(same) as u32);
    let special = _mm256_movemask_epi8(_mm256_slli_epi16::<5>(w)) as u32;
    (change, special)
}

/// The class bits of a flags byte for white space (see [`FrontTable::new`]).
const WHITESPACE_CLASS: u8 = 3;

/// The end of the piece starting at `start` with a special character (white space or the
/// apostrophe), by the rules of [`piece_end`], with the ends of runs read from the mask of
/// class changes: a run of one class starting at `i` ends at the first change after `i`. (The
/// scan of [`piece_end`], a class lookup per character, was 7% of a 15x8 chunk whose alphabet
/// holds white space.) Contractions, rare, are left to [`piece_end`].
#[inline(always)]
fn special_piece_end(chars: &[char], flags: &[u8], changes: &[u64], start: usize) -> usize {
    let n = chars.len();
    let c = chars[start];
    if c == '\'' {
        return piece_end(chars, start);
    }
    // White space. One U+0020 before a letter, number or other character joins that run.
    if c == ' ' && start + 1 < n && flags[start + 1] & 3 != WHITESPACE_CLASS {
        return next_bit(changes, start + 2);
    }
    // A run of white space leaves its last character to start the next piece when another one
    // follows (`\s+(?!\S)`), unless that character is the whole run.
    let end = next_bit(changes, start + 1);
    if end < n && end - 1 > start {
        end - 1
    } else {
        end
    }
}

/// Bit `j` of the result: bit `8j` of `x`, whose other bits are clear.
#[inline(always)]
fn gather_bytes(x: u64) -> u64 {
    x.wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The first set bit of `mask` at or after `from` (one is set at or after every index asked).
#[inline(always)]
fn next_bit(mask: &[u64], from: usize) -> usize {
    let mut word = from >> 6;
    let mut bits = mask[word] & (u64::MAX << (from & 63));
    while bits == 0 {
        word += 1;
        bits = mask[word];
    }
    word << 6 | bits.trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all_bytes_model, demo_tokenizer, model_strategy, oracle};
    use super::*;
    use proptest::prelude::*;

    /// The reference's ids for `chars`: the GPT-2 split, then the merge loop on each piece.
    fn reference(bpe: &Bpe, chars: &[char]) -> Vec<u32> {
        let mut ends = Vec::new();
        split_pieces(chars, &mut ends);
        let (mut ids, mut start) = (Vec::new(), 0);
        for end in ends {
            let piece: String = chars[start..end].iter().collect();
            ids.extend(oracle(bpe, piece.as_bytes()));
            start = end;
        }
        ids
    }

    /// The general path: the split, then [`Bpe::encode_chars`] on each piece.
    fn general(bpe: &Bpe, chars: &[char], scratch: &mut BpeScratch) -> Vec<u32> {
        let mut ends = Vec::new();
        split_pieces(chars, &mut ends);
        let (mut ids, mut start) = (Vec::new(), 0);
        for end in ends {
            bpe.encode_chars(&chars[start..end], scratch, &mut ids);
            start = end;
        }
        ids
    }

    /// Characters on every boundary of the split and of the table: letters the random models
    /// merge, contraction letters, digits, punctuation, the apostrophe, ASCII and Unicode white
    /// space, pre-merged and plain two-byte characters, and characters past U+0800.
    fn text_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec![
            'a',
            'a',
            'b',
            'b',
            'c',
            'c',
            's',
            't',
            'r',
            'e',
            'v',
            'l',
            'm',
            'd',
            'S',
            '1',
            '7',
            '!',
            '.',
            '\'',
            '\'',
            ' ',
            ' ',
            ' ',
            '\t',
            '\n',
            '\u{1c}',
            '\u{162}',
            '\u{162}',
            '\u{161}',
            '\u{100}',
            '\u{101}',
            '\u{a0}',
            '\u{85}',
            '\u{b2}',
            '\u{301}',
            '\u{7ff}',
            '\u{20ac}',
            '\u{1f600}',
        ])
    }

    /// Texts that take the front end (no character past U+07FF) more often than not.
    fn text() -> impl Strategy<Value = Vec<char>> {
        prop_oneof![
            prop::collection::vec(text_char(), 0..120).prop_map(|mut chars| {
                chars.retain(|&c| (c as u32) < 0x800);
                chars
            }),
            prop::collection::vec(text_char(), 0..120),
            // Long runs: pieces past the memo, and across the masks' 64-character words.
            (1usize..200, text_char()).prop_map(|(n, c)| vec![c; n]),
            (1usize..40, prop::collection::vec(text_char(), 1..6)).prop_map(|(n, p)| p.repeat(n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// `encode_text` gives the reference's ids (split, then the merge loop on each piece)
        /// and the general path's, on random models (monotone or not, with `ignore_merges`),
        /// every text twice with one scratch (the second time short pieces come from the memo).
        #[test]
        fn encode_text_matches_the_reference_and_the_general_path(
            (picks, duplicates, swaps) in model_strategy(),
            ignore_merges in prop::bool::weighted(0.1),
            texts in prop::collection::vec(text(), 1..6),
        ) {
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, ignore_merges);
            let (mut scratch, mut general_scratch) = (BpeScratch::default(), BpeScratch::default());
            for _ in 0..2 {
                for chars in &texts {
                    let mut out = vec![7];
                    bpe.encode_text(chars, &mut scratch, &mut out);
                    let expected = reference(&bpe, chars);
                    prop_assert_eq!(&out[1..], &expected[..], "{:?}", chars);
                    prop_assert_eq!(general(&bpe, chars, &mut general_scratch), expected);
                }
            }
        }

        /// The table's unit of every character below U+0800 is the unit the merge loop starts
        /// from, and its class and flags are the split's.
        #[test]
        fn table_entries_are_the_units_and_classes(
            (picks, duplicates, swaps) in model_strategy(),
        ) {
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, false);
            let table = FrontTable::new(&bpe).expect("no ignore_merges");
            prop_assert_eq!(table.entry('\u{800}'), BAD);
            prop_assert_eq!(table.entry('\u{1f600}'), BAD);
            for c in (0..TABLE_LEN as u32).filter_map(char::from_u32) {
                let entry = table.entry(c);
                let mut units = Vec::new();
                bpe.push_char_units(&[c], &mut units);
                prop_assert_eq!(entry & BAD, 0, "{:?}", c);
                if units.len() == 1 {
                    prop_assert_eq!(entry & (0xFFFF | MULTI), units[0] + 1, "{:?}", c);
                } else {
                    prop_assert_eq!(entry & MULTI, MULTI, "{:?}", c);
                }
                let class = char_class(c);
                let expected_class = [CharClass::Letter, CharClass::Number, CharClass::Other,
                    CharClass::Whitespace][(entry >> CLASS_SHIFT & 3) as usize];
                prop_assert_eq!(class, expected_class, "{:?}", c);
                let special = class == CharClass::Whitespace || c == '\'';
                prop_assert_eq!(entry & SPECIAL != 0, special, "{:?}", c);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// `encode_code_points` gives `encode_text`'s ids and characters when every value is the
        /// code point (plus the offset) of a character the table takes, and declines, leaving
        /// `out` as it was, otherwise (below the offset, past the table, NaN, infinite, long
        /// texts out of range at the start or only further on).
        #[test]
        fn encode_code_points_is_encode_text_or_declines(
            (picks, duplicates, swaps) in model_strategy(),
            texts in prop::collection::vec(text(), 1..6),
            offset in prop_oneof![Just(0i64), Just(-354), Just(-51), Just(100)],
            spoil in prop::option::of((0usize..200, prop_oneof![
                Just(-1.0), Just(-0.5), Just(2048.0), Just(1e300), Just(f64::NAN),
                Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(0x7ff as f64 + 0.5)
            ])),
        ) {
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, false);
            let (mut scratch, mut text_scratch) = (BpeScratch::default(), BpeScratch::default());
            for chars in &texts {
                let offset = offset as f64;
                let mut values: Vec<f64> = chars.iter().map(|&c| c as u32 as f64 + offset).collect();
                if let Some((at, code_point)) = spoil {
                    if !values.is_empty() {
                        let at = at % values.len();
                        values[at] = code_point + offset;
                    }
                }
                // Every character below U+0800 is in the table of a model holding every byte.
                let takes = values.iter().all(|&v| (0.0..2048.0).contains(&(v - offset)));
                let (mut out, mut written) = (vec![7], Vec::new());
                let done = bpe.encode_code_points(&values, offset, &mut written, &mut scratch, &mut out);
                prop_assert_eq!(done, takes, "{:?}", values);
                if !done {
                    prop_assert_eq!(out, vec![7]);
                    continue;
                }
                let written_from: Vec<char> = values
                    .iter()
                    .map(|&v| char::from_u32((v - offset) as u32).unwrap())
                    .collect();
                prop_assert_eq!(&written, &written_from);
                let mut expected = vec![7];
                bpe.encode_text(&written, &mut text_scratch, &mut expected);
                prop_assert_eq!(&out, &expected);
                prop_assert_eq!(&out[1..], &reference(&bpe, &written)[..]);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The AVX2 block fill writes what the scalar one writes, for values in and out of the
        /// table, fractions, NaN and infinities, blocks of every length up to 64, with and
        /// without a code point for values below zero.
        #[cfg(target_arch = "x86_64")]
        #[test]
        fn vector_fill_is_the_scalar_fill(
            (picks, duplicates, swaps) in model_strategy(),
            values in prop::collection::vec(prop_oneof![
                4 => (-400i32..2500).prop_map(f64::from),
                1 => -1e6f64..1e6,
                1 => prop::sample::select(vec![-0.5, -0.4, 0.0, -0.0, 2047.5, 2048.0, 2048.5,
                    f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300]),
            ], 0..=BLOCK),
            offset in prop_oneof![Just(0.0), Just(-354.0), Just(-51.0), Just(100.0)],
            below in prop_oneof![Just(-0.5), Just(0.0), Just(5.0), Just(300.0)],
        ) {
            if !std::arch::is_x86_feature_detected!("avx2") {
                return Ok(());
            }
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, false);
            let table = FrontTable::new(&bpe).expect("no ignore_merges");
            let n = values.len();
            let fill = |vector: bool| {
                let (mut keys, mut flags, mut chars, mut bad) =
                    (vec![9u16; n], vec![9u8; n], vec!['x'; n], 0);
                if vector {
                    // SAFETY: the CPU supports AVX2, checked above.
                    unsafe {
                        let clip = below >= 0.0;
                        if clip {
                            fill_block_avx2::<true>(&table, &values, (offset, below), &mut keys, &mut flags, &mut chars, &mut bad)
                        } else {
                            fill_block_avx2::<false>(&table, &values, (offset, below), &mut keys, &mut flags, &mut chars, &mut bad)
                        }
                    };
                } else {
                    fill_block(&table, &values, (offset, below), &mut keys, &mut flags, &mut chars, &mut bad);
                }
                (keys, flags, chars, bad)
            };
            prop_assert_eq!(fill(true), fill(false), "{:?}", values);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Given a code point for values below zero, finite ones below zero encode as its
        /// character (the clip) and everything else as before; NaN and -inf still decline.
        #[test]
        fn values_below_zero_take_the_given_code_point(
            (picks, duplicates, swaps) in model_strategy(),
            chars in text(),
            offset in prop_oneof![Just(0.0), Just(-354.0), Just(-51.0)],
            below in 0u32..0x800,
            lowered in prop::collection::vec((0usize..200, prop_oneof![
                Just(-1.0), Just(-0.5), Just(-1e300), Just(-f64::MAX), Just(-3.0)
            ]), 0..4),
            spoil in prop::option::of(prop_oneof![Just(f64::NAN), Just(f64::NEG_INFINITY)]),
        ) {
            let bpe = all_bytes_model(&picks, &duplicates, &swaps, false);
            let (mut scratch, mut text_scratch) = (BpeScratch::default(), BpeScratch::default());
            let mut values: Vec<f64> = chars.iter().map(|&c| c as u32 as f64 + offset).collect();
            let mut expected_chars = chars.clone();
            if !values.is_empty() {
                for &(at, code_point) in &lowered {
                    let at = at % values.len();
                    values[at] = code_point + offset;
                    expected_chars[at] = char::from_u32(below).unwrap();
                }
            }
            let takes = expected_chars.iter().all(|&c| (c as u32) < 0x800);
            if let (Some(bad), false) = (spoil, values.is_empty()) {
                values[0] = bad;
                let mut out = vec![7];
                let done = bpe.encode_code_points_below(
                    &values, offset, Some(below), &mut Vec::new(), &mut scratch, &mut out);
                prop_assert!(!done);
                prop_assert_eq!(out, vec![7]);
                return Ok(());
            }
            let (mut out, mut written) = (vec![7], Vec::new());
            let done = bpe.encode_code_points_below(
                &values, offset, Some(below), &mut written, &mut scratch, &mut out);
            prop_assert_eq!(done, takes);
            if done {
                prop_assert_eq!(&written, &expected_chars);
                let mut expected = vec![7];
                bpe.encode_text(&expected_chars, &mut text_scratch, &mut expected);
                prop_assert_eq!(out, expected);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The AVX2 words of the masks are the SWAR loop's, for texts of every length around
        /// the word boundaries and any flags (garbage past `n` included).
        #[cfg(target_arch = "x86_64")]
        #[test]
        fn vector_masks_are_the_swar_masks(
            n in prop_oneof![0usize..200, Just(63), Just(64), Just(65), Just(128), Just(700)],
            seed in any::<u64>(),
        ) {
            if !std::arch::is_x86_feature_detected!("avx2") {
                return Ok(());
            }
            let masks = |vector: bool| {
                let mut front = FrontScratch::default();
                let (mut keys, mut flags) = (Vec::new(), Vec::new());
                size_buffers(n, &mut keys, &mut flags);
                // The same xorshift flags for both.
                let mut local = seed | 1;
                for f in flags.iter_mut() {
                    local ^= local << 13;
                    local ^= local >> 7;
                    local ^= local << 17;
                    *f = (local >> 24) as u8;
                }
                front.flags = flags;
                fill_masks_with(n, &mut front, vector);
                (front.changes, front.specials)
            };
            prop_assert_eq!(masks(true), masks(false));
        }
    }

    /// A model whose byte symbols all have ids past `u16::MAX - 1` (a vocabulary of more than
    /// 65,535 tokens that lists them last): every character is flagged as needing the general
    /// spelling, one unit ('a') or two (U+0161), or one merged unit (U+0162, "ab"...).
    fn high_id_model() -> &'static Bpe {
        static MODEL: std::sync::OnceLock<Bpe> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| {
            use crate::bpe::bytelevel::BYTE_TO_CHAR;
            const FILLER: u32 = 65_600;
            let mut tokens: Vec<String> = (0..FILLER).map(|i| format!("<unused{i}>")).collect();
            tokens.extend(BYTE_TO_CHAR.iter().map(|c| c.to_string()));
            let byte = |b: u8| FILLER + u32::from(b);
            let (mut merges, mut merged) = (Vec::new(), Vec::new());
            let mut merge = |tokens: &mut Vec<String>, l: u32, r: u32| {
                let joined = format!("{}{}", tokens[l as usize], tokens[r as usize]);
                tokens.push(joined);
                merges.push((l, r));
                merged.push(tokens.len() as u32 - 1);
                tokens.len() as u32 - 1
            };
            let ab = merge(&mut tokens, byte(b'a'), byte(b'b'));
            merge(&mut tokens, ab, byte(b'c'));
            let aa = merge(&mut tokens, byte(b'a'), byte(b'a'));
            merge(&mut tokens, aa, aa);
            // U+0162 is the UTF-8 bytes C5 A2: merged into one unit; U+0161 (C5 A1) is not.
            merge(&mut tokens, byte(0xC5), byte(0xA2));
            merge(&mut tokens, byte(b' '), byte(b'a'));
            let bpe = Bpe::new(tokens, merges, merged, false);
            assert!(bpe.consistent);
            bpe
        })
    }

    #[test]
    fn high_id_model_flags_one_unit_characters() {
        let bpe = high_id_model();
        let table = FrontTable::new(bpe).expect("no ignore_merges");
        for (c, units) in [('a', 1), ('\u{162}', 1), ('\u{161}', 2)] {
            assert_eq!(table.entry(c) & (MULTI | BAD), MULTI, "{c:?}");
            let [first, second] = table.spelled[c as usize];
            assert!(first >= u32::from(u16::MAX), "{c:?}");
            assert_eq!(second != NONE, units == 2, "{c:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// With every unit past the memo's 16-bit keys, pieces are spelled from the table one
        /// unit or two per character (never the memo) and still get the reference's ids.
        #[test]
        fn units_past_16_bits_get_the_reference_ids(texts in prop::collection::vec(text(), 1..6)) {
            let bpe = high_id_model();
            let (mut scratch, mut general_scratch) = (BpeScratch::default(), BpeScratch::default());
            for chars in &texts {
                let mut out = vec![7];
                bpe.encode_text(chars, &mut scratch, &mut out);
                let expected = reference(bpe, chars);
                prop_assert_eq!(&out[1..], &expected[..], "{:?}", chars);
                prop_assert_eq!(general(bpe, chars, &mut general_scratch), expected);
            }
        }
    }

    /// The characters of FAST chunks of the demo tokenizer (min_token -354: U+0162 is zero) take
    /// the front end and get the reference's ids, with one scratch across many texts and
    /// across a change of model and back.
    #[test]
    fn demo_tokenizer_texts_take_the_front_end() {
        let bpe = demo_tokenizer();
        let other = all_bytes_model(&[(0, 1), (7, 2)], &[], &[], false);
        let table = FrontTable::new(&bpe).expect("the demo tokenizer has a table");
        // Zero is spelled by one unit (some characters further off are not).
        assert_eq!(table.entry('\u{162}') & (BAD | MULTI), 0);
        let mut mixed = [0; 2];
        let mut scratch = BpeScratch::default();
        let mut state = 1u64;
        for round in 0..400u64 {
            let len = [1, 2, 5, 14, 70, 140, 700][round as usize % 7];
            let chars: Vec<char> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let r = (state >> 33) as i64;
                    // Mostly zero and its neighbours, a wide spread sometimes (noisy chunks).
                    let offset = match r % 8 {
                        0..=3 => 0,
                        4..=6 => r / 8 % 9 - 4,
                        _ => r / 8 % 301 - 150,
                    };
                    char::from_u32((0x162 + offset) as u32).unwrap()
                })
                // Characters the vocabulary lacks would be refused or clipped before encoding.
                .filter(|&c| c.to_string().bytes().all(|b| bpe.byte_id(b).is_some()))
                .collect();
            let mut front = FrontScratch::default();
            let fill = fill_from_chars(&table, &chars, &mut front);
            mixed[usize::from(fill.expect("every character in the table"))] += 1;
            let mut out = Vec::new();
            bpe.encode_text(&chars, &mut scratch, &mut out);
            assert_eq!(out, reference(&bpe, &chars), "round {round}");
            if round % 50 == 49 {
                let mut out = Vec::new();
                other.encode_text(&['a', 'b', 'c'], &mut scratch, &mut out);
                assert_eq!(out, reference(&other, &['a', 'b', 'c']));
            }
        }
        assert!(
            mixed[0] > 30 && mixed[1] > 30,
            "texts without / with two-unit characters: {mixed:?}"
        );
    }

    /// More distinct short pieces than the memo has slots, twice over: evictions and the pair's
    /// second way give the reference's ids too.
    #[test]
    fn the_memo_forgets_without_changing_ids() {
        let bpe = all_bytes_model(&[(0, 1), (1, 2), (7, 0), (8, 2), (2, 2)], &[], &[], false);
        let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
        let mut chars = Vec::new();
        let mut state = 7u64;
        for _ in 0..3 * UnitCache::LEN {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = 1 + (state >> 60) as usize % 5;
            chars.extend((0..len).map(|k| letters[(state >> (8 * k + 8)) as usize % 52]));
            chars.push(if state >> 63 == 0 { '.' } else { '7' });
        }
        let expected = reference(&bpe, &chars);
        let mut scratch = BpeScratch::default();
        for _ in 0..2 {
            for text in chars.chunks(700) {
                let mut out = Vec::new();
                bpe.encode_text(text, &mut scratch, &mut out);
                assert_eq!(out, reference(&bpe, text));
            }
        }
        let mut out = Vec::new();
        bpe.encode_text(&chars, &mut scratch, &mut out);
        assert_eq!(out, expected);
    }

    #[test]
    fn gather_bytes_packs_one_bit_per_byte() {
        for bits in 0..=255u64 {
            let spread = (0..8).fold(0, |x, j| x | (bits >> j & 1) << (8 * j));
            assert_eq!(gather_bytes(spread), bits);
        }
    }

    proptest! {
        /// The pieces found from the masks ([`special_piece_end`] for those starting with a
        /// special character, the next class change otherwise) are the GPT-2 split's.
        #[test]
        fn mask_pieces_are_the_split(chars in text()) {
            let chars: Vec<char> = chars.into_iter().filter(|&c| (c as u32) < 0x800).collect();
            let bpe = all_bytes_model(&[], &[], &[], false);
            let table = FrontTable::new(&bpe).unwrap();
            let mut front = FrontScratch::default();
            prop_assert!(fill_from_chars(&table, &chars, &mut front).is_some());
            let (mut got, mut start) = (Vec::new(), 0);
            while start < chars.len() {
                start = if front.specials[start >> 6] >> (start & 63) & 1 != 0 {
                    special_piece_end(&chars, &front.flags, &front.changes, start)
                } else {
                    next_bit(&front.changes, start + 1)
                };
                got.push(start);
            }
            let mut want = Vec::new();
            split_pieces(&chars, &mut want);
            prop_assert_eq!(got, want);
        }
    }

    /// The mask of class changes and the next-change search across word boundaries.
    #[test]
    fn changes_mark_every_class_change_and_the_end() {
        let bpe = all_bytes_model(&[], &[], &[], false);
        let table = FrontTable::new(&bpe).unwrap();
        for n in [0, 1, 63, 64, 65, 127, 128, 200] {
            let chars: Vec<char> = (0..n).map(|i| if i % 3 == 0 { '1' } else { 'a' }).collect();
            let mut front = FrontScratch::default();
            assert_eq!(fill_from_chars(&table, &chars, &mut front), Some(false));
            for i in 0..=n {
                let set = front.changes[i >> 6] >> (i & 63) & 1 == 1;
                let expected = i == 0 || i == n || (i % 3 == 0) != ((i - 1) % 3 == 0);
                assert_eq!(set, expected, "n {n}, bit {i}");
            }
            for from in 1..=n {
                let expected = (from..=n).find(|&i| i == n || (i % 3 == 0) != ((i - 1) % 3 == 0));
                assert_eq!(
                    Some(next_bit(&front.changes, from)),
                    expected,
                    "n {n}, from {from}"
                );
            }
        }
    }
}
