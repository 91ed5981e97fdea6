//! `processor_config.json`: the FAST processor's scalar settings.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

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

const KNOWN_KEYS: [&str; 5] = [
    "scale",
    "vocab_size",
    "min_token",
    "time_horizon",
    "action_dim",
];

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
        config.validate(Path::new("processor_config.json"))?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        // Decoding divides by the scale: 1 / scale must be finite too (no subnormal scales).
        if !(self.scale.is_finite() && self.scale > 0.0 && (1.0 / self.scale).is_finite()) {
            return Err(Error::format(
                path,
                format!(
                    "\"scale\" must be a finite number > 0 whose inverse is finite, got {}",
                    self.scale
                ),
            ));
        }
        if self.min_token.unsigned_abs() > MAX_ABS_MIN_TOKEN.unsigned_abs() {
            return Err(Error::format(
                path,
                format!(
                    "\"min_token\" must be between -2^52 and 2^52, got {}",
                    self.min_token
                ),
            ));
        }
        let max_code = i64::from(char::MAX as u32);
        let widest = self
            .min_token
            .unsigned_abs()
            .max((self.min_token + max_code).unsigned_abs()) as f64;
        if widest / self.scale > MAX_DECODED_COEFFICIENT {
            return Err(Error::format(
                path,
                format!(
                    "\"scale\" {} is too small for \"min_token\" {}: coefficients up to {widest} \
                     would decode to {:e}, more than the limit of 1e300 (actions would overflow \
                     to infinity)",
                    self.scale,
                    self.min_token,
                    widest / self.scale
                ),
            ));
        }
        Ok(())
    }

    /// Parses the JSON text of a `processor_config.json`; `path` is used in error messages.
    ///
    /// A text longer than [`MAX_CONFIG_FILE_BYTES`] is refused with an [`Error::Format`] naming
    /// the limit and its length.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        if text.len() > MAX_CONFIG_FILE_BYTES {
            return Err(Error::format(
                path,
                format!(
                    "the file is {} bytes, more than the limit of {MAX_CONFIG_FILE_BYTES} bytes",
                    text.len()
                ),
            ));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::format(path, format!("not valid JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(Error::format(
                path,
                "expected a JSON object at the top level",
            ));
        };
        let scale = match map.get("scale") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(other) => {
                return Err(Error::format(
                    path,
                    format!("\"scale\" must be a number, got {other}"),
                ))
            }
            None => return Err(Error::format(path, "missing \"scale\"")),
        };
        let min_token = integer(&map, "min_token", path)?
            .ok_or_else(|| Error::format(path, "missing \"min_token\""))?;
        let vocab_size = positive(&map, "vocab_size", path)?
            .ok_or_else(|| Error::format(path, "missing \"vocab_size\""))?;
        let time_horizon = positive(&map, "time_horizon", path)?;
        let action_dim = positive(&map, "action_dim", path)?;
        for key in KNOWN_KEYS {
            map.remove(key);
        }
        let config = Self {
            scale,
            vocab_size,
            min_token,
            time_horizon,
            action_dim,
            extra: map,
        };
        config.validate(path)?;
        Ok(config)
    }

    /// Serializes to pretty JSON with sorted keys (as `transformers` writes it).
    pub fn to_json(&self) -> String {
        let mut map = self.extra.clone();
        // Integral scales are written as integers, as the reference's own files have them.
        let scale = if self.scale.fract() == 0.0 && self.scale.abs() < 9.0e15 {
            Value::from(self.scale as i64)
        } else {
            Value::from(self.scale)
        };
        map.insert("scale".into(), scale);
        map.insert("vocab_size".into(), Value::from(self.vocab_size));
        map.insert("min_token".into(), Value::from(self.min_token));
        map.insert(
            "time_horizon".into(),
            self.time_horizon.map_or(Value::Null, Value::from),
        );
        map.insert(
            "action_dim".into(),
            self.action_dim.map_or(Value::Null, Value::from),
        );
        let mut text = serde_json::to_string_pretty(&Value::Object(map))
            .expect("a JSON map always serializes");
        text.push('\n');
        text
    }
}

/// An integer field (`null` or absent gives `None`); integral floats such as `-354.0` are accepted.
fn integer(map: &Map<String, Value>, key: &str, path: &Path) -> Result<Option<i64>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(Error::format(
                    path,
                    format!("\"{key}\" must be an integer, got {n}"),
                )),
            }
        }
        Some(other) => Err(Error::format(
            path,
            format!("\"{key}\" must be an integer, got {other}"),
        )),
    }
}

fn positive(map: &Map<String, Value>, key: &str, path: &Path) -> Result<Option<usize>> {
    match integer(map, key, path)? {
        None => Ok(None),
        Some(v) if v >= 1 => Ok(Some(v as usize)),
        Some(v) => Err(Error::format(
            path,
            format!("\"{key}\" must be ≥ 1, got {v}"),
        )),
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
