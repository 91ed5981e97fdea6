//! [`NORMALIZER_FILE`]: a fitted [`Normalizer`] saved beside a tokenizer's Hugging Face files.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fast::normalizer::{Normalizer, Statistics};
use crate::format::read::{check_len, read_capped};
use crate::options::{NormalizerKind, OutOfRange};

/// File name of a normalizer inside a tokenizer directory (beside the Hugging Face files, which
/// stay unchanged so the reference processor can still load the directory).
pub const NORMALIZER_FILE: &str = "actok_normalizer.json";

/// Largest accepted [`NORMALIZER_FILE`], in bytes: 4 MiB. The file holds two numbers per action
/// dimension, about 30 bytes each as written, so a real one (D up to a few dozen) is a few KB and
/// 4 MiB still fits more than 60,000 dimensions; it refuses a wrong or corrupted file before it is
/// parsed, like the caps on the files beside it.
pub const MAX_NORMALIZER_FILE_BYTES: usize = 4 << 20;

/// Format version written to [`NORMALIZER_FILE`]. Version 2 added `out_of_range` (required) and
/// the data's `min`/`max`; version 1 files are still read, with the policy they behaved by
/// (`"clip"` for quantile and minmax, `"keep"` otherwise) and no `min`/`max`.
const FORMAT_VERSION: u32 = 2;

/// The on-disk form of [`NORMALIZER_FILE`], read and written. Unknown keys are refused: the file
/// is actok's own, so one is a typo or a newer format.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalizerFile {
    actok_normalizer: u32,
    #[serde(with = "crate::format::choice")]
    kind: NormalizerKind,
    dim: usize,
    /// Required from version 2 on (checked in `try_from`, which names the version).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::format::choice::optional"
    )]
    out_of_range: Option<OutOfRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    high: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mean: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    std: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<Vec<f64>>,
}

impl From<&Normalizer> for NormalizerFile {
    fn from(norm: &Normalizer) -> Self {
        let mut file = Self {
            actok_normalizer: FORMAT_VERSION,
            kind: norm.kind(),
            dim: norm.dim(),
            low: None,
            high: None,
            mean: None,
            std: None,
            min: None,
            max: None,
            out_of_range: Some(norm.out_of_range()),
        };
        let owned = |(p, q): (&[f64], &[f64])| (Some(p.to_vec()), Some(q.to_vec()));
        if let Some(range) = norm.range() {
            (file.low, file.high) = owned(range);
        } else if let Some(mean_std) = norm.mean_std() {
            (file.mean, file.std) = owned(mean_std);
        }
        if let Some(seen) = norm.seen() {
            (file.min, file.max) = owned(seen);
        }
        file
    }
}

impl TryFrom<NormalizerFile> for Normalizer {
    /// What is wrong, naming the parameter (the caller adds the file).
    type Error = String;

    fn try_from(file: NormalizerFile) -> std::result::Result<Self, String> {
        let out_of_range = match (file.actok_normalizer, file.out_of_range) {
            (FORMAT_VERSION, Some(policy)) => policy,
            (FORMAT_VERSION, None) => {
                return Err("out_of_range is missing (\"keep\", \"clip\" or \"raise\")".into())
            }
            (1, None) if file.min.is_none() && file.max.is_none() => match file.kind {
                NormalizerKind::Quantile | NormalizerKind::MinMax => OutOfRange::Clip,
                _ => OutOfRange::Keep,
            },
            (1, _) => return Err("a version 1 file has no out_of_range, min or max".into()),
            (version, _) => {
                return Err(format!(
                    "normalizer format version {version} is not supported (this actok reads 1 \
                     and {FORMAT_VERSION})"
                ))
            }
        };
        let stats = Statistics {
            low: file.low,
            high: file.high,
            mean: file.mean,
            std: file.std,
            min: file.min,
            max: file.max,
        };
        Self::from_statistics(file.kind, stats, Some(file.dim))
            .and_then(|n| n.with_out_of_range(out_of_range))
            .map_err(|e| match e {
                Error::InvalidArgument(message) => message,
                other => other.to_string(),
            })
    }
}

