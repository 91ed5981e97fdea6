//! What the JSON readers share: parsing a file's text to an object, and field helpers for the
//! raw `serde` structs the files are deserialized into.

use std::path::Path;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses `text` to a JSON object, naming `path` in errors.
///
/// The text is parsed to a [`Value`] first and the raw structs are deserialized from it, not
/// from the text: a key given twice then keeps its last value, as `tokenizers` and Python's
/// `json` read it (a derived struct would refuse the duplicate), and syntax errors (with their
/// line and column, or serde_json's recursion limit) are reported before any field is looked at.
pub(crate) fn parse_object(text: &str, path: &Path) -> Result<Value> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::format(path, format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::format(
            path,
            "expected a JSON object at the top level",
        ));
    }
    Ok(value)
}

/// A field whose explicit `null` must be told apart from its absence (with `#[serde(default)]`):
/// `Some(Value::Null)` for `null`, `None` when the key is missing.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
