//! Reading one file of a tokenizer directory under a size cap.

use std::fs;
use std::io::Read;
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

/// Reads `path` as UTF-8 text of at most `limit` bytes.
///
/// The size is checked from the file's metadata before reading, so a huge file is refused
/// without being loaded into memory; `take` also stops one that grows while it is read.
pub(crate) fn read_capped(path: &Path, limit: usize) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut bytes = Vec::new();
    if len <= limit as u64 {
        file.take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if len > limit as u64 || bytes.len() > limit {
        return Err(too_large(path, len.max(bytes.len() as u64), limit));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}
