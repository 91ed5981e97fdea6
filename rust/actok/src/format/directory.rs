//! A FAST tokenizer directory (the Hugging Face layout): [`CONFIG_FILE`] and [`TOKENIZER_FILE`],
//! and actok's own [`NORMALIZER_FILE`] when a normalizer is attached.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fast::normalizer::Normalizer;
use crate::fast::tokenizer::FastTokenizer;
use crate::format::layout::{
    self, TOKENIZER_CONFIG_FILE, TOKENIZER_CONFIG_JSON, TOKENIZER_SUBFOLDER,
};
use crate::format::normalizer_file::NORMALIZER_FILE;
use crate::format::processor_config::{ProcessorConfig, MAX_CONFIG_FILE_BYTES};
use crate::format::read::read_capped;
use crate::format::tokenizer_json;

/// File name of the BPE tokenizer inside a FAST directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// File name of the processor settings inside a FAST directory.
pub const CONFIG_FILE: &str = "processor_config.json";

/// Key of [`CONFIG_FILE`] naming the normalizer file a tokenizer was saved with: a directory
/// missing that file is refused rather than loaded as a tokenizer that takes normalized actions.
const NORMALIZER_KEY: &str = "actok_normalizer";

/// Records in `config` whether a normalizer is attached (the key, or its absence).
pub(crate) fn record_normalizer(config: &mut ProcessorConfig, attached: bool) {
    if attached {
        config
            .extra
            .insert(NORMALIZER_KEY.into(), NORMALIZER_FILE.into());
    } else {
        config.extra.remove(NORMALIZER_KEY);
    }
}

impl FastTokenizer {
    /// Loads a FAST directory: `processor_config.json` and `tokenizer.json`, the latter at the
    /// top (transformers 4.x, actok) or in `bpe_tokenizer/` (transformers 5.x); see
    /// [`TOKENIZER_SUBFOLDER`](crate::TOKENIZER_SUBFOLDER).
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            let source = match fs::metadata(dir) {
                Ok(_) => std::io::Error::other("not a directory"),
                Err(e) => e,
            };
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
        let config_path = dir.join(CONFIG_FILE);
        let config_text = read_capped(&config_path, MAX_CONFIG_FILE_BYTES)?;
        let (tokenizer_text, tokenizer_path) = layout::read_tokenizer(dir)?;
        let config = ProcessorConfig::from_json(&config_text, &config_path)?;
        let (bpe, sections) = tokenizer_json::parse(&tokenizer_text, &tokenizer_path)?;
        let normalizer_path = dir.join(NORMALIZER_FILE);
        let normalizer = if normalizer_path.exists() {
            Some(Normalizer::load(&normalizer_path)?)
        } else if config.extra.contains_key(NORMALIZER_KEY) {
            let missing = format!(
                "{CONFIG_FILE} records that this tokenizer was saved with a normalizer \
                 (\"{NORMALIZER_KEY}\"), but the file is missing: copy {NORMALIZER_FILE} from \
                 where the tokenizer was fitted (without it encode would take normalized \
                 actions and decode would return them), or remove the key to use the tokenizer \
                 on normalized actions"
            );
            return Err(Error::Io {
                path: normalizer_path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, missing),
            });
        } else {
            None
        };
        Ok(Self::new(config, bpe, sections).with_normalizer(normalizer))
    }

    /// Builds a tokenizer from the texts of its two files. A config that records a normalizer
    /// (as one saved with a normalizer does) is refused: use
    /// [`FastTokenizer::from_json_with_normalizer`] with the normalizer file's text.
    pub fn from_json(tokenizer_json: &str, processor_config_json: &str) -> Result<Self> {
        Self::from_json_with_normalizer(tokenizer_json, processor_config_json, None)
    }

    /// Builds a tokenizer from the texts of its files, [`NORMALIZER_FILE`]'s included when the
    /// tokenizer has one; a config that records a normalizer needs that text, as
    /// [`FastTokenizer::from_pretrained`] needs the file.
    pub fn from_json_with_normalizer(
        tokenizer_json: &str,
        processor_config_json: &str,
        normalizer_json: Option<&str>,
    ) -> Result<Self> {
        let config = ProcessorConfig::from_json(processor_config_json, Path::new(CONFIG_FILE))?;
        let (bpe, sections) = tokenizer_json::parse(tokenizer_json, Path::new(TOKENIZER_FILE))?;
        let normalizer = match normalizer_json {
            Some(text) => Some(Normalizer::from_json(text, Path::new(NORMALIZER_FILE))?),
            None if config.extra.contains_key(NORMALIZER_KEY) => {
                return Err(Error::format(
                    NORMALIZER_FILE,
                    format!(
                        "{CONFIG_FILE} records that this tokenizer was saved with a normalizer \
                         (\"{NORMALIZER_KEY}\"), but no {NORMALIZER_FILE} text was given: pass \
                         it too (without it encode would take normalized actions and decode \
                         would return them)"
                    ),
                ))
            }
            None => None,
        };
        Ok(Self::new(config, bpe, sections).with_normalizer(normalizer))
    }

    /// Writes `processor_config.json` and `tokenizer.json` into `dir` (created if missing), in the
    /// format the reference processor and the `tokenizers` library read, with what
    /// `AutoProcessor` needs in transformers 4.x and 5.x: an `auto_map` entry (unless the config
    /// has one) naming `processing_action_tokenizer.UniversalActionProcessor`, whose `.py` the
    /// user places beside the files, and `tokenizer_config.json`; the tokenizer files are also
    /// written into `bpe_tokenizer/`, where transformers 5.x reads them.
    pub fn save_pretrained(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|source| Error::Io { path, source })
        };
        // The config records the normalizer (`with_normalizer` keeps that in step), so that a
        // copy without its file is refused on load.
        write(CONFIG_FILE, layout::config_to_save(self.config()).to_json())?;
        let tokenizer_json = self.tokenizer_json();
        write(TOKENIZER_FILE, tokenizer_json.clone())?;
        write(TOKENIZER_CONFIG_FILE, TOKENIZER_CONFIG_JSON.into())?;
        let sub = dir.join(TOKENIZER_SUBFOLDER);
        fs::create_dir_all(&sub).map_err(|source| Error::Io {
            path: sub.clone(),
            source,
        })?;
        write(
            &format!("{TOKENIZER_SUBFOLDER}/{TOKENIZER_FILE}"),
            tokenizer_json,
        )?;
        write(
            &format!("{TOKENIZER_SUBFOLDER}/{TOKENIZER_CONFIG_FILE}"),
            TOKENIZER_CONFIG_JSON.into(),
        )?;
        let normalizer_path = dir.join(NORMALIZER_FILE);
        match self.normalizer() {
            Some(n) => n.save(normalizer_path),
            // A stale file from an earlier save would be loaded with the wrong tokenizer.
            None if normalizer_path.exists() => {
                fs::remove_file(&normalizer_path).map_err(|source| Error::Io {
                    path: normalizer_path,
                    source,
                })
            }
            None => Ok(()),
        }
    }

    /// The `tokenizer.json` text of this tokenizer.
    pub fn tokenizer_json(&self) -> String {
        tokenizer_json::write(self.bpe(), self.sections())
    }
}
