//! `tokenizer.json` as written, before validation: the `serde` structs it is deserialized into,
//! and their validation into a [`Bpe`] and the [`TokenizerSections`] kept for saving.
//!
//! Fields are kept as JSON values where the check must see exactly what was written: an error
//! quotes the offending value (`model.vocab["a"] must be a non-negative integer, got "3"`), and a
//! field `tokenizers` reads leniently (a non-boolean `use_regex`) must not start failing here.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Limits, TokenizerSections};
use crate::bpe::Bpe;
use crate::format::json::present;

/// A message naming the field and what is wrong with it; the caller adds the file.
type Message = String;

/// The top level: the model, and every other section (kept whole for saving).
#[derive(Deserialize)]
pub(super) struct RawTokenizerFile {
    model: RawModel,
    #[serde(flatten)]
    sections: Map<String, Value>,
}

/// The sections whose content changes how text is tokenized: each must be what FAST uses.
#[derive(Deserialize)]
struct RawSections {
    normalizer: Option<Value>,
    added_tokens: Option<Value>,
    /// `present`: a `null` pre-tokenizer is unsupported, not missing.
    #[serde(default, deserialize_with = "present")]
    pre_tokenizer: Option<Value>,
    decoder: Option<Value>,
}

/// The fields of a `ByteLevel` pre-tokenizer or decoder that are checked.
#[derive(Deserialize)]
struct RawByteLevel {
    #[serde(rename = "type")]
    kind: Option<Value>,
    add_prefix_space: Option<Value>,
    use_regex: Option<Value>,
}

/// `model`, once known to be an object (see [`RawTokenizerFile::from_object`]). Keys actok has no use for (`fuse_unk`, ...) are ignored.
#[derive(Deserialize)]
struct RawModel {
    /// `present`: `"type": null` is reported as `null`, a missing type as "nothing".
    #[serde(rename = "type", default, deserialize_with = "present")]
    kind: Option<Value>,
    dropout: Option<Value>,
    unk_token: Option<Value>,
    continuing_subword_prefix: Option<Value>,
    end_of_word_suffix: Option<Value>,
    byte_fallback: Option<Value>,
    ignore_merges: Option<Value>,
    /// `None` when missing or not an object.
    #[serde(default, deserialize_with = "object_entries")]
    vocab: Option<Vec<(String, Value)>>,
    merges: Option<Value>,
}

