//! The files a FAST tokenizer directory holds: reading them (validated, with a size cap on each) and
//! writing them back in the layout the reference processor loads.
//!
//! Each file is deserialized into a raw `serde` struct, checked by converting it (`TryFrom`) into
//! the validated type, and written from a `Serialize` struct. [`directory`] reads and writes a
//! whole directory; [`layout`] knows where each writer (transformers 4.x, 5.x, actok) puts the
//! files.

mod choice;
pub(crate) mod directory;
mod json;
pub(crate) mod layout;
pub(crate) mod normalizer_file;
pub(crate) mod processor_config;
mod read;
pub(crate) mod tokenizer_json;
