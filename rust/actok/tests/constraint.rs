//! The constraint automaton against a brute-force oracle and against `decode` itself, on
//! tokenizers fitted here to random corpora (lossless and reference alphabets, zero one byte
//! or two), on the bundled tokenizer (fitted to real robosuite data), and on hand-made
//! vocabularies of arbitrary byte strings. The Python side (`tests/test_constraint.py`) adds the
//! shared real data and sampling under random logits.
//!
//! The oracle knows nothing of the automaton's eight states or its dynamic program: it follows
//! the raw bytes still pending (at most three) and the character count, judges each step with
//! `std::str::from_utf8`, and searches every token sequence (memoized) for a completion. Every
//! completion it claims is then decoded with `FastTokenizer::decode`.

use std::collections::HashMap;

use actok::dct::{transform_axis, DctSpec};
use actok::{
    Constraint, ConstraintBatch, Error, FastTokenizer, FitAlphabet, FitOptions, OnDecodeError,
    Placement, Refusal, VocabMapping,
};
use proptest::prelude::*;

const TOKENIZER: &str = include_str!("../../../python/actok/data/robosuite_fast/tokenizer.json");
const CONFIG: &str =
    include_str!("../../../python/actok/data/robosuite_fast/processor_config.json");

/// SplitMix64: deterministic randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `(n, h, d)` smooth chunks in `[-1, 1]` (random walks with a random offset).
fn corpus(rng: &mut Rng, n: usize, h: usize, d: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n * h * d);
    for _ in 0..n {
        let mut x: Vec<f64> = (0..d).map(|_| rng.unit() * 2.0 - 1.0).collect();
        for _ in 0..h {
            for v in x.iter_mut() {
                *v = (*v + (rng.unit() - 0.5) * 0.3).clamp(-1.0, 1.0);
            }
            out.extend(&x);
        }
    }
    out
}

fn fitted(seed: u64, scale: f64, vocab_size: usize, alphabet: FitAlphabet) -> FastTokenizer {
    let mut rng = Rng(seed);
    let (n, h, d) = (60, 8, 3);
    let data = corpus(&mut rng, n, h, d);
    // The reference placement and min_frequency: these tests were built around those
    // tokenizers (ranges from U+0000, two-byte characters at scale 100); other placements are
    // covered by tests/test_placement.py.
    let options = FitOptions {
        scale,
        vocab_size,
        alphabet,
        placement: Placement::Reference,
        min_frequency: Some(2),
        ..FitOptions::default()
    };
    FastTokenizer::fit(&data, [n, h, d], &options, None).unwrap()
}

fn bundled() -> FastTokenizer {
    FastTokenizer::from_json(TOKENIZER, CONFIG).unwrap()
}

/// The byte-level symbol of each byte (GPT-2 map), to write vocabularies by hand.
fn byte_symbol(b: u8) -> char {
    if matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF) {
        return b as char;
    }
    let shifted = (0..b)
        .filter(|&x| !matches!(x, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF))
        .count() as u32;
    char::from_u32(0x100 + shifted).unwrap()
}

/// A tokenizer whose tokens are exactly `tokens` (byte strings), no merges.
fn from_byte_tokens(tokens: &[Vec<u8>]) -> FastTokenizer {
    let mut names: Vec<String> = Vec::new();
    for t in tokens {
        let name: String = t.iter().map(|&b| byte_symbol(b)).collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    let vocab: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}: {i}", serde_json::to_string(t).unwrap()))
        .collect();
    let json = format!(
        r#"{{"version": "1.0", "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}},
        "post_processor": null, "decoder": {{"type": "ByteLevel"}},
        "model": {{"type": "BPE", "dropout": null, "unk_token": null, "vocab": {{{}}}, "merges": []}}}}"#,
        vocab.join(", ")
    );
    let config = format!(
        r#"{{"scale": 10, "vocab_size": {}, "min_token": -354}}"#,
        names.len()
    );
    FastTokenizer::from_json(&json, &config).unwrap()
}

