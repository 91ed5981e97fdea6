//! The directory layouts a FAST tokenizer is found in (transformers 4.x, 5.x, actok's own) load
//! to the same tokenizer, and actok's save writes both places. The fixtures were written by each
//! transformers release's own `save_pretrained` (scripts/make_hf_layout_fixtures.py).

use std::fs;
use std::path::{Path, PathBuf};

use actok::{FastTokenizer, Overflow, TOKENIZER_SUBFOLDER};

fn fixture(major: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/hf_layouts");
    let name = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with(&format!("transformers-{major}.")))
        .unwrap();
    root.join(name).join("saved")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actok-layouts-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Some smooth (10, 3) chunks, flattened.
fn chunks() -> Vec<f64> {
    (0..4 * 30)
        .map(|i| ((i as f64) * 0.37).sin() * 0.6)
        .collect()
}

fn ids(tok: &FastTokenizer) -> Vec<Vec<u32>> {
    tok.encode(&chunks(), [4, 10, 3], Overflow::Raise).unwrap()
}

#[test]
fn transformers_4_and_5_layouts_load_to_the_same_tokenizer() {
    let four = FastTokenizer::from_pretrained(fixture("4")).unwrap();
    let five = FastTokenizer::from_pretrained(fixture("5")).unwrap();
    assert!(!fixture("5").join("tokenizer.json").exists());
    assert_eq!(ids(&four), ids(&five));
    assert_eq!(four.tokenizer_json(), five.tokenizer_json());
}

#[test]
fn save_writes_both_places_and_each_alone_loads() {
    let tok = FastTokenizer::from_pretrained(fixture("4")).unwrap();
    let dir = scratch("both");
    tok.save_pretrained(&dir).unwrap();
    let sub = dir.join(TOKENIZER_SUBFOLDER).join("tokenizer.json");
    assert_eq!(
        fs::read(dir.join("tokenizer.json")).unwrap(),
        fs::read(&sub).unwrap()
    );
    let config = fs::read_to_string(dir.join("processor_config.json")).unwrap();
    assert!(config.contains("processing_action_tokenizer.UniversalActionProcessor"));
    fs::remove_file(&sub).unwrap();
    assert_eq!(
        ids(&FastTokenizer::from_pretrained(&dir).unwrap()),
        ids(&tok)
    );
    tok.save_pretrained(&dir).unwrap();
    fs::remove_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(
        ids(&FastTokenizer::from_pretrained(&dir).unwrap()),
        ids(&tok)
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_different_tokenizers_or_none_are_refused() {
    let tok = FastTokenizer::from_pretrained(fixture("4")).unwrap();
    let dir = scratch("two");
    tok.save_pretrained(&dir).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../python/actok/data/robosuite_fast/tokenizer.json");
    let sub = dir.join(TOKENIZER_SUBFOLDER).join("tokenizer.json");
    fs::copy(bundled, &sub).unwrap();
    let err = FastTokenizer::from_pretrained(&dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains("two different tokenizers"), "{err}");
    fs::remove_file(&sub).unwrap();
    fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let err = FastTokenizer::from_pretrained(&dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nor in bpe_tokenizer/"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
