//! Reader and writer for the `tokenizer.json` of a FAST tokenizer
//! (`docs/formats.md#tokenizerjson`).
//!
//! Only what actok can reproduce exactly is accepted: a BPE model without dropout, unknown token,
//! subword prefix/suffix or byte fallback, no normalizer, no added tokens, and the ByteLevel
//! pre-tokenizer with `add_prefix_space: false` and `use_regex: true`. Anything else is refused
//! with an error naming the field, rather than being tokenized differently from the library.

mod raw;
mod write;

use std::path::Path;

use serde_json::{Map, Value};

use crate::bpe::Bpe;
use crate::error::{Error, Result};
use crate::format::json::parse_object;
use crate::format::read::check_len;
use raw::RawTokenizerFile;

/// Largest accepted `tokenizer.json`, in bytes: 256 MiB. The released FAST tokenizer is about
/// 100 KB and the largest public LLM tokenizers (vocabularies of ~250k) are tens of MB, so this
/// only refuses files that would take gigabytes once parsed (JSON values cost ~10× their text).
pub const MAX_TOKENIZER_FILE_BYTES: usize = 256 << 20;
/// Largest accepted vocabulary: 2^20 tokens. FAST tokenizers have 1–8k and the largest LLM
/// vocabularies ~256k; 2^20 is 4× that, and still keeps ids far inside `u32`/`i32`.
pub const MAX_VOCAB_SIZE: usize = 1 << 20;
/// Largest accepted merge list: 2^22 entries. Each distinct merge creates one vocabulary token,
/// so a real list is shorter than the vocabulary; 4× [`MAX_VOCAB_SIZE`] leaves room for lists
/// with repeated entries (which `tokenizers` accepts, the last copy giving the rank).
pub const MAX_MERGES: usize = 1 << 22;
/// Longest accepted token: 2^16 characters (byte-level symbols, one per byte of the raw token).
/// A token never spans more than one GPT-2 piece of one chunk: the fitter's default
/// `max_token_length` is 10,000 and a 50×14 chunk is at most 2,800 bytes, so 65,536 is generous.
pub const MAX_TOKEN_CHARS: usize = 1 << 16;

/// The caps checked while parsing, as one value so that tests can lower them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) file_bytes: usize,
    pub(crate) vocab: usize,
    pub(crate) merges: usize,
    pub(crate) token_chars: usize,
}

impl Limits {
    /// The documented caps.
    pub(crate) const DEFAULT: Self = Self {
        file_bytes: MAX_TOKENIZER_FILE_BYTES,
        vocab: MAX_VOCAB_SIZE,
        merges: MAX_MERGES,
        token_chars: MAX_TOKEN_CHARS,
    };
}

/// The parts of `tokenizer.json` outside the model, kept so that saving loses nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenizerSections {
    /// Every top-level key except `model`.
    pub top: Map<String, Value>,
}

impl Default for TokenizerSections {
    /// The sections `tokenizers` writes for a FAST tokenizer.
    fn default() -> Self {
        let byte_level = |add_prefix_space: bool, trim_offsets: bool| {
            serde_json::json!({
                "type": "ByteLevel",
                "add_prefix_space": add_prefix_space,
                "trim_offsets": trim_offsets,
                "use_regex": true
            })
        };
        let mut top = Map::new();
        top.insert("version".into(), Value::from("1.0"));
        top.insert("truncation".into(), Value::Null);
        top.insert("padding".into(), Value::Null);
        top.insert("added_tokens".into(), Value::Array(Vec::new()));
        top.insert("normalizer".into(), Value::Null);
        top.insert("pre_tokenizer".into(), byte_level(false, true));
        top.insert("post_processor".into(), byte_level(true, false));
        top.insert("decoder".into(), byte_level(true, true));
        Self { top }
    }
}

/// Parses `tokenizer.json` text into a BPE model; `path` is used in error messages.
///
/// Refuses, with an [`Error::Format`] naming the limit and the actual value, a text longer than
/// [`MAX_TOKENIZER_FILE_BYTES`], more than [`MAX_VOCAB_SIZE`] tokens, more than [`MAX_MERGES`]
/// merges, or a token longer than [`MAX_TOKEN_CHARS`]: a corrupted or hostile file must fail
/// quickly rather than exhaust memory or build a model no action chunk could use.
pub fn parse(text: &str, path: &Path) -> Result<(Bpe, TokenizerSections)> {
    parse_limited(text, path, Limits::DEFAULT)
}

/// [`parse`] with explicit caps.
pub(crate) fn parse_limited(
    text: &str,
    path: &Path,
    limits: Limits,
) -> Result<(Bpe, TokenizerSections)> {
    check_len(text, path, limits.file_bytes)?;
    let value = parse_object(text, path)?;
    RawTokenizerFile::from_object(value)
        .and_then(|raw| raw.validate(limits))
        .map_err(|message| Error::format(path, message))
}