impl Normalizer {
    /// The JSON text of [`NORMALIZER_FILE`].
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&NormalizerFile::from(self))
            .expect("plain data serializes");
        text.push('\n');
        text
    }

    /// Parses the text of [`NORMALIZER_FILE`]; `path` only names the file in errors.
    ///
    /// A text longer than [`MAX_NORMALIZER_FILE_BYTES`] is refused with an [`Error::Format`]
    /// naming the limit and its length.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        check_len(text, path, MAX_NORMALIZER_FILE_BYTES)?;
        // Parsed straight to the struct: unlike the Hugging Face files, a key given twice in
        // actok's own file is refused, as it always was.
        let file: NormalizerFile = serde_json::from_str(text)
            .map_err(|e| Error::format(path, format!("not a normalizer file: {e}")))?;
        Self::try_from(file).map_err(|message| Error::format(path, message))
    }

    /// Writes [`Normalizer::to_json`] to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        fs::write(path, self.to_json()).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a file written by [`Normalizer::save`]. A file over [`MAX_NORMALIZER_FILE_BYTES`]
    /// is refused from its size, before it is read.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_capped(path, MAX_NORMALIZER_FILE_BYTES)?;
        Self::from_json(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_validation() {
        let data: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin()).collect();
        for kind in [
            NormalizerKind::Quantile,
            NormalizerKind::MeanStd,
            NormalizerKind::MinMax,
            NormalizerKind::Identity,
        ] {
            let norm = Normalizer::fit(kind, &[&data[..]], 4).unwrap();
            let back = Normalizer::from_json(&norm.to_json(), Path::new("x")).unwrap();
            assert_eq!(back, norm);
        }
        let bad =
            r#"{"actok_normalizer": 1, "kind": "minmax", "dim": 1, "low": [2.0], "high": [1.0]}"#;
        assert!(matches!(
            Normalizer::from_json(bad, Path::new("x")),
            Err(Error::Format { .. })
        ));
        let bad =
            r#"{"actok_normalizer": 1, "kind": "minmax", "dim": 1, "mean": [2.0], "std": [1.0]}"#;
        assert!(Normalizer::from_json(bad, Path::new("x")).is_err());
    }

    /// Version 1 files (before the policy existed) read with the policy they behaved by; version
    /// 2 files carry the policy and the data's range, and must name the policy.
    #[test]
    fn reads_version_1_and_round_trips_the_policy_and_range() {
        let v1 =
            r#"{"actok_normalizer": 1, "kind": "quantile", "dim": 1, "low": [0.0], "high": [2.0]}"#;
        let old = Normalizer::from_json(v1, Path::new("x")).unwrap();
        assert_eq!(old.out_of_range(), OutOfRange::Clip);
        assert_eq!(old.seen(), None);
        let v1 =
            r#"{"actok_normalizer": 1, "kind": "meanstd", "dim": 1, "mean": [0.0], "std": [2.0]}"#;
        let old = Normalizer::from_json(v1, Path::new("x")).unwrap();
        assert_eq!(old.out_of_range(), OutOfRange::Keep);
        let data: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin()).collect();
        let norm = Normalizer::fit(NormalizerKind::MinMax, &[&data[..]], 2)
            .unwrap()
            .with_out_of_range(OutOfRange::Raise)
            .unwrap();
        let text = norm.to_json();
        assert!(text.contains("\"out_of_range\": \"raise\"") && text.contains("\"min\""));
        let back = Normalizer::from_json(&text, Path::new("x")).unwrap();
        assert_eq!(back, norm);
        let unnamed = text.replace("  \"out_of_range\": \"raise\",\n", "");
        assert_ne!(unnamed, text);
        let err = Normalizer::from_json(&unnamed, Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("out_of_range is missing"), "{err}");
        let v3 = text.replace("\"actok_normalizer\": 2", "\"actok_normalizer\": 3");
        let err = Normalizer::from_json(&v3, Path::new("x")).unwrap_err();
        assert!(
            err.to_string().contains("version 3 is not supported"),
            "{err}"
        );
    }

    /// Accepted at the cap, refused one byte past it, from `from_json` and from a file's size.
    #[test]
    fn refuses_a_file_past_the_size_cap() {
        let text = Normalizer::identity(2).to_json();
        let at = text.clone() + &" ".repeat(MAX_NORMALIZER_FILE_BYTES - text.len());
        assert_eq!(
            Normalizer::from_json(&at, Path::new("n.json")).unwrap(),
            Normalizer::identity(2)
        );
        let expected = "the file is 4194305 bytes, more than the limit of 4194304 bytes";
        match Normalizer::from_json(&format!("{at} "), Path::new("n.json")) {
            Err(Error::Format { message, .. }) => assert_eq!(message, expected),
            other => panic!("expected a format error, got {other:?}"),
        }
        let dir = std::env::temp_dir().join(format!("actok-normalizer-cap-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(NORMALIZER_FILE);
        fs::write(&path, &at).unwrap();
        assert_eq!(Normalizer::load(&path).unwrap(), Normalizer::identity(2));
        // A sparse file one byte past the cap: refused from its size, without being read.
        fs::File::create(&path)
            .unwrap()
            .set_len(MAX_NORMALIZER_FILE_BYTES as u64 + 1)
            .unwrap();
        match Normalizer::load(&path) {
            Err(Error::Format { path: p, message }) => {
                assert_eq!((p, message.as_str()), (path.clone(), expected));
            }
            other => panic!("expected a format error, got {other:?}"),
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