/// Brute force over raw pending bytes and character counts (module docs).
struct Oracle<'a> {
    tok: &'a FastTokenizer,
    n: usize,
    memo: HashMap<(Vec<u8>, usize), bool>,
}

impl<'a> Oracle<'a> {
    fn new(tok: &'a FastTokenizer, n: usize) -> Self {
        Self {
            tok,
            n,
            memo: HashMap::new(),
        }
    }

    fn bytes(&self, id: usize) -> &'a [u8] {
        self.tok.bpe().token_bytes(id as u32).unwrap()
    }

    /// The pending bytes and count after token `id`, if its bytes can still be valid UTF-8 and
    /// the count does not pass `n`.
    fn step(&self, pending: &[u8], count: usize, id: usize) -> Option<(Vec<u8>, usize)> {
        let mut s = pending.to_vec();
        s.extend_from_slice(self.bytes(id));
        let (valid, tail) = match std::str::from_utf8(&s) {
            Ok(_) => (s.len(), Vec::new()),
            Err(e) if e.error_len().is_none() => (e.valid_up_to(), s[e.valid_up_to()..].to_vec()),
            Err(_) => return None,
        };
        let count = count + std::str::from_utf8(&s[..valid]).unwrap().chars().count();
        (count <= self.n).then_some((tail, count))
    }

    fn completable(&mut self, pending: &[u8], count: usize) -> bool {
        if pending.is_empty() && count == self.n {
            return true;
        }
        if let Some(&known) = self.memo.get(&(pending.to_vec(), count)) {
            return known;
        }
        let mut found = false;
        for id in 0..self.tok.bpe().vocab_len() {
            // A token of no bytes changes nothing.
            if self.bytes(id).is_empty() {
                continue;
            }
            if let Some((p, c)) = self.step(pending, count, id) {
                if self.completable(&p, c) {
                    found = true;
                    break;
                }
            }
        }
        self.memo.insert((pending.to_vec(), count), found);
        found
    }

    /// The ids after which a completion exists.
    fn mask(&mut self, pending: &[u8], count: usize) -> Vec<bool> {
        (0..self.tok.bpe().vocab_len())
            .map(|id| match self.step(pending, count, id) {
                Some((p, c)) => self.completable(&p, c),
                None => false,
            })
            .collect()
    }

    /// Some completion from a completable state.
    fn witness(&mut self, pending: &[u8], count: usize) -> Vec<i64> {
        let (mut p, mut c) = (pending.to_vec(), count);
        let mut ids = Vec::new();
        while !(p.is_empty() && c == self.n) {
            let tok = self.tok;
            let next = (0..tok.bpe().vocab_len())
                .filter(|&id| !tok.bpe().token_bytes(id as u32).unwrap().is_empty())
                .find_map(|id| {
                    let (q, k) = self.step(&p, c, id)?;
                    self.completable(&q, k).then_some((id, q, k))
                })
                .expect("a completable state has a completable next step");
            ids.push(next.0 as i64);
            (p, c) = (next.1, next.2);
        }
        ids
    }
}

fn decodes(tok: &FastTokenizer, ids: &[i64], h: usize, d: usize) -> bool {
    tok.decode(&[ids], h, d, OnDecodeError::Raise).is_ok()
}

