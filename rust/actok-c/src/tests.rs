//! Tests of the C entry points, called as C would call them: the committed header, allocation
//! freedom after warm-up (a counting global allocator), caught panics, status codes and messages.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{c_int, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use actok::{FastTokenizer, FitOptions, Normalizer, NormalizerKind, OutOfRange};

use crate::*;

/// Counts the calling thread's heap allocations (`alloc`, `alloc_zeroed`, `realloc`).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: allocations during a thread's teardown are not counted.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = BYTES.try_with(|n| n.set(n.get() + bytes as u64));
}

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// This thread's `(allocations, bytes)` so far.
fn allocations() -> (u64, u64) {
    (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get))
}

fn last_error() -> String {
    // SAFETY: a valid NUL-terminated string, per the API.
    unsafe { CStr::from_ptr(actok_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

/// A seeded generator (SplitMix64) for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` smooth `(h, d)` chunks: random walks in raw units (offset and scale per dimension),
    /// with every fourth dimension a binary gripper signal.
    fn chunks(&mut self, n: usize, h: usize, d: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * h * d);
        for _ in 0..n {
            let mut x: Vec<f64> = (0..d).map(|_| self.next() - 0.5).collect();
            for _ in 0..h {
                for (j, v) in x.iter_mut().enumerate() {
                    *v += (self.next() - 0.5) * 0.1;
                    *v = v.clamp(-1.0, 1.0);
                    out.push(if j % 4 == 3 {
                        if *v > 0.0 {
                            1.0
                        } else {
                            -1.0
                        }
                    } else {
                        *v * (j as f64 + 1.0) + 3.0 * j as f64
                    });
                }
            }
        }
        out
    }
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actok-c-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fits a tokenizer with a quantile normalizer of policy `policy` to `(h, d)` chunks and saves
/// it; returns its directory.
fn fitted(name: &str, h: usize, d: usize, policy: OutOfRange) -> PathBuf {
    let data = Rng(7).chunks(400, h, d);
    let shape = [400, h, d];
    let norm = Normalizer::fit_chunks(NormalizerKind::Quantile, &data, shape)
        .unwrap()
        .with_out_of_range(policy)
        .unwrap();
    let options = FitOptions {
        vocab_size: 512,
        ..FitOptions::default()
    };
    let tok = FastTokenizer::fit_normalized(&data, shape, &options, &norm, None).unwrap();
    let dir = temp_dir(name);
    tok.save_pretrained(&dir).unwrap();
    dir
}

fn bundled() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/actok/data/robosuite_fast")
}

/// A loaded handle, freed on drop.
struct Handle(*mut actok_tokenizer);

impl Handle {
    fn load(dir: &Path) -> Self {
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        let mut tok = null_mut();
        // SAFETY: valid string and out pointer.
        let status = unsafe { actok_tokenizer_load(path.as_ptr(), &mut tok) };
        assert_eq!(status, ACTOK_OK, "{}", last_error());
        Self(tok)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle from `actok_tokenizer_load`, freed once.
        unsafe { actok_tokenizer_free(self.0) };
    }
}

// SAFETY: the handle is immutable and documented as shareable.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

/// One workload of the allocation test: a tokenizer, a shape and the encode flags.
struct Case {
    dir: PathBuf,
    h: usize,
    d: usize,
    flags: c_int,
}

/// The data and caller buffers of a workload, allocated before it runs.
struct Workload {
    h: usize,
    d: usize,
    flags: c_int,
    stride: usize,
    chunks: Vec<f64>,
    chunks32: Vec<f32>,
    tie: Vec<f64>,
    ids: Vec<i32>,
    garbage: Vec<i32>,
    out32: Vec<f32>,
    out64: Vec<f64>,
}

impl Workload {
    fn new(tok: &Handle, case: &Case, rng: &mut Rng) -> Self {
        let (h, d) = (case.h, case.d);
        let stride = unsafe { actok_max_tokens(tok.0, h, d) };
        let chunks = rng.chunks(64, h, d);
        Self {
            h,
            d,
            flags: case.flags,
            stride,
            chunks32: chunks.iter().map(|&v| v as f32).collect(),
            tie: chunks[..h * d].to_vec(),
            chunks,
            ids: vec![0; stride],
            garbage: vec![0; stride],
            out32: vec![0.0; h * d],
            out64: vec![0.0; h * d],
        }
    }

    /// `calls` rounds of: a batch-1 encode (f64 or f32; every eighth chunk with a near-tie, a
    /// constant first column whose scaled DC coefficient sits near a .5, for the quantizer's
    /// exact fallback), its decode, and the decode of a sequence that does not decode, repaired
    /// (an unknown id, truncated, over-long, a character cut in the middle).
    fn run(&mut self, tok: &Handle, calls: usize) {
        let (h, d, n, stride) = (self.h, self.d, self.h * self.d, self.stride);
        let (mut len, mut valid) = (0usize, 0u8);
        for call in 0..calls {
            let status = if call % 8 == 7 {
                let dc = 0.05 / (h as f64).sqrt() * (2 * (call % 5) + 1) as f64;
                for t in 0..h {
                    self.tie[t * d] = self.chunks[0] * 0.0 + dc;
                }
                unsafe {
                    actok_encode_f64(
                        tok.0,
                        self.tie.as_ptr(),
                        1,
                        h,
                        d,
                        self.flags,
                        self.ids.as_mut_ptr(),
                        stride,
                        &mut len,
                    )
                }
            } else if call % 2 == 0 {
                let chunk = &self.chunks[(call * 7) % 64 * n..][..n];
                unsafe {
                    actok_encode_f64(
                        tok.0,
                        chunk.as_ptr(),
                        1,
                        h,
                        d,
                        self.flags,
                        self.ids.as_mut_ptr(),
                        stride,
                        &mut len,
                    )
                }
            } else {
                let chunk = &self.chunks32[(call * 7) % 64 * n..][..n];
                unsafe {
                    actok_encode_f32(
                        tok.0,
                        chunk.as_ptr(),
                        1,
                        h,
                        d,
                        self.flags,
                        self.ids.as_mut_ptr(),
                        stride,
                        &mut len,
                    )
                }
            };
            assert_eq!(status, ACTOK_OK, "call {call}: {}", last_error());
            let status = unsafe {
                actok_decode_f32(
                    tok.0,
                    self.ids.as_ptr(),
                    stride,
                    &len,
                    1,
                    h,
                    d,
                    ACTOK_DECODE_RAISE,
                    self.out32.as_mut_ptr(),
                    &mut valid,
                )
            };
            assert_eq!(status, ACTOK_OK, "call {call}: {}", last_error());
            let glen = match call % 4 {
                0 => {
                    self.garbage[..len].copy_from_slice(&self.ids[..len]);
                    self.garbage[len / 2] = 1 << 30;
                    len
                }
                1 => len / 2,
                2 => {
                    for (i, g) in self.garbage.iter_mut().enumerate() {
                        *g = self.ids[i % len.max(1)];
                    }
                    stride
                }
                _ => {
                    self.garbage[..len].copy_from_slice(&self.ids[..len]);
                    self.garbage[0] = (call % 256) as i32;
                    len
                }
            };
            let policy = if call % 3 == 0 {
                ACTOK_DECODE_ZEROS
            } else {
                ACTOK_DECODE_PAD
            };
            let status = unsafe {
                actok_decode_f64(
                    tok.0,
                    self.garbage.as_ptr(),
                    stride,
                    &glen,
                    1,
                    h,
                    d,
                    policy,
                    self.out64.as_mut_ptr(),
                    &mut valid,
                )
            };
            assert_eq!(status, ACTOK_OK, "call {call}: {}", last_error());
        }
    }
}

#[test]
fn batch_one_calls_allocate_nothing_after_one_warm_up_call() {
    let cases = [
        // The benchmark's shape, a keep normalizer (raw units in and out).
        Case {
            dir: fitted("keep", 50, 14, OutOfRange::Keep),
            h: 50,
            d: 14,
            flags: ACTOK_OVERFLOW_RAISE,
        },
        // Clipping normalizer and clipping overflow: the clip tables and counts.
        Case {
            dir: fitted("clip", 30, 26, OutOfRange::Clip),
            h: 30,
            d: 26,
            flags: ACTOK_OVERFLOW_CLIP,
        },
        // A universal tokenizer at horizons on pocketfft's Bluestein path (the exact fallback at
        // 191; every transform at 257, beyond the matrices).
        Case {
            dir: bundled(),
            h: 191,
            d: 2,
            flags: ACTOK_OVERFLOW_CLIP | ACTOK_ENCODE_ANY_SHAPE,
        },
        Case {
            dir: bundled(),
            h: 257,
            d: 3,
            flags: ACTOK_OVERFLOW_CLIP | ACTOK_ENCODE_ANY_SHAPE,
        },
    ];
    for case in &cases {
        // Each case on a fresh thread, so that the warm-up is that thread's first call.
        std::thread::scope(|s| {
            s.spawn(|| {
                let tok = Handle::load(&case.dir);
                let mut work = Workload::new(&tok, case, &mut Rng(11));
                // The warm-up: one encode and decode of one chunk (a smooth one: few, short
                // pieces, no tie, no clip), the weakest warm-up there is.
                let before = allocations();
                work.run(&tok, 1);
                let warm = allocations();
                work.run(&tok, 1000);
                let after = allocations();
                eprintln!(
                    "H={} D={} flags={}: warm-up {} allocations, {} bytes; then 3,000 calls: {} allocations",
                    case.h,
                    case.d,
                    case.flags,
                    warm.0 - before.0,
                    warm.1 - before.1,
                    after.0 - warm.0,
                );
                assert_eq!(after.0 - warm.0, 0, "allocations after warm-up (H={}, D={})", case.h, case.d);
            });
        });
    }
}

#[test]
fn header_is_generated() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/actok.h"));
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/actok.h");
    if std::env::var_os("ACTOK_BLESS_HEADER").is_some() {
        std::fs::write(&committed_path, generated).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap();
    assert!(
        committed == generated,
        "rust/actok-c/include/actok.h differs from what cbindgen generates from src/: run \
         `ACTOK_BLESS_HEADER=1 cargo test -p actok-c header` and commit the result"
    );
}

#[test]
fn a_panic_in_any_entry_point_is_caught_and_reported() {
    let tok = Handle::load(&bundled());
    let inject = || crate::guard::PANIC_NEXT.with(|p| p.set(true));
    let internal = |status: c_int| {
        assert_eq!(status, ACTOK_ERROR_INTERNAL);
        let message = last_error();
        assert!(
            message.contains("actok panicked (a panic injected by a test)"),
            "{message}"
        );
    };
    let chunk = vec![0.0f64; 40];
    let chunk32 = [0.0f32; 40];
    let mut ids = vec![0i32; 160];
    let mut len = 0usize;
    let mut out = vec![0f64; 40];
    let mut out32 = vec![0f32; 40];
    unsafe {
        let dir = CString::new(bundled().to_str().unwrap()).unwrap();
        let mut loaded = null_mut();
        inject();
        internal(actok_tokenizer_load(dir.as_ptr(), &mut loaded));
        assert!(loaded.is_null());
        inject();
        internal(actok_tokenizer_shape(tok.0, null_mut(), null_mut()));
        inject();
        assert_eq!(actok_max_tokens(tok.0, 20, 2), 0);
        internal(ACTOK_ERROR_INTERNAL);
        inject();
        internal(actok_encode_f64(
            tok.0,
            chunk.as_ptr(),
            1,
            20,
            2,
            0,
            ids.as_mut_ptr(),
            160,
            &mut len,
        ));
        inject();
        internal(actok_encode_f32(
            tok.0,
            chunk32.as_ptr(),
            1,
            20,
            2,
            0,
            ids.as_mut_ptr(),
            160,
            &mut len,
        ));
        // The handle still works after a caught panic.
        assert_eq!(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                20,
                2,
                0,
                ids.as_mut_ptr(),
                160,
                &mut len
            ),
            ACTOK_OK
        );
        inject();
        internal(actok_decode_f64(
            tok.0,
            ids.as_ptr(),
            160,
            &len,
            1,
            20,
            2,
            0,
            out.as_mut_ptr(),
            null_mut(),
        ));
        inject();
        internal(actok_decode_f32(
            tok.0,
            ids.as_ptr(),
            160,
            &len,
            1,
            20,
            2,
            0,
            out32.as_mut_ptr(),
            null_mut(),
        ));
        // Freeing: the panic is caught (the handle then leaks, which is all a bug can cost).
        let leaked = Handle::load(&bundled());
        inject();
        actok_tokenizer_free(leaked.0);
        internal(ACTOK_ERROR_INTERNAL);
        std::mem::forget(leaked);
    }
}

