//! The size caps on the files of a tokenizer directory.

use std::path::Path;

use crate::error::{Error, Result};

/// The error for a file (or text) of `size` bytes over a cap of `limit` bytes; every cap uses it,
/// so each names the limit and the value the same way.
pub(crate) fn too_large(path: &Path, size: u64, limit: usize) -> Error {
    Error::format(
        path,
        format!("the file is {size} bytes, more than the limit of {limit} bytes"),
    )
}

/// Fails with [`too_large`] when a text already in memory is over `limit` bytes: callers check
/// this before parsing, as the parsed JSON takes several times the text's memory.
pub(crate) fn check_len(text: &str, path: &Path, limit: usize) -> Result<()> {
    if text.len() > limit {
        return Err(too_large(path, text.len() as u64, limit));
    }
    Ok(())
}
