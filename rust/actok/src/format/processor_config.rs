//! `processor_config.json`: the FAST processor's scalar settings.

use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::format::json::{parse_object, present};
use crate::format::read::check_len;

/// The settings of a FAST processor, as stored in `processor_config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessorConfig {
    /// Multiplier applied to DCT coefficients before rounding.
    pub scale: f64,
    /// The vocabulary size the tokenizer was fitted with.
    pub vocab_size: usize,
    /// Quantized value that maps to character U+0000.
    pub min_token: i64,
    /// Default time horizon H for decoding, if fixed.
    pub time_horizon: Option<usize>,
    /// Default action dimension D for decoding, if fixed.
    pub action_dim: Option<usize>,
    /// Every other key of the file, kept so that saving loses nothing.
    pub extra: Map<String, Value>,
}

/// Largest accepted `|min_token|`, 2^52: then `code + min_token` is exact in `i64` and `f64` for
/// every code point, and every coefficient a tokenizer can represent is an exact `f64` integer.
/// Real tokenizers are within a few thousand of zero.
pub(crate) const MAX_ABS_MIN_TOKEN: i64 = 1 << 52;

/// Largest accepted `|coefficient| / scale` over every coefficient a tokenizer can decode
/// (`min_token ..= min_token + 0x10FFFF`): 1e300. The inverse DCT's outputs are at most
/// `√(2H)` times its largest input, so this keeps every decoded action finite for any `H` below
/// 10^16; a larger ratio (a `scale` near 1e-300) would decode to ±inf, silently. Real scales are
/// around 10.
pub(crate) const MAX_DECODED_COEFFICIENT: f64 = 1e300;

/// Largest accepted `processor_config.json`, in bytes: 1 MiB. The real file is about 150 bytes
/// (five scalars and a class name); 1 MiB leaves room for any extra keys a processor might keep,
/// and refuses a wrong or corrupted file before it is parsed.
pub const MAX_CONFIG_FILE_BYTES: usize = 1 << 20;

/// `processor_config.json` as written, before validation. Numeric fields are kept as JSON values
/// so that a wrong type is reported in the file's own words (`"scale" must be a number, got
/// "10"`), and every key the processor does not use is kept in `extra`.
#[derive(Deserialize)]
struct RawProcessorConfig {
    /// `present`: `"scale": null` is a wrong type, not a missing key.
    #[serde(default, deserialize_with = "present")]
    scale: Option<Value>,
    vocab_size: Option<Value>,
    min_token: Option<Value>,
    time_horizon: Option<Value>,
    action_dim: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl TryFrom<RawProcessorConfig> for ProcessorConfig {
    /// What is wrong, naming the field (the caller adds the file).
    type Error = String;

    fn try_from(raw: RawProcessorConfig) -> std::result::Result<Self, String> {
        let scale = match raw.scale {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(other) => return Err(format!("\"scale\" must be a number, got {other}")),
            None => return Err("missing \"scale\"".into()),
        };
        let min_token = integer(raw.min_token, "min_token")?.ok_or("missing \"min_token\"")?;
        let vocab_size = positive(raw.vocab_size, "vocab_size")?.ok_or("missing \"vocab_size\"")?;
        let config = Self {
            scale,
            vocab_size,
            min_token,
            time_horizon: positive(raw.time_horizon, "time_horizon")?,
            action_dim: positive(raw.action_dim, "action_dim")?,
            extra: raw.extra,
        };
        config.check()?;
        Ok(config)
    }
}

/// `processor_config.json` as written: the settings over the extra keys (a setting wins over an
/// extra key of the same name).
#[derive(Serialize)]
struct ProcessorConfigOut<'a> {
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
    #[serde(serialize_with = "integral_as_integer")]
    scale: f64,
    vocab_size: usize,
    min_token: i64,
    time_horizon: Option<usize>,
    action_dim: Option<usize>,
}

/// Integral scales are written as integers, as the reference's own files have them.
fn integral_as_integer<S: Serializer>(scale: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if scale.fract() == 0.0 && scale.abs() < 9.0e15 {
        s.serialize_i64(*scale as i64)
    } else {
        s.serialize_f64(*scale)
    }
}

impl ProcessorConfig {
    /// A config with the given settings and the reference's `processor_class`.
    pub fn new(scale: f64, vocab_size: usize, min_token: i64) -> Result<Self> {
        let mut extra = Map::new();
        extra.insert(
            "processor_class".into(),
            Value::from("UniversalActionProcessor"),
        );
        let config = Self {
            scale,
            vocab_size,
            min_token,
            time_horizon: None,
            action_dim: None,
            extra,
        };
        config
            .check()
            .map_err(|message| Error::format("processor_config.json", message))?;
        Ok(config)
    }

    /// The checks across fields, shared by [`ProcessorConfig::new`] and the reader.
    fn check(&self) -> std::result::Result<(), String> {
        // Decoding divides by the scale: 1 / scale must be finite too (no subnormal scales).
        if !(self.scale.is_finite() && self.scale > 0.0 && (1.0 / self.scale).is_finite()) {
            return Err(format!(
                "\"scale\" must be a finite number > 0 whose inverse is finite, got {}",
                self.scale
            ));
        }
        if self.min_token.unsigned_abs() > MAX_ABS_MIN_TOKEN.unsigned_abs() {
            return Err(format!(
                "\"min_token\" must be between -2^52 and 2^52, got {}",
                self.min_token
            ));
        }
        let max_code = i64::from(char::MAX as u32);
        let widest = self
            .min_token
            .unsigned_abs()
            .max((self.min_token + max_code).unsigned_abs()) as f64;
        if widest / self.scale > MAX_DECODED_COEFFICIENT {
            return Err(format!(
                "\"scale\" {} is too small for \"min_token\" {}: coefficients up to {widest} \
                 would decode to {:e}, more than the limit of 1e300 (actions would overflow \
                 to infinity)",
                self.scale,
                self.min_token,
                widest / self.scale
            ));
        }
        Ok(())
    }