#[test]
fn failures_return_their_code_and_a_message_saying_what_and_where() {
    let tok = Handle::load(&bundled());
    let mut chunk = vec![0.1f64; 40];
    let mut ids = vec![0i32; 160];
    let mut len = 0usize;
    let mut out = vec![0f64; 40];
    let expect = |status: c_int, code: c_int, needle: &str| {
        assert_eq!(status, code, "{}", last_error());
        let message = last_error();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    };
    unsafe {
        assert_eq!(
            CStr::from_ptr(actok_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        let mut loaded = null_mut();
        let missing = CString::new("/nonexistent/actok-dir").unwrap();
        expect(
            actok_tokenizer_load(missing.as_ptr(), &mut loaded),
            ACTOK_ERROR_LOAD,
            "/nonexistent/actok-dir",
        );
        expect(
            actok_tokenizer_load(null(), &mut loaded),
            ACTOK_ERROR_ARGUMENT,
            "dir is NULL",
        );
        expect(
            actok_tokenizer_load(missing.as_ptr(), null_mut()),
            ACTOK_ERROR_ARGUMENT,
            "out is NULL",
        );
        expect(
            actok_encode_f64(
                null(),
                chunk.as_ptr(),
                1,
                20,
                2,
                0,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ARGUMENT,
            "tok is NULL",
        );
        expect(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                20,
                2,
                2,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ARGUMENT,
            "on_overflow = 2",
        );
        expect(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                20,
                2,
                0,
                ids.as_mut_ptr(),
                1,
                &mut len,
            ),
            ACTOK_ERROR_ARGUMENT,
            "more than the 1 its row holds",
        );
        // The recorded horizon (20), and the flag that turns its check off.
        expect(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                10,
                4,
                0,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ARGUMENT,
            "fitted to (20, any) chunks",
        );
        assert_eq!(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                10,
                4,
                ACTOK_ENCODE_ANY_SHAPE,
                ids.as_mut_ptr(),
                160,
                &mut len
            ),
            ACTOK_OK
        );
        chunk[13] = f64::NAN;
        expect(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                20,
                2,
                0,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ENCODE,
            "chunk 0 at flattened index 13",
        );
        chunk[13] = 1e6;
        expect(
            actok_encode_f64(
                tok.0,
                chunk.as_ptr(),
                1,
                20,
                2,
                0,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ENCODE,
            "cannot encode chunk 0",
        );
        ids[0] = 99_999;
        let two = 2usize;
        expect(
            actok_decode_f64(
                tok.0,
                ids.as_ptr(),
                160,
                &two,
                1,
                20,
                2,
                0,
                out.as_mut_ptr(),
                null_mut(),
            ),
            ACTOK_ERROR_DECODE,
            "cannot decode chunk 0",
        );
        expect(
            actok_decode_f64(
                tok.0,
                ids.as_ptr(),
                160,
                &two,
                1,
                20,
                2,
                3,
                out.as_mut_ptr(),
                null_mut(),
            ),
            ACTOK_ERROR_ARGUMENT,
            "on_error = 3",
        );
        let mut valid = 7u8;
        assert_eq!(
            actok_decode_f64(
                tok.0,
                ids.as_ptr(),
                160,
                &two,
                1,
                20,
                2,
                ACTOK_DECODE_ZEROS,
                out.as_mut_ptr(),
                &mut valid
            ),
            ACTOK_OK
        );
        assert_eq!(valid, 0);
        assert!(out.iter().all(|&v| v == 0.0));
        // Misaligned arrays are refused, not read.
        let bytes = [0u8; 16];
        expect(
            actok_encode_f64(
                tok.0,
                bytes.as_ptr().add(1).cast(),
                1,
                1,
                1,
                ACTOK_ENCODE_ANY_SHAPE,
                ids.as_mut_ptr(),
                160,
                &mut len,
            ),
            ACTOK_ERROR_ARGUMENT,
            "actions is not aligned",
        );
        // Successful calls leave the last message as it was.
        let before = last_error();
        assert_eq!(actok_tokenizer_shape(tok.0, &mut len, null_mut()), ACTOK_OK);
        assert_eq!(len, 20);
        assert_eq!(last_error(), before);
    }
}

#[test]
fn four_threads_share_one_handle_and_get_the_cores_results() {
    let dir = fitted("threads", 20, 5, OutOfRange::Keep);
    let tok = Handle::load(&dir);
    let core = FastTokenizer::from_pretrained(&dir).unwrap();
    let (h, d) = (20, 5);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (tok, core) = (&tok, &core);
            s.spawn(move || {
                let data = Rng(100 + t).chunks(50, h, d);
                let stride = unsafe { actok_max_tokens(tok.0, h, d) };
                let want = core
                    .encode(&data, [50, h, d], actok::Overflow::Raise)
                    .unwrap();
                let decoded = core
                    .decode(&want, h, d, actok::OnDecodeError::Raise)
                    .unwrap();
                let mut ids = vec![0i32; stride];
                let mut out = vec![0f64; h * d];
                let mut len = 0usize;
                for round in 0..20 {
                    for b in 0..50 {
                        let chunk = &data[b * h * d..][..h * d];
                        let status = unsafe {
                            actok_encode_f64(
                                tok.0,
                                chunk.as_ptr(),
                                1,
                                h,
                                d,
                                0,
                                ids.as_mut_ptr(),
                                stride,
                                &mut len,
                            )
                        };
                        assert_eq!(status, ACTOK_OK, "{}", last_error());
                        let got: Vec<u32> = ids[..len].iter().map(|&i| i as u32).collect();
                        assert_eq!(got, want[b], "thread {t} round {round} chunk {b}");
                        let status = unsafe {
                            actok_decode_f64(
                                tok.0,
                                ids.as_ptr(),
                                stride,
                                &len,
                                1,
                                h,
                                d,
                                0,
                                out.as_mut_ptr(),
                                null_mut(),
                            )
                        };
                        assert_eq!(status, ACTOK_OK, "{}", last_error());
                        assert_eq!(out, decoded.actions[b * h * d..][..h * d]);
                    }
                }
            });
        }
    });
}
