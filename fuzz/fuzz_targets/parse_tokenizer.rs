//! Parses arbitrary bytes as `tokenizer.json` (+ `processor_config.json`) and checks:
//!
//! * a failure is an [`Error::Format`] naming the file that was wrong (never a panic, never
//!   another variant);
//! * a parsed config re-serializes and re-parses to an equal config, and its JSON is a fixed
//!   point of save → load;
//! * a parsed tokenizer re-serializes and re-parses to an equal model (tokens, merges,
//!   `ignore_merges`) and the same `tokenizer.json` text;
//! * the parsed tokenizer works: a small chunk encodes with `clip` (or fails with an
//!   [`Error::Encode`]), and the ids decode back and re-encode to the same ids.
//!
//! Input layout: the bytes up to the first NUL are `tokenizer.json`; the bytes after it, if any,
//! are `processor_config.json` (otherwise the bundled config is used). Invalid UTF-8 is replaced
//! lossily, as the loader's UTF-8 check is not what is being fuzzed here.
#![no_main]

use std::path::Path;

use actok::{EncodeOptions, Error, FastTokenizer, OnDecodeError, Overflow, ProcessorConfig};
use actok_fuzz::UNIVERSAL_CONFIG_JSON;
use libfuzzer_sys::fuzz_target;

fn assert_format_error(e: &Error, file: &str) {
    match e {
        Error::Format { path, .. } => assert_eq!(path, Path::new(file), "{e}"),
        other => panic!("expected a format error in {file}, got {other:?}"),
    }
}

fn check_config(text: &str) -> bool {
    match ProcessorConfig::from_json(text, Path::new("processor_config.json")) {
        Ok(config) => {
            let json = config.to_json();
            let again = ProcessorConfig::from_json(&json, Path::new("processor_config.json"))
                .unwrap_or_else(|e| panic!("a saved config does not load: {e}\n{json}"));
            assert_eq!(again, config, "config changed through save/load");
            assert_eq!(again.to_json(), json, "config JSON is not a fixed point");
            true
        }
        Err(e) => {
            assert_format_error(&e, "processor_config.json");
            false
        }
    }
}

fn check_works(tok: &FastTokenizer) {
    let chunk = [0.0, 0.1, -0.3, 0.25, 1.0, -1.0, 0.0, 0.05];
    // A fuzzed config may record any shape; (4, 2) is the probe, asked for on purpose.
    let any_shape = |overflow| EncodeOptions {
        overflow,
        check_shape: false,
    };
    match tok.encode(&chunk, [1, 4, 2], any_shape(Overflow::Clip)) {
        Ok(ids) => {
            let decoded = tok
                .decode(&ids, 4, 2, OnDecodeError::Raise)
                .unwrap_or_else(|e| panic!("ids from encode do not decode: {e}"));
            assert!(
                decoded.actions.iter().all(|v| v.is_finite()),
                "decoded actions are not finite: {:?}",
                decoded.actions
            );
            // Re-encoding recovers the coefficients only while the transforms' rounding error
            // (a few ulps of the largest |coefficient|) stays below 0.5: true for every real
            // tokenizer (|min_token| in the hundreds), not near the accepted |min_token| ≤ 2^52.
            if tok.config().min_token.unsigned_abs() > 1 << 40 {
                return;
            }
            let again = tok
                .encode(&decoded.actions, [1, 4, 2], any_shape(Overflow::Raise))
                .unwrap_or_else(|e| panic!("a decoded chunk does not re-encode: {e}"));
            assert_eq!(again, ids, "decode then encode changed the ids");
        }
        Err(e) => assert!(matches!(e, Error::Encode { chunk: 0, .. }), "{e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (tok_bytes, config_bytes) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    };
    let tok_text = String::from_utf8_lossy(tok_bytes);
    let config_text = config_bytes.map(String::from_utf8_lossy);
    let config_ok = config_text.as_deref().is_some_and(check_config);
    let config = if config_ok {
        config_text.as_deref().unwrap()
    } else {
        &UNIVERSAL_CONFIG_JSON
    };
    match FastTokenizer::from_json(&tok_text, config) {
        Ok(tok) => {
            let json = tok.tokenizer_json();
            let again = FastTokenizer::from_json(&json, config)
                .unwrap_or_else(|e| panic!("a saved tokenizer does not load: {e}"));
            assert_eq!(again.bpe().tokens(), tok.bpe().tokens());
            assert_eq!(again.bpe().merges(), tok.bpe().merges());
            assert_eq!(again.bpe().ignore_merges(), tok.bpe().ignore_merges());
            assert_eq!(
                again.tokenizer_json(),
                json,
                "tokenizer.json is not a fixed point"
            );
            check_works(&tok);
        }
        Err(e) => assert_format_error(&e, "tokenizer.json"),
    }
});
