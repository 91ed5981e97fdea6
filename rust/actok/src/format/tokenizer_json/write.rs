//! `tokenizer.json` as written by actok: the layout `tokenizers` writes (pretty JSON, the vocab in
//! id order, merges as `["left", "right"]` pairs, the model last).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::TokenizerSections;
use crate::bpe::Bpe;

/// The sections in the order `tokenizers` writes them; any other key follows, sorted.
const SECTION_ORDER: [&str; 8] = [
    "version",
    "truncation",
    "padding",
    "added_tokens",
    "normalizer",
    "pre_tokenizer",
    "post_processor",
    "decoder",
];

#[derive(Serialize)]
struct TokenizerFileOut<'a> {
    #[serde(flatten)]
    sections: OrderedSections<'a>,
    model: ModelOut<'a>,
}

/// The BPE model with the settings FAST uses (the reader refuses any other).
#[derive(Serialize)]
struct ModelOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The four options below are always `null`.
    dropout: Option<f64>,
    unk_token: Option<&'static str>,
    continuing_subword_prefix: Option<&'static str>,
    end_of_word_suffix: Option<&'static str>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    vocab: VocabOut<'a>,
    merges: MergesOut<'a>,
}

/// The sections a map would write in alphabetical order, in `tokenizers`' order.
struct OrderedSections<'a>(&'a Map<String, Value>);

impl Serialize for OrderedSections<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_by_key(|k| {
            let rank = SECTION_ORDER.iter().position(|o| o == k);
            (rank.unwrap_or(SECTION_ORDER.len()), k.as_str())
        });
        let mut map = s.serialize_map(Some(keys.len()))?;
        for key in keys {
            map.serialize_entry(key, &self.0[key])?;
        }
        map.end()
    }
}

/// `token: id` in id order (a map would sort the tokens).
struct VocabOut<'a>(&'a [String]);

impl Serialize for VocabOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (id, token) in self.0.iter().enumerate() {
            map.serialize_entry(token, &id)?;
        }
        map.end()
    }
}

/// Merges by rank, each as the pair of token strings.
struct MergesOut<'a>(&'a Bpe);

impl Serialize for MergesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let tokens = self.0.tokens();
        s.collect_seq(
            self.0
                .merges()
                .iter()
                .map(|&(l, r)| [&tokens[l as usize], &tokens[r as usize]]),
        )
    }
}

/// The `tokenizer.json` text of a model and its sections.
pub(super) fn write(bpe: &Bpe, sections: &TokenizerSections) -> String {
    let file = TokenizerFileOut {
        sections: OrderedSections(&sections.top),
        model: ModelOut {
            kind: "BPE",
            dropout: None,
            unk_token: None,
            continuing_subword_prefix: None,
            end_of_word_suffix: None,
            fuse_unk: false,
            byte_fallback: false,
            ignore_merges: bpe.ignore_merges(),
            vocab: VocabOut(bpe.tokens()),
            merges: MergesOut(bpe),
        },
    };
    let mut text = serde_json::to_string_pretty(&file).expect("strings and JSON values serialize");
    text.push('\n');
    text
}