    /// Parses the JSON text of a `processor_config.json`; `path` is used in error messages.
    ///
    /// A text longer than [`MAX_CONFIG_FILE_BYTES`] is refused with an [`Error::Format`] naming
    /// the limit and its length.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        check_len(text, path, MAX_CONFIG_FILE_BYTES)?;
        let value = parse_object(text, path)?;
        // Every field is a JSON value or a map: a JSON object always deserializes.
        let raw = RawProcessorConfig::deserialize(value)
            .map_err(|e| Error::format(path, e.to_string()))?;
        Self::try_from(raw).map_err(|message| Error::format(path, message))
    }

    /// Serializes to pretty JSON with sorted keys (as `transformers` writes it).
    pub fn to_json(&self) -> String {
        let out = ProcessorConfigOut {
            extra: &self.extra,
            scale: self.scale,
            vocab_size: self.vocab_size,
            min_token: self.min_token,
            time_horizon: self.time_horizon,
            action_dim: self.action_dim,
        };
        // Through a `Value`, whose map sorts the keys as `transformers` does (`sort_keys=True`).
        let value = serde_json::to_value(out).expect("a config always serializes");
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON map always serializes");
        text.push('\n');
        text
    }
}

/// An integer field (`null` or absent gives `None`); integral floats such as `-354.0` are accepted.
fn integer(value: Option<Value>, key: &str) -> std::result::Result<Option<i64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(format!("\"{key}\" must be an integer, got {n}")),
            }
        }
        Some(other) => Err(format!("\"{key}\" must be an integer, got {other}")),
    }
}

fn positive(value: Option<Value>, key: &str) -> std::result::Result<Option<usize>, String> {
    match integer(value, key)? {
        None => Ok(None),
        Some(v) if v >= 1 => Ok(Some(v as usize)),
        Some(v) => Err(format!("\"{key}\" must be ≥ 1, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_released_layout_and_keeps_extra_keys() {
        let text = r#"{"action_dim": null, "min_token": -354, "processor_class": "UniversalActionProcessor",
            "scale": 10, "time_horizon": null, "vocab_size": 2048, "auto_map": {"AutoProcessor": "x.Y"}}"#;
        let c = ProcessorConfig::from_json(text, Path::new("p.json")).unwrap();
        assert_eq!((c.scale, c.vocab_size, c.min_token), (10.0, 2048, -354));
        assert_eq!((c.time_horizon, c.action_dim), (None, None));
        let again = ProcessorConfig::from_json(&c.to_json(), Path::new("p.json")).unwrap();
        assert_eq!(again, c);
        assert!(c.to_json().contains("\"scale\": 10,"));
    }

    #[test]
    fn smallest_scale_keeps_decoded_actions_finite() {
        // 0x10FFFF - 354 = 1113757 is the widest coefficient; 1113757 / 1.113757e-294 = 1e300.
        let ok = r#"{"scale": 1.113757e-294, "vocab_size": 10, "min_token": -354}"#;
        assert!(ProcessorConfig::from_json(ok, Path::new("p.json")).is_ok());
        let bad = r#"{"scale": 1.1e-294, "vocab_size": 10, "min_token": -354}"#;
        let e = ProcessorConfig::from_json(bad, Path::new("p.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("too small for \"min_token\" -354"), "{e}");
        assert!(e.contains("coefficients up to 1113757"), "{e}");
    }

    #[test]
    fn refuses_a_file_past_the_size_cap() {
        let text = r#"{"scale": 10, "vocab_size": 10, "min_token": 0}"#;
        let at = text.to_string() + &" ".repeat(MAX_CONFIG_FILE_BYTES - text.len());
        assert!(ProcessorConfig::from_json(&at, Path::new("p.json")).is_ok());
        let past = format!("{at} ");
        match ProcessorConfig::from_json(&past, Path::new("p.json")) {
            Err(Error::Format { message, .. }) => assert_eq!(
                message,
                "the file is 1048577 bytes, more than the limit of 1048576 bytes"
            ),
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_scales_and_types() {
        for bad in [
            r#"{"scale": 0, "vocab_size": 10, "min_token": 0}"#,
            r#"{"scale": -1, "vocab_size": 10, "min_token": 0}"#,
            r#"{"scale": "10", "vocab_size": 10, "min_token": 0}"#,
            r#"{"vocab_size": 10, "min_token": 0}"#,
            r#"{"scale": 10, "vocab_size": 10, "min_token": 0.5}"#,
            r#"{"scale": 10, "vocab_size": 10, "min_token": 0, "time_horizon": 0}"#,
            r#"[1]"#,
            r#"{"scale": 10,"#,
            r#"{"scale": 5e-324, "vocab_size": 10, "min_token": 0}"#,
            r#"{"scale": 10, "vocab_size": 10, "min_token": 9223372036854775807}"#,
            r#"{"scale": 10, "vocab_size": 10, "min_token": -9223372036854775808}"#,
            r#"{"scale": 10, "vocab_size": 10, "min_token": 4503599627370497}"#,
            // Found while fuzzing: these decoded id 5 of the bundled vocabulary to -inf (or
            // -3.5e302), marked valid.
            r#"{"scale": 1e-300, "vocab_size": 10, "min_token": -4503599627370496}"#,
            r#"{"scale": 1e-300, "vocab_size": 10, "min_token": -354}"#,
        ] {
            assert!(
                ProcessorConfig::from_json(bad, Path::new("p.json")).is_err(),
                "{bad}"
            );
        }
    }
}
