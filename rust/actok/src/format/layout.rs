//! Where the files of a FAST directory are, in each layout that writes one:
//!
//! | writer | `tokenizer.json` | also |
//! |---|---|---|
//! | transformers 4.x `save_pretrained` | at the top | `tokenizer_config.json`, `special_tokens_map.json` |
//! | transformers 5.x `save_pretrained` | in [`TOKENIZER_SUBFOLDER`] | `bpe_tokenizer/tokenizer_config.json` |
//! | actok | both places, identical | `tokenizer_config.json` in both, `auto_map` in the config |
//!
//! `processor_config.json` is at the top in all of them. actok writes both places so that the
//! directory loads through `AutoProcessor` in transformers 4.x (which reads the top) and 5.x
//! (which reads the subfolder, and falls back to the top with a deprecation warning).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::format::directory::TOKENIZER_FILE;
use crate::format::processor_config::ProcessorConfig;
use crate::format::read::read_capped;
use crate::format::tokenizer_json::{self, MAX_TOKENIZER_FILE_BYTES};

/// The subfolder transformers 5.x saves the processor's tokenizer in: the name of the official
/// processor's tokenizer attribute.
pub const TOKENIZER_SUBFOLDER: &str = "bpe_tokenizer";

/// The file transformers reads to pick the tokenizer class (4.x needs it at the top).
pub(crate) const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";

/// `tokenizer_config.json` as actok writes it: the class that reads `tokenizer.json` in both
/// transformers 4.x and 5.x (5.x maps the name to its `TokenizersBackend`), and the processor.
pub(crate) const TOKENIZER_CONFIG_JSON: &str = concat!(
    "{\n",
    "  \"processor_class\": \"UniversalActionProcessor\",\n",
    "  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n",
    "}\n"
);

/// The `auto_map` entry `AutoProcessor` resolves the processor class through: the official
/// processor's module and class, expected beside the files (its `.py` is not actok's to ship).
const AUTO_MAP_PROCESSOR: &str = "processing_action_tokenizer.UniversalActionProcessor";

/// The config as actok saves it: with an `auto_map` naming [`AUTO_MAP_PROCESSOR`] unless the
/// config already has one (a config loaded from the hub keeps its own).
pub(crate) fn config_to_save(config: &ProcessorConfig) -> ProcessorConfig {
    let mut config = config.clone();
    config.extra.entry("auto_map").or_insert_with(|| {
        let mut map = serde_json::Map::new();
        map.insert("AutoProcessor".into(), Value::from(AUTO_MAP_PROCESSOR));
        Value::Object(map)
    });
    config
}

/// The text of the directory's `tokenizer.json` and its path: at the top (transformers 4.x,
/// actok) or in [`TOKENIZER_SUBFOLDER`] (transformers 5.x). Where both exist they must hold the
/// same model; two different ones are refused rather than one picked silently.
pub(crate) fn read_tokenizer(dir: &Path) -> Result<(String, PathBuf)> {
    let top = dir.join(TOKENIZER_FILE);
    let sub = dir.join(TOKENIZER_SUBFOLDER).join(TOKENIZER_FILE);
    match (top.is_file(), sub.is_file()) {
        (true, false) => Ok((read_capped(&top, MAX_TOKENIZER_FILE_BYTES)?, top)),
        (false, true) => Ok((read_capped(&sub, MAX_TOKENIZER_FILE_BYTES)?, sub)),
        (true, true) => {
            let top_text = read_capped(&top, MAX_TOKENIZER_FILE_BYTES)?;
            let sub_text = read_capped(&sub, MAX_TOKENIZER_FILE_BYTES)?;
            if top_text != sub_text && !same_model(&top_text, &top, &sub_text, &sub)? {
                return Err(Error::format(
                    &sub,
                    format!(
                        "this directory has two different tokenizers: {} (the transformers 4.x \
                         and actok place) and this one (transformers 5.x's): remove the stale \
                         one, or load a directory holding one tokenizer",
                        top.display()
                    ),
                ));
            }
            Ok((top_text, top))
        }
        // Something that is not a file (a directory, a broken link): its own read error.
        (false, false) if top.exists() => Ok((read_capped(&top, MAX_TOKENIZER_FILE_BYTES)?, top)),
        (false, false) => Err(Error::Io {
            path: top,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no {TOKENIZER_FILE} here nor in {TOKENIZER_SUBFOLDER}/ (where transformers \
                     5.x saves it): is this a FAST processor directory?"
                ),
            ),
        }),
    }
}

/// Whether two `tokenizer.json` texts hold the same model and sections (written differently).
fn same_model(a: &str, a_path: &Path, b: &str, b_path: &Path) -> Result<bool> {
    let (a_bpe, a_sections) = tokenizer_json::parse(a, a_path)?;
    let (b_bpe, b_sections) = tokenizer_json::parse(b, b_path)?;
    Ok(tokenizer_json::write(&a_bpe, &a_sections) == tokenizer_json::write(&b_bpe, &b_sections))
}