/// Walks `walks` random constrained sequences for `(h, d)`, checking at every step: the mask is
/// the oracle's (sound and maximal), every excluded id is refused and changes nothing, every
/// allowed one is accepted, `is_complete` is `decode`'s verdict, and (for a few allowed ids)
/// the oracle's completion really decodes. Returns the number of sequences completed.
fn check_against_oracle(tok: &FastTokenizer, h: usize, d: usize, walks: usize, seed: u64) -> usize {
    let n = h * d;
    let mut oracle = Oracle::new(tok, n);
    let mut rng = Rng(seed);
    let mut c = tok.constraint(h, d).unwrap();
    let vocab_len = tok.bpe().vocab_len();
    let mut completed = 0;
    for _ in 0..walks {
        c.reset();
        let (mut pending, mut count, mut ids) = (Vec::new(), 0usize, Vec::<i64>::new());
        loop {
            let expected = oracle.mask(&pending, count);
            assert_eq!(c.mask(), &expected[..], "mask after {ids:?}");
            let complete = pending.is_empty() && count == n;
            assert_eq!(c.is_complete(), complete, "is_complete after {ids:?}");
            assert_eq!(
                c.is_complete(),
                decodes(tok, &ids, h, d),
                "decode after {ids:?}"
            );
            for (id, &allowed) in expected.iter().enumerate() {
                let mut probe = c.clone();
                let result = probe.advance(id as i64);
                if allowed {
                    result.unwrap();
                } else {
                    match result {
                        Err(Error::NotAllowed {
                            position, id: got, ..
                        }) => {
                            assert_eq!((position, got), (ids.len(), id as i128));
                        }
                        other => panic!("id {id} after {ids:?}: {other:?}"),
                    }
                    assert_eq!(probe.state(), c.state());
                    assert_eq!(probe.position(), c.position());
                }
            }
            // Soundness, judged by decode itself, for a few allowed ids.
            let allowed: Vec<usize> = (0..vocab_len).filter(|&i| expected[i]).collect();
            for _ in 0..2.min(allowed.len()) {
                let id = allowed[rng.below(allowed.len())];
                let (p, k) = oracle.step(&pending, count, id).unwrap();
                let mut full = ids.clone();
                full.push(id as i64);
                full.extend(oracle.witness(&p, k));
                assert!(
                    decodes(tok, &full, h, d),
                    "completion {full:?} does not decode"
                );
            }
            if allowed.is_empty() {
                assert!(complete, "a live state with nothing allowed after {ids:?}");
                completed += 1;
                break;
            }
            // Ending is allowed when complete; sometimes take it.
            if complete && rng.below(3) == 0 {
                completed += 1;
                break;
            }
            let id = allowed[rng.below(allowed.len())];
            (pending, count) = oracle.step(&pending, count, id).unwrap();
            c.advance(id as i64).unwrap();
            ids.push(id as i64);
        }
    }
    completed
}

/// Random ids, unconstrained: while `advance` accepts them `is_complete` is decode's verdict,
/// and the first refused id leaves a prefix that no completion can save (the oracle agrees).
fn check_random_ids(tok: &FastTokenizer, h: usize, d: usize, seed: u64) {
    let n = h * d;
    let mut oracle = Oracle::new(tok, n);
    let mut rng = Rng(seed);
    let mut c = tok.constraint(h, d).unwrap();
    let (mut pending, mut count, mut ids) = (Vec::new(), 0usize, Vec::<i64>::new());
    for _ in 0..4 * n + 4 {
        let id = rng.below(tok.bpe().vocab_len());
        let possible = oracle
            .step(&pending, count, id)
            .filter(|(p, k)| oracle.completable(p, *k));
        match (c.advance(id as i64), possible) {
            (Ok(()), Some((p, k))) => {
                (pending, count) = (p, k);
                ids.push(id as i64);
                assert_eq!(c.is_complete(), decodes(tok, &ids, h, d));
            }
            (Err(Error::NotAllowed { .. }), None) => {}
            (got, oracle) => panic!("id {id} after {ids:?}: {got:?} but oracle {oracle:?}"),
        }
    }
}

fn alphabet(reference: bool) -> FitAlphabet {
    if reference {
        FitAlphabet::Reference
    } else {
        FitAlphabet::Lossless
    }
}

