//! The files a FAST tokenizer directory holds: reading them (validated, with a size cap on each) and
//! writing them back in the layout the reference processor loads.

pub(crate) mod processor_config;
pub(crate) mod tokenizer_json;