/// The entries of a JSON object in the order given (sorted, each key once: the file was parsed
/// to a map first), or `None` for any other value.
///
/// Collected as a list rather than a map: rebuilding the vocabulary's map cost more than all the
/// rest of this deserialization.
fn object_entries<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(String, Value)>>, D::Error> {
    struct Entries;

    impl<'de> Visitor<'de> for Entries {
        type Value = Option<Vec<(String, Value)>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(Some(entries))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    d.deserialize_any(Entries)
}

/// `value` as `T` when it is a JSON object, else `None`: a derived struct would also accept an
/// array of its fields in order, which `tokenizers` does not.
fn object_as<T: for<'de> Deserialize<'de>>(value: &Value) -> Option<T> {
    if value.is_object() {
        T::deserialize(value).ok()
    } else {
        None
    }
}

impl RawTokenizerFile {
    /// Deserializes the top-level object of a `tokenizer.json`.
    ///
    /// `model` is checked to be an object first: a derived struct would also read an array of
    /// its fields in order, and a `null` model would read as a missing one.
    pub(super) fn from_object(top: Value) -> Result<Self, Message> {
        match top.get("model") {
            Some(Value::Object(_)) => {}
            Some(_) => return Err("\"model\" must be an object".into()),
            None => return Err("missing \"model\"".into()),
        }
        // Every field of the model is an optional JSON value: an object always deserializes.
        Self::deserialize(top).map_err(|e| e.to_string())
    }

    /// Checks the file against what actok reproduces exactly and builds the model, refusing
    /// more than `limits` allows.
    pub(super) fn validate(self, limits: Limits) -> Result<(Bpe, TokenizerSections), Message> {
        let top = Value::Object(self.sections);
        // Every field is an optional JSON value, so an object always deserializes; an error
        // would still be reported, never a panic.
        let sections = RawSections::deserialize(&top).map_err(|e| e.to_string())?;
        sections.check()?;
        let bpe = self.model.validate(limits)?;
        let Value::Object(top) = top else {
            unreachable!("built as an object above")
        };
        Ok((bpe, TokenizerSections { top }))
    }
}

impl RawSections {
    fn check(&self) -> Result<(), Message> {
        match &self.normalizer {
            None | Some(Value::Null) => {}
            Some(other) => {
                return Err(format!(
                    "unsupported \"normalizer\" {other} (FAST uses null)"
                ))
            }
        }
        match &self.added_tokens {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(_) => return Err("unsupported non-empty \"added_tokens\" (FAST has none)".into()),
        }
        let pre = self
            .pre_tokenizer
            .as_ref()
            .ok_or("missing \"pre_tokenizer\"")?;
        let ok = object_as::<RawByteLevel>(pre).is_some_and(|p| {
            is_byte_level(&p.kind)
                && p.add_prefix_space.as_ref().and_then(Value::as_bool) == Some(false)
                && p.use_regex
                    .as_ref()
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
        });
        if !ok {
            return Err(format!(
                "unsupported \"pre_tokenizer\" {pre}: FAST uses ByteLevel with \
                 add_prefix_space=false and use_regex=true"
            ));
        }
        match &self.decoder {
            None | Some(Value::Null) => {}
            Some(d) if object_as::<RawByteLevel>(d).is_some_and(|d| is_byte_level(&d.kind)) => {}
            Some(other) => {
                return Err(format!(
                    "unsupported \"decoder\" {other} (FAST uses ByteLevel)"
                ))
            }
        }
        Ok(())
    }
}

fn is_byte_level(kind: &Option<Value>) -> bool {
    kind.as_ref().and_then(Value::as_str) == Some("ByteLevel")
}

impl RawModel {
    fn validate(self, limits: Limits) -> Result<Bpe, Message> {
        if self.kind.as_ref().and_then(Value::as_str) != Some("BPE") {
            return Err(format!(
                "model type must be \"BPE\", got {}",
                self.kind
                    .as_ref()
                    .map_or("nothing".to_string(), Value::to_string)
            ));
        }
        for (key, value) in [
            ("dropout", &self.dropout),
            ("unk_token", &self.unk_token),
            ("continuing_subword_prefix", &self.continuing_subword_prefix),
            ("end_of_word_suffix", &self.end_of_word_suffix),
        ] {
            match value {
                None | Some(Value::Null) => {}
                Some(other) => {
                    return Err(format!(
                        "unsupported model.{key} = {other} (FAST uses null)"
                    ))
                }
            }
        }
        if self.byte_fallback.as_ref().and_then(Value::as_bool) == Some(true) {
            return Err("unsupported model.byte_fallback = true (FAST uses false)".into());
        }
        let ignore_merges = self
            .ignore_merges
            .as_ref()
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let tokens = match self.vocab {
            Some(vocab) => vocab_tokens(vocab, limits)?,
            None => return Err("model.vocab must be an object mapping token strings to ids".into()),
        };
        let merges = match self.merges {
            Some(Value::Array(m)) => m,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err("model.merges must be a list".into()),
        };
        let (merges, merged_ids) = merge_ids(&merges, &tokens, limits)?;
        Ok(Bpe::new(tokens, merges, merged_ids, ignore_merges))
    }
}

/// The tokens in id order: ids must be `0..len` without gaps or collisions.
fn vocab_tokens(vocab: Vec<(String, Value)>, limits: Limits) -> Result<Vec<String>, Message> {
    if vocab.is_empty() {
        return Err("model.vocab is empty".into());
    }
    if vocab.len() > limits.vocab {
        return Err(format!(
            "model.vocab has {} tokens, more than the limit of {}",
            vocab.len(),
            limits.vocab
        ));
    }
    let len = vocab.len();
    let mut tokens: Vec<Option<String>> = vec![None; len];
    for (token, id) in vocab {
        let id = id.as_u64().ok_or_else(|| {
            format!("model.vocab[{token:?}] must be a non-negative integer, got {id}")
        })?;
        let slot = usize::try_from(id)
            .ok()
            .and_then(|i| tokens.get_mut(i))
            .ok_or_else(|| {
                format!(
                    "model.vocab[{token:?}] = {id} is out of range: for {len} tokens, {}, one \
                     per token",
                    crate::token_id::valid_ids_text(len)
                )
            })?;
        if let Some(previous) = slot {
            return Err(format!(
                "model.vocab: tokens {previous:?} and {token:?} share id {id}"
            ));
        }
        let chars = token.chars().count();
        if chars > limits.token_chars {
            let start: String = token.chars().take(16).collect();
            return Err(format!(
                "model.vocab token {id} ({start:?}...) is {chars} characters long, more than the \
                 limit of {}",
                limits.token_chars
            ));
        }
        *slot = Some(token);
    }
    Ok(tokens
        .into_iter()
        .map(|t| t.expect("ids fill 0..len"))
        .collect())
}

/// The merges as [`Bpe::new`] takes them: each as a pair of token ids, and the ids of the tokens
/// they make.
type MergeIds = (Vec<(u32, u32)>, Vec<u32>);

/// Each merge as a pair of token ids, and the id of the token it makes.
fn merge_ids(merges: &[Value], tokens: &[String], limits: Limits) -> Result<MergeIds, Message> {
    if merges.len() > limits.merges {
        return Err(format!(
            "model.merges has {} entries, more than the limit of {}",
            merges.len(),
            limits.merges
        ));
    }
    let index: HashMap<&str, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i as u32))
        .collect();
    let mut pairs = Vec::with_capacity(merges.len());
    let mut merged_ids = Vec::with_capacity(merges.len());
    let mut merged = String::new();
    for (rank, entry) in merges.iter().enumerate() {
        let (left, right) = merge_pair(rank, entry)?;
        let id_of = |t: &str| {
            index.get(t).copied().ok_or_else(|| {
                format!(
                    "model.merges[{rank}] = ({left:?}, {right:?}): token {t:?} is not in the vocab"
                )
            })
        };
        let (l, r) = (id_of(left)?, id_of(right)?);
        merged.clear();
        merged.push_str(left);
        merged.push_str(right);
        pairs.push((l, r));
        merged_ids.push(id_of(&merged)?);
    }
    Ok((pairs, merged_ids))
}

/// One merge, written `"left right"` (older files) or `["left", "right"]`.
fn merge_pair(rank: usize, entry: &Value) -> Result<(&str, &str), Message> {
    match entry {
        Value::String(s) => {
            let mut parts = s.splitn(2, ' ');
            match (parts.next(), parts.next()) {
                (Some(l), Some(r)) if !r.contains(' ') => Ok((l, r)),
                _ => Err(format!(
                    "model.merges[{rank}] = {s:?} is not \"left right\""
                )),
            }
        }
        Value::Array(pair) if pair.len() == 2 => match (pair[0].as_str(), pair[1].as_str()) {
            (Some(l), Some(r)) => Ok((l, r)),
            _ => Err(format!(
                "model.merges[{rank}] must hold two strings, got {entry}"
            )),
        },
        other => Err(format!(
            "model.merges[{rank}] must be \"a b\" or [\"a\", \"b\"], got {other}"
        )),
    }
}
