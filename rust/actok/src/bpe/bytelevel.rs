//! The GPT-2 byte-level map: a reversible map from the 256 byte values to printable characters
//! (not to be confused with a tokenizer's coefficient range or the fit's initial alphabet).
//!
//! Bytes `!`..=`~`, 0xA1..=0xAC and 0xAE..=0xFF map to the character with the same code point; the
//! other 68 bytes map, in increasing order, to U+0100..=U+0143
//! (`docs/semantics.md#byte-level-map`).

/// Whether byte `b` maps to the character of the same code point.
const fn maps_to_itself(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

const fn build_byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next_shifted = 0x100u32;
    let mut b = 0usize;
    while b < 256 {
        let code = if maps_to_itself(b as u8) {
            b as u32
        } else {
            let c = next_shifted;
            next_shifted += 1;
            c
        };
        table[b] = match char::from_u32(code) {
            Some(c) => c,
            None => panic!("byte-level code points are all valid"),
        };
        b += 1;
    }
    table
}

/// `BYTE_TO_CHAR[b]` is the byte-level symbol of byte `b`.
pub const BYTE_TO_CHAR: [char; 256] = build_byte_to_char();

/// The byte a byte-level symbol stands for, or `None` if `c` is not a byte-level symbol.
#[inline]
pub fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if code < 0x100 {
        let b = code as u8;
        maps_to_itself(b).then_some(b)
    } else if code <= 0x143 {
        Some(SHIFTED_BYTES[(code - 0x100) as usize])
    } else {
        None
    }
}

const fn build_shifted_bytes() -> [u8; 68] {
    let mut table = [0u8; 68];
    let mut i = 0usize;
    let mut b = 0usize;
    while b < 256 {
        if !maps_to_itself(b as u8) {
            table[i] = b as u8;
            i += 1;
        }
        b += 1;
    }
    table
}

/// The bytes that map to U+0100.. in order.
const SHIFTED_BYTES: [u8; 68] = build_shifted_bytes();

/// Appends the raw bytes a token string stands for: each byte-level symbol becomes its byte, any
/// other character contributes its own UTF-8 bytes (as the `tokenizers` ByteLevel decoder does).
pub fn token_to_bytes(token: &str, out: &mut Vec<u8>) {
    for c in token.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => push_utf8(out, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_is_a_bijection_onto_the_documented_set() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = BYTE_TO_CHAR[b as usize];
            assert!(seen.insert(c));
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(BYTE_TO_CHAR[0x00], '\u{100}');
        assert_eq!(BYTE_TO_CHAR[0x20], '\u{120}');
        assert_eq!(BYTE_TO_CHAR[0x7F], '\u{121}');
        assert_eq!(BYTE_TO_CHAR[0xAD], '\u{143}');
        assert_eq!(BYTE_TO_CHAR[b'A' as usize], 'A');
        assert_eq!(char_to_byte('\u{144}'), None);
        assert_eq!(char_to_byte(' '), None);
    }

    #[test]
    fn token_bytes_pass_foreign_chars_through() {
        let mut out = Vec::new();
        token_to_bytes("\u{120}A\u{4E00}", &mut out);
        assert_eq!(out, vec![0x20, b'A', 0xE4, 0xB8, 0x80]);
    }
}

/// Appends the UTF-8 encoding of `ch` to `out`.
///
/// Pieces are built one character at a time in the encoder's hot loop, where
/// `extend_from_slice(ch.encode_utf8(..))` costs a `memcpy` call per character (and a call
/// of this function cost as much as the rest of a short piece's spelling).
#[inline(always)]
pub(crate) fn push_utf8(out: &mut Vec<u8>, ch: char) {
    let c = ch as u32;
    if c < 0x80 {
        out.push(c as u8);
    } else if c < 0x800 {
        out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]);
    } else if c < 0x1_0000 {
        out.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            0x80 | ((c >> 12) & 0x3F) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    }
}

#[cfg(test)]
mod push_utf8_tests {
    use super::push_utf8;

    #[test]
    fn matches_encode_utf8_on_every_scalar_value() {
        let mut out = Vec::new();
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            out.clear();
            push_utf8(&mut out, c);
            assert_eq!(out, c.encode_utf8(&mut buf).as_bytes(), "{c:?}");
        }
    }
}