/// Serializes a model and its sections as `tokenizers` writes `tokenizer.json`: vocab in id order,
/// merges as `["a", "b"]` pairs.
pub fn write(bpe: &Bpe, sections: &TokenizerSections) -> String {
    write::write(bpe, sections)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn doc(merges: &str) -> String {
        format!(
            r#"{{"version":"1.0","added_tokens":[],"normalizer":null,
            "pre_tokenizer":{{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}},
            "decoder":{{"type":"ByteLevel"}},
            "model":{{"type":"BPE","dropout":null,"unk_token":null,"vocab":{{"a":0,"b":1,"ab":2,"Ġ":3}},"merges":{merges}}}}}"#
        )
    }

    #[test]
    fn both_merge_formats_parse_identically() {
        let (a, _) = parse(&doc(r#"["a b"]"#), Path::new("t.json")).unwrap();
        let (b, _) = parse(&doc(r#"[["a","b"]]"#), Path::new("t.json")).unwrap();
        assert_eq!(a.merges(), b.merges());
        assert_eq!(a.merges(), &[(0, 1)]);
    }

    #[test]
    fn write_then_parse_round_trips() {
        let (bpe, sections) = parse(&doc(r#"[["a","b"]]"#), Path::new("t.json")).unwrap();
        let text = write(&bpe, &sections);
        let (again, sections2) = parse(&text, Path::new("t.json")).unwrap();
        assert_eq!(again.tokens(), bpe.tokens());
        assert_eq!(again.merges(), bpe.merges());
        assert_eq!(sections, sections2);
    }

    /// Each cap refuses one past it, naming the limit and the value, and accepts exactly at it.
    #[test]
    fn caps_name_the_limit_and_the_value() {
        let text = doc(r#"[["a","b"]]"#);
        let path = Path::new("t.json");
        let at = Limits {
            file_bytes: text.len(),
            vocab: 4,
            merges: 1,
            token_chars: 2,
        };
        assert!(parse_limited(&text, path, at).is_ok());
        let message = |limits: Limits| match parse_limited(&text, path, limits) {
            Err(Error::Format { message, .. }) => message,
            other => panic!("expected a format error, got {other:?}"),
        };
        let m = message(Limits {
            file_bytes: text.len() - 1,
            ..at
        });
        let expected = format!(
            "the file is {} bytes, more than the limit of {} bytes",
            text.len(),
            text.len() - 1
        );
        assert_eq!(m, expected);
        let m = message(Limits { vocab: 3, ..at });
        assert_eq!(m, "model.vocab has 4 tokens, more than the limit of 3");
        let m = message(Limits { merges: 0, ..at });
        assert_eq!(m, "model.merges has 1 entries, more than the limit of 0");
        let m = message(Limits {
            token_chars: 1,
            ..at
        });
        assert_eq!(
            m,
            "model.vocab token 2 (\"ab\"...) is 2 characters long, more than the limit of 1"
        );
    }

    /// The documented caps themselves, on files just past them (the vocabulary's costs ~20 MB).
    #[test]
    fn default_caps_refuse_files_just_past_them() {
        let path = Path::new("t.json");
        let message = |text: &str| match parse(text, path) {
            Err(Error::Format { message, .. }) => message,
            other => panic!("expected a format error, got {other:?}"),
        };
        let long_token = "a".repeat(MAX_TOKEN_CHARS + 1);
        let m = message(&doc("[]").replace("\"ab\":2", &format!("\"{long_token}\":2")));
        assert!(
            m.contains("65537 characters long, more than the limit of 65536"),
            "{m}"
        );
        let mut vocab = String::from("\"a\":0,\"b\":1,\"ab\":2,\"Ġ\":3");
        for i in 4..=MAX_VOCAB_SIZE {
            let _ = write!(vocab, ",\"z{i}\":{i}");
        }
        let big = doc("[]").replace("\"a\":0,\"b\":1,\"ab\":2,\"Ġ\":3", &vocab);
        let m = message(&big);
        assert_eq!(
            m,
            "model.vocab has 1048577 tokens, more than the limit of 1048576"
        );
        let merges = format!("[{}]", vec!["\"a b\""; MAX_MERGES + 1].join(","));
        let m = message(&doc(&merges));
        assert_eq!(
            m,
            "model.merges has 4194305 entries, more than the limit of 4194304"
        );
        let huge = " ".repeat(MAX_TOKENIZER_FILE_BYTES + 1);
        let m = message(&huge);
        assert_eq!(
            m,
            "the file is 268435457 bytes, more than the limit of 268435456 bytes"
        );
    }

    #[test]
    fn rejects_inconsistent_files() {
        for (merges_or_doc, needle) in [
            (doc(r#"[["a","c"]]"#), "not in the vocab"),
            (doc(r#"[["b","a"]]"#), "not in the vocab"),
            (doc(r#"["ab"]"#), "is not \"left right\""),
            (doc(r#"[1]"#), "must be"),
            (
                doc(r#"[["a","b"]]"#).replace("\"ab\":2", "\"ab\":0"),
                "share id",
            ),
            (doc(r#"[]"#).replace("\"ab\":2", "\"ab\":9"), "out of range"),
            (
                doc(r#"[]"#).replace("\"BPE\"", "\"WordPiece\""),
                "model type",
            ),
            (
                doc(r#"[]"#).replace("\"unk_token\":null", "\"unk_token\":\"a\""),
                "unk_token",
            ),
            (
                doc(r#"[]"#).replace("\"add_prefix_space\":false", "\"add_prefix_space\":true"),
                "pre_tokenizer",
            ),
            ("{\"model\": 3}".to_string(), "\"model\" must be an object"),
            ("{".to_string(), "not valid JSON"),
        ] {
            let e = parse(&merges_or_doc, Path::new("t.json"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
    }
}