/// Shapes small enough for the exhaustive oracle.
fn small_shape() -> impl Strategy<Value = (usize, usize)> {
    (1usize..4, 1usize..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Tokenizers fitted to random corpora; scale 100 puts zero on two bytes (`min_token`
    /// below -127), scale 4 and 10 on one.
    #[test]
    fn fitted_tokenizers_match_the_oracle(
        seed in any::<u64>(),
        scale in prop_oneof![Just(4.0), Just(10.0), Just(100.0)],
        reference in any::<bool>(),
        (h, d) in small_shape(),
    ) {
        let tok = fitted(seed, scale, if scale > 50.0 { 1200 } else { 300 }, alphabet(reference));
        prop_assert!(check_against_oracle(&tok, h, d, 4, seed) == 4);
        check_random_ids(&tok, h, d, seed ^ 1);
    }

    /// Vocabularies of arbitrary byte strings: invalid tokens, tokens that only continue or only
    /// start characters, characters whose bytes exist only in some combinations (lossy), and
    /// 3- and 4-byte characters split anywhere.
    #[test]
    fn byte_string_vocabularies_match_the_oracle(
        tokens in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    Just(0x41u8), Just(0x20), Just(0xC5), Just(0xA2), Just(0x80), Just(0xBF),
                    Just(0xE0), Just(0xED), Just(0xA0), Just(0x9F), Just(0xF0), Just(0xF4),
                    Just(0x90), Just(0x8F), Just(0xE1), Just(0xFF), Just(0xC0),
                ],
                1..5,
            ),
            1..30,
        ),
        (h, d) in small_shape(),
        seed in any::<u64>(),
    ) {
        let tok = from_byte_tokens(&tokens);
        let n = h * d;
        let mut oracle = Oracle::new(&tok, n);
        match tok.constraint(h, d) {
            // Nothing decodes: then the oracle finds no completion either.
            Err(Error::InvalidArgument(msg)) => {
                prop_assert!(!oracle.completable(&[], 0), "{}", msg);
                prop_assert!(msg.contains("no sequence"), "{}", msg);
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => {
                prop_assert!(oracle.completable(&[], 0));
                check_against_oracle(&tok, h, d, 3, seed);
                check_random_ids(&tok, h, d, seed);
            }
        }
    }
}

/// The parameters above really cover both alphabets with zero on one byte and on two.
#[test]
fn fitted_cases_cover_one_and_two_byte_zero_in_both_alphabets() {
    for reference in [false, true] {
        let one = fitted(7, 10.0, 300, alphabet(reference));
        let two = fitted(7, 100.0, 1200, alphabet(reference));
        assert!(-one.config().min_token < 0x80, "{}", one.config().min_token);
        assert!(
            -two.config().min_token >= 0x80,
            "{}",
            two.config().min_token
        );
    }
}

/// The bundled tokenizer (real robosuite data, zero on two bytes) against the oracle.
#[test]
fn bundled_tokenizer_matches_the_oracle() {
    let tok = bundled();
    for (h, d) in [(1, 1), (2, 3), (3, 4)] {
        assert_eq!(check_against_oracle(&tok, h, d, 6, 11 + h as u64), 6);
        check_random_ids(&tok, h, d, 5);
    }
}

/// Long sequences (a realistic `H·D`), sampled under the mask: every one decodes, and
/// `is_complete` is true only at the end.
#[test]
fn long_sampled_sequences_all_decode() {
    let tokenizers = [
        bundled(),
        fitted(3, 10.0, 300, FitAlphabet::Lossless),
        fitted(4, 100.0, 1200, FitAlphabet::Reference),
        fitted(5, 4.0, 300, FitAlphabet::Reference),
    ];
    let mut rng = Rng(99);
    let mut decoded = 0;
    for tok in &tokenizers {
        for (h, d) in [(10, 7), (50, 14)] {
            let mut c = tok.constraint(h, d).unwrap();
            for _ in 0..25 {
                c.reset();
                let mut ids = Vec::new();
                while !c.is_complete() {
                    let allowed: Vec<usize> =
                        (0..c.mask().len()).filter(|&i| c.mask()[i]).collect();
                    // Half the time the allowed token of most bytes (long runs of zeros, as a
                    // trained model favours), otherwise any: both ends of the sequence space.
                    let id = if rng.below(2) == 0 {
                        *allowed
                            .iter()
                            .max_by_key(|&&i| tok.bpe().token_bytes(i as u32).unwrap().len())
                            .unwrap()
                    } else {
                        allowed[rng.below(allowed.len())]
                    };
                    c.advance(id as i64).unwrap();
                    ids.push(id as i64);
                    assert_eq!(c.is_complete(), decodes(tok, &ids, h, d));
                }
                assert!(c.mask().iter().all(|&a| !a));
                decoded += 1;
            }
        }
    }
    assert_eq!(decoded, 4 * 2 * 25);
}

/// A batch agrees with single constraints row by row, with and without a map into a larger
/// model vocabulary (dense span and sparse), and the end id follows the documented rules.
#[test]
fn batch_rows_follow_single_constraints() {
    let tok = bundled();
    let (h, d) = (4, 3);
    let table = tok.constraint_table(h, d).unwrap();
    let v = table.vocab_len();
    let mut rng = Rng(5);
    // Identity; openpi's reversed block (dense); a scattered permutation into 20x (sparse).
    let openpi = actok::openpi_vocab_map(v + 300, v, 128).unwrap();
    let mut scattered: Vec<i64> = (0..20 * v as i64).collect();
    for i in (1..scattered.len()).rev() {
        scattered.swap(i, rng.below(i + 1));
    }
    scattered.truncate(v);
    let used: std::collections::HashSet<i64> = scattered.iter().copied().collect();
    let free = (0..20 * v as i64).find(|i| !used.contains(i)).unwrap();
    let mappings = [
        (None, v, None),
        (Some(openpi), v + 300, Some((v + 299) as i64)),
        (Some(scattered), 20 * v, Some(free)),
    ];
    for (map, width, end_id) in mappings {
        let mapping = VocabMapping {
            map: map.clone(),
            model_vocab_size: Some(width),
            end_id,
        };
        let model_id = |a: usize| map.as_ref().map_or(a as i64, |m| m[a]);
        let rows = 5;
        let mut batch = ConstraintBatch::new(table.clone(), rows, &mapping).unwrap();
        let mut singles = vec![Constraint::new(table.clone()); rows];
        let mut ended = vec![false; rows];
        for _step in 0..4 * h * d + 3 {
            let masks = batch.mask().unwrap();
            let mut ids = Vec::new();
            for (b, single) in singles.iter().enumerate() {
                let row = &masks[b * width..(b + 1) * width];
                let mut expected = vec![false; width];
                if !ended[b] {
                    for (a, &ok) in single.mask().iter().enumerate() {
                        expected[model_id(a) as usize] = ok;
                    }
                }
                if let Some(e) = end_id {
                    expected[e as usize] = single.is_complete();
                }
                assert_eq!(row, &expected[..], "row {b}");
                assert!(row.iter().any(|&x| x) || (end_id.is_none() && single.is_complete()));
                let allowed: Vec<usize> = (0..width).filter(|&i| row[i]).collect();
                ids.push(if allowed.is_empty() {
                    -1
                } else {
                    allowed[rng.below(allowed.len())] as i64
                });
            }
            batch.advance(&ids).unwrap();
            for (b, &id) in ids.iter().enumerate() {
                if id == -1 || Some(id) == end_id {
                    ended[b] |= Some(id) == end_id;
                    continue;
                }
                let a = (0..v).find(|&a| model_id(a) == id).unwrap();
                singles[b].advance(a as i64).unwrap();
            }
            let complete: Vec<bool> = singles.iter().map(Constraint::is_complete).collect();
            assert_eq!(batch.is_complete(), complete);
            assert_eq!(batch.finished(), ended);
        }
        if end_id.is_some() {
            assert!(ended.iter().all(|&e| e), "every row ends within 4·N steps");
        }
    }
}

#[test]
fn batch_refusals_change_no_row_and_name_the_row() {
    let tok = bundled();
    let table = tok.constraint_table(2, 2).unwrap();
    let v = table.vocab_len();
    let end = v as i64 + 5;
    let mapping = VocabMapping {
        map: None,
        model_vocab_size: Some(v + 10),
        end_id: Some(end),
    };
    let mut batch = ConstraintBatch::new(table.clone(), 3, &mapping).unwrap();
    let first_allowed = |batch: &ConstraintBatch, row: usize| {
        let m = batch.mask().unwrap();
        (0..batch.width())
            .find(|&i| m[row * batch.width() + i])
            .unwrap() as i64
    };
    let a = first_allowed(&batch, 0);
    let before = batch.state(0).unwrap();
    // Row 2 gives the sentinel before it is complete: nothing moves, row 2 is named.
    let err = batch.advance(&[a, a, -1]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotAllowed {
                row: Some(2),
                reason: Refusal::SentinelTooEarly,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("cannot advance row 2: token id -1 at position 0"),
        "{err}"
    );
    assert_eq!(batch.state(0).unwrap(), before);
    // The end id before completion; an id past the model's vocabulary; one inside it that is no
    // action token; a wrong number of ids.
    let err = batch.advance(&[end, a, a]).unwrap_err();
    assert!(matches!(
        err,
        Error::NotAllowed {
            row: Some(0),
            reason: Refusal::EndTooEarly,
            ..
        }
    ));
    let err = batch.advance(&[a, (v + 10) as i64, a]).unwrap_err();
    assert!(matches!(
        err,
        Error::NotAllowed {
            row: Some(1),
            reason: Refusal::NotMapped { .. },
            ..
        }
    ));
    // In the tokenizer's own ids, the same id is simply unknown.
    let mut plain = ConstraintBatch::new(table.clone(), 1, &VocabMapping::default()).unwrap();
    let err = plain.advance(&[v as i64]).unwrap_err();
    assert!(matches!(
        err,
        Error::NotAllowed {
            reason: Refusal::UnknownId { .. },
            ..
        }
    ));
    let err = batch.advance(&[a, a, v as i64]).unwrap_err();
    assert!(matches!(
        err,
        Error::NotAllowed {
            row: Some(2),
            reason: Refusal::NotMapped { .. },
            ..
        }
    ));
    assert!(matches!(
        batch.advance(&[a, a]),
        Err(Error::InvalidArgument(_))
    ));
    // Finish row 0; then only the end id or -1.
    let mut single = Constraint::new(table.clone());
    let mut ids = Vec::new();
    while !single.is_complete() {
        let id = single.mask().iter().position(|&x| x).unwrap() as i64;
        single.advance(id).unwrap();
        ids.push(id);
    }
    for &id in &ids {
        batch.advance(&[id, -1, -1]).unwrap_err();
        let other = first_allowed(&batch, 1);
        batch
            .advance(&[id, other, first_allowed(&batch, 2)])
            .unwrap();
    }
    assert!(batch.is_complete()[0]);
    // Rows 1 and 2 took row 0's ids (the first allowed each step): complete too, so the end id
    // is what they allow first now.
    let (b1, b2) = (first_allowed(&batch, 1), first_allowed(&batch, 2));
    assert_eq!((b1, b2), (end, end));
    batch.advance(&[end, b1, b2]).unwrap();
    assert!(batch.finished()[0]);
    let m = batch.mask().unwrap();
    let row0: Vec<usize> = (0..batch.width()).filter(|&i| m[i]).collect();
    assert_eq!(row0, vec![end as usize]);
    let err = batch.advance(&[ids[0], -1, -1]).unwrap_err();
    assert!(matches!(
        err,
        Error::NotAllowed {
            row: Some(0),
            reason: Refusal::Finished { .. },
            ..
        }
    ));
    batch.reset();
    assert_eq!(batch.finished(), vec![false; 3]);
    assert_eq!(batch.is_complete(), vec![false; 3]);
}

#[test]
fn single_constraint_refuses_after_completion_and_resets() {
    let tok = bundled();
    let mut c = tok.constraint(1, 2).unwrap();
    while !c.is_complete() {
        let id = c.mask().iter().position(|&x| x).unwrap() as i64;
        c.advance(id).unwrap();
    }
    let err = c.advance(0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotAllowed {
                row: None,
                reason: Refusal::Complete,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("after 2 of 2 coefficients") && msg.contains("complete"),
        "{msg}"
    );
    let err = c.advance(-3).unwrap_err().to_string();
    assert!(
        err.contains("token id -3") && err.contains("valid ids are 0 to"),
        "{err}"
    );
    c.reset();
    assert_eq!((c.count(), c.position(), c.is_complete()), (0, 0, false));
    let mut out = vec![true; 3];
    assert!(c.mask_into(&mut out).is_err());
}

/// Anytime decoding: every prefix of a constrained sequence decodes to the inverse DCT of its
/// coefficients with the missing ones zero (computed here from the bytes, independently), and
/// is `valid` only when complete; what is no prefix is refused.
#[test]
fn decode_prefix_is_the_zero_padded_inverse_dct() {
    for tok in [bundled(), fitted(8, 100.0, 1200, FitAlphabet::Lossless)] {
        let (h, d) = (6, 3);
        let (min_token, scale) = (tok.config().min_token, tok.config().scale);
        let mut c = tok.constraint(h, d).unwrap();
        let mut rng = Rng(17);
        let mut ids = Vec::new();
        let mut prefixes = vec![Vec::new()];
        while !c.is_complete() {
            let allowed: Vec<usize> = (0..c.mask().len()).filter(|&i| c.mask()[i]).collect();
            let id = allowed[rng.below(allowed.len())] as i64;
            c.advance(id).unwrap();
            ids.push(id);
            prefixes.push(ids.clone());
        }
        let decoded = tok.decode_prefix(&prefixes, h, d).unwrap();
        let mut pending_seen = false;
        for (b, prefix) in prefixes.iter().enumerate() {
            let bytes: Vec<u8> = prefix
                .iter()
                .flat_map(|&i| tok.bpe().token_bytes(i as u32).unwrap().to_vec())
                .collect();
            let valid = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(e) => {
                    assert!(e.error_len().is_none());
                    pending_seen = true;
                    e.valid_up_to()
                }
            };
            let mut coefficients = vec![0.0; h * d];
            for (slot, ch) in coefficients
                .iter_mut()
                .zip(std::str::from_utf8(&bytes[..valid]).unwrap().chars())
            {
                *slot = (ch as i64 + min_token) as f64 / scale;
            }
            let mut expected = vec![0.0; h * d];
            transform_axis(
                DctSpec::FAST_INVERSE,
                &coefficients,
                &mut expected,
                [1, h, d],
            )
            .unwrap();
            let got = &decoded.actions[b * h * d..(b + 1) * h * d];
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    (g - e).abs() <= 1e-12 * (1.0 + e.abs()),
                    "prefix {b}: {g} vs {e}"
                );
            }
            assert_eq!(decoded.valid[b], b + 1 == prefixes.len());
        }
        // The whole sequence decodes as decode does.
        let whole = tok
            .decode(&[ids.clone()], h, d, OnDecodeError::Raise)
            .unwrap();
        assert_eq!(
            &decoded.actions[(prefixes.len() - 1) * h * d..],
            &whole.actions[..]
        );
        // Not prefixes: an unknown id, one coefficient too many.
        let mut unknown = ids[..1].to_vec();
        unknown.push(tok.bpe().vocab_len() as i64);
        let mut long = ids.clone();
        long.push(ids[0]);
        for (bad, what) in [
            (unknown, "not in the vocabulary"),
            (long, "coefficients, expected"),
        ] {
            let err = tok.decode_prefix(&[ids.clone(), bad], h, d).unwrap_err();
            assert!(matches!(err, Error::Decode { chunk: 1, .. }), "{err:?}");
            assert!(err.to_string().contains(what), "{err}");
        }
        // A character cut in two is a prefix (its coefficient is missing); a byte that cannot
        // continue it is not.
        let lead = i64::from(tok.bpe().byte_id(0xC5).unwrap());
        let cut = tok.decode_prefix(&[vec![lead]], h, d).unwrap();
        assert!(cut.actions.iter().all(|&v| v == 0.0) && !cut.valid[0]);
        let err = tok.decode_prefix(&[vec![lead, lead]], h, d).unwrap_err();
        assert!(err.to_string().contains("invalid UTF-8"), "{err}");
        assert!(pending_seen || tok.config().min_token > -128);
    }
}
