//! The C ABI of actok: `libactok_c` and `include/actok.h` (generated from this file by cbindgen,
//! see `build.rs`).
//!
//! Conversion only: C pointers and integers become slices and core options, core errors become
//! status codes plus a per-thread message (`guard.rs`). Every rule and every message about the
//! data is the core's ([`actok::FastTokenizer::encode_into`], [`actok::FastTokenizer::decode_into`]).
#![deny(missing_docs)]
#![allow(non_camel_case_types)]
// The header's readers are C programmers: each entry point's pointer requirements are its
// "Pointers:" paragraph rather than a Markdown "# Safety" heading.
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, c_int, CStr};

use actok::{EncodeOptions, FastTokenizer, OnDecodeError, Overflow, Sample};

mod guard;
mod slices;

use guard::{argument, guard, guard_value, Failure};
use slices::{slice, slice_mut};

#[cfg(test)]
mod tests;

/// Success.
pub const ACTOK_OK: c_int = 0;
/// A NULL or misaligned pointer, a zero or oversized shape, a too-small buffer or row, a bad flag.
pub const ACTOK_ERROR_ARGUMENT: c_int = 1;
/// A tokenizer directory or file is missing, unreadable, malformed, or over a size cap.
pub const ACTOK_ERROR_LOAD: c_int = 2;
/// A chunk cannot be encoded losslessly: a value is not finite, is refused by the normalizer, or
/// gives a coefficient the vocabulary cannot represent (under `ACTOK_OVERFLOW_RAISE`).
pub const ACTOK_ERROR_ENCODE: c_int = 3;
/// A sequence does not decode (under `ACTOK_DECODE_RAISE`): an unknown id, bytes that are not
/// UTF-8, or another number of coefficients than `horizon * dim`.
pub const ACTOK_ERROR_DECODE: c_int = 4;
/// A caught panic, that is a bug in actok (please report it with the message); nothing ever
/// unwinds into C.
pub const ACTOK_ERROR_INTERNAL: c_int = 5;

/// Encode: a coefficient the vocabulary cannot represent fails the call (`ACTOK_ERROR_ENCODE`).
pub const ACTOK_OVERFLOW_RAISE: c_int = 0;
/// Encode: a coefficient the vocabulary cannot represent is replaced by the nearest one it can
/// (saturation, losing data).
pub const ACTOK_OVERFLOW_CLIP: c_int = 1;
/// Encode flag, or-ed into `on_overflow`: accept chunks of any `(horizon, dim)` even when the
/// tokenizer records the shape it was fitted to (Python's `check_shape=False`). Without it such
/// a tokenizer refuses other shapes with `ACTOK_ERROR_ARGUMENT`: their tokens would stand for
/// other DCT frequencies.
pub const ACTOK_ENCODE_ANY_SHAPE: c_int = 0x100;

/// Decode: a sequence that does not decode fails the call (`ACTOK_ERROR_DECODE`).
pub const ACTOK_DECODE_RAISE: c_int = 0;
/// Decode: a sequence that does not decode gives the actions of its decodable prefix (the
/// missing coefficients zero) and `valid[b] = 0`.
pub const ACTOK_DECODE_PAD: c_int = 1;
/// Decode: a sequence that does not decode gives an all-zero chunk and `valid[b] = 0` (the
/// reference processor's behaviour, made visible).
pub const ACTOK_DECODE_ZEROS: c_int = 2;

/// A loaded tokenizer (opaque). Immutable once loaded: one handle may be used from any number
/// of threads at once.
pub struct actok_tokenizer {
    inner: FastTokenizer,
}

/// The version of actok, e.g. "0.1.0".
///
/// Returns a static NUL-terminated string owned by actok. Thread-safe; never fails; allocates
/// nothing.
#[no_mangle]
pub extern "C" fn actok_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the most recent failed call on the calling thread, or "" if no call on this
/// thread has failed. Successful calls leave it unchanged.
///
/// Returns a NUL-terminated string owned by actok, valid until the next failing call on the
/// same thread (or the thread's exit); copy it to keep it. Thread-safe (each thread has its
/// own); never fails; allocates nothing.
#[no_mangle]
pub extern "C" fn actok_last_error() -> *const c_char {
    guard::last_error()
}

/// Values the tokenizer's normalizer clipped in the most recent successful encode call on the
/// calling thread: 0 unless the normalizer was saved with `out_of_range` "clip" (Python warns
/// with `ClippingWarning` for the same count).
///
/// Thread-safe (each thread has its own); never fails; allocates nothing.
#[no_mangle]
pub extern "C" fn actok_last_clip_count() -> u64 {
    guard::last_clip_count()
}

/// Loads the tokenizer in directory `dir` (`processor_config.json`, `tokenizer.json` and, when
/// present, `actok_normalizer.json`), as Python's `FastTokenizer.from_pretrained(dir)`: the
/// layouts of transformers 4.x (files at the top), 5.x (`tokenizer.json` in `bpe_tokenizer/`)
/// and actok (both, identical) all load; hub ids do not (download the directory first).
///
/// `dir` is a NUL-terminated path (bytes, as the operating system takes them). On success stores
/// a new handle in `*out`, owned by the caller (release it with `actok_tokenizer_free`); on
/// failure sets `*out` to NULL (when `out` is not NULL).
///
/// Errors: `ACTOK_ERROR_ARGUMENT` (`dir` or `out` is NULL), `ACTOK_ERROR_LOAD` (the directory
/// or a file is missing, unreadable, malformed or over a size cap; a directory saved with a
/// normalizer whose `actok_normalizer.json` is missing). Thread-safe. Allocates the tokenizer
/// (its vocabulary and tables) and reads the files.
///
/// Pointers: `dir` is NULL or a valid NUL-terminated string; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn actok_tokenizer_load(
    dir: *const c_char,
    out: *mut *mut actok_tokenizer,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(argument("out is NULL"));
        }
        // SAFETY: not NULL, and the caller promises it is valid for a write.
        unsafe { out.write(std::ptr::null_mut()) };
        if dir.is_null() {
            return Err(argument("dir is NULL"));
        }
        // SAFETY: not NULL, and the caller promises a NUL-terminated string.
        let dir = unsafe { CStr::from_ptr(dir) };
        let inner = FastTokenizer::from_pretrained(path(dir)?)?;
        let handle = Box::into_raw(Box::new(actok_tokenizer { inner }));
        // SAFETY: as above.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// A C path as the operating system takes it.
#[cfg(unix)]
fn path(dir: &CStr) -> Result<&std::path::Path, Failure> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(
        dir.to_bytes(),
    )))
}

/// A C path as the operating system takes it (UTF-8 outside Unix).
#[cfg(not(unix))]
fn path(dir: &CStr) -> Result<&std::path::Path, Failure> {
    dir.to_str()
        .map(std::path::Path::new)
        .map_err(|_| argument("dir is not valid UTF-8"))
}

/// Releases a tokenizer; NULL is a no-op.
///
/// The handle must not be used afterwards, nor by another thread during the call. Never fails;
/// frees what `actok_tokenizer_load` allocated (per-thread working buffers stay with their
/// threads until they exit).
///
/// Pointers: `tok` is NULL or a handle from `actok_tokenizer_load` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn actok_tokenizer_free(tok: *mut actok_tokenizer) {
    if tok.is_null() {
        return;
    }
    guard(|| {
        // SAFETY: the caller passes a handle from `Box::into_raw` in `actok_tokenizer_load`,
        // freed once.
        drop(unsafe { Box::from_raw(tok) });
        Ok(())
    });
}

/// The chunk shape `tok` records (`time_horizon` and `action_dim` of its
/// `processor_config.json`): each written where its pointer is not NULL, 0 when not recorded (a
/// universal tokenizer, such as the released FAST+, records neither).
///
/// Errors: `ACTOK_ERROR_ARGUMENT` (`tok` is NULL). Thread-safe; allocates nothing.
///
/// Pointers: `tok` is NULL or a live handle; each other pointer is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn actok_tokenizer_shape(
    tok: *const actok_tokenizer,
    time_horizon: *mut usize,
    action_dim: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let tok = unsafe { handle(tok)? };
        let config = tok.config();
        for (ptr, value) in [
            (time_horizon, config.time_horizon),
            (action_dim, config.action_dim),
        ] {
            if !ptr.is_null() {
                // SAFETY: not NULL, and the caller promises it is valid for a write.
                unsafe { ptr.write(value.unwrap_or(0)) };
            }
        }
        Ok(())
    })
}

/// A row width (`ids_stride`) that always suffices for the ids of one `(horizon, dim)` chunk:
/// `horizon * dim` times the most UTF-8 bytes a coefficient's character can take in this
/// vocabulary (2 for FAST's usual vocabularies, at most 4).
///
/// Returns 0 when `tok` is NULL or the product overflows `size_t` (then `actok_last_error` says
/// which). Thread-safe; allocates nothing (except that message).
///
/// Pointers: `tok` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn actok_max_tokens(
    tok: *const actok_tokenizer,
    horizon: usize,
    dim: usize,
) -> usize {
    guard_value(0, || {
        // SAFETY: the caller promises a live handle or NULL.
        let tok = unsafe { handle(tok)? };
        tok.max_tokens(horizon, dim).ok_or_else(|| {
            argument(format!(
                "horizon {horizon} × dim {dim} ids do not fit in size_t"
            ))
        })
    })
}

/// Encodes `batch` chunks of `float` actions (row-major `(batch, horizon, dim)`) to token ids,
/// as Python's `FastTokenizer.encode`.
///
/// Chunk b's ids go to `ids + b * ids_stride` and their count to `lengths[b]`; entries of a row
/// past its count are left as they were. `ids` holds `batch * ids_stride` entries, `lengths`
/// `batch`. `on_overflow` is `ACTOK_OVERFLOW_RAISE` or `ACTOK_OVERFLOW_CLIP`, optionally or-ed
/// with `ACTOK_ENCODE_ANY_SHAPE`. `float` values are widened exactly to `double`: the ids are
/// those of the same values as `double`.
///
/// Errors: `ACTOK_ERROR_ARGUMENT` (a NULL pointer, `horizon` 0, a shape whose size overflows, a
/// bad `on_overflow`, a shape other than the one the tokenizer records, a chunk needing more
/// than `ids_stride` ids: never written past its row), `ACTOK_ERROR_ENCODE` (a value not
/// finite, refused by the normalizer, or a coefficient the vocabulary cannot represent under
/// `ACTOK_OVERFLOW_RAISE`), each naming the chunk and position. On failure `ids` and `lengths`
/// hold unspecified values. Thread-safe. Allocation: for a batch run on the calling thread,
/// none after the first call on that thread with the same tokenizer and shape (see ALLOCATION
/// above).
///
/// Pointers: `tok` is NULL or a live handle; each array is NULL or valid for the entries
/// stated above.
#[no_mangle]
pub unsafe extern "C" fn actok_encode_f32(
    tok: *const actok_tokenizer,
    actions: *const f32,
    batch: usize,
    horizon: usize,
    dim: usize,
    on_overflow: c_int,
    ids: *mut i32,
    ids_stride: usize,
    lengths: *mut usize,
) -> c_int {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        encode(
            tok,
            actions,
            [batch, horizon, dim],
            on_overflow,
            ids,
            ids_stride,
            lengths,
        )
    }
}

/// `actok_encode_f32` for `double` actions.
///
/// Same arguments, errors, thread safety and allocation.
///
/// Pointers: as `actok_encode_f32`.
#[no_mangle]
pub unsafe extern "C" fn actok_encode_f64(
    tok: *const actok_tokenizer,
    actions: *const f64,
    batch: usize,
    horizon: usize,
    dim: usize,
    on_overflow: c_int,
    ids: *mut i32,
    ids_stride: usize,
    lengths: *mut usize,
) -> c_int {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        encode(
            tok,
            actions,
            [batch, horizon, dim],
            on_overflow,
            ids,
            ids_stride,
            lengths,
        )
    }
}

/// Decodes `batch` id sequences to `float` actions (row-major `(batch, horizon, dim)`), as
/// Python's `FastTokenizer.decode` with `time_horizon=horizon, action_dim=dim`.
///
/// Sequence b is the `lengths[b]` ids at `ids + b * ids_stride` (`lengths[b] <= ids_stride`).
/// `ids` holds `batch * ids_stride` entries, `lengths` `batch`, `actions` `batch * horizon *
/// dim`, and `valid`, which may be NULL, `batch`: `valid[b]` is set to 1 when sequence b
/// decoded without repair, else 0. `on_error` is `ACTOK_DECODE_RAISE`, `ACTOK_DECODE_PAD` or
/// `ACTOK_DECODE_ZEROS`. Decoding computes in `double`, rounded once to `float`.
///
/// Errors: `ACTOK_ERROR_ARGUMENT` (a NULL pointer other than `valid`, `horizon` or `dim` 0, a
/// shape whose size overflows, a bad `on_error`, `lengths[b] > ids_stride`, a `dim` other than
/// the normalizer's), `ACTOK_ERROR_DECODE` (under `ACTOK_DECODE_RAISE`: the first sequence with
/// an unknown id, bytes that are not UTF-8, or another number of coefficients than `horizon *
/// dim`, naming it and the position). On failure `actions` and `valid` hold unspecified values.
/// Thread-safe. Allocation: for a batch run on the calling thread, none after the first call on
/// that thread with the same tokenizer, shape and `ids_stride` (see ALLOCATION above).
///
/// Pointers: `tok` is NULL or a live handle; each array is NULL or valid for the entries
/// stated above.
#[no_mangle]
pub unsafe extern "C" fn actok_decode_f32(
    tok: *const actok_tokenizer,
    ids: *const i32,
    ids_stride: usize,
    lengths: *const usize,
    batch: usize,
    horizon: usize,
    dim: usize,
    on_error: c_int,
    actions: *mut f32,
    valid: *mut u8,
) -> c_int {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        decode(
            tok,
            ids,
            ids_stride,
            lengths,
            [batch, horizon, dim],
            on_error,
            actions,
            valid,
        )
    }
}

/// `actok_decode_f32` for `double` actions (no rounding after the computation).
///
/// Same arguments, errors, thread safety and allocation.
///
/// Pointers: as `actok_decode_f32`.
#[no_mangle]
pub unsafe extern "C" fn actok_decode_f64(
    tok: *const actok_tokenizer,
    ids: *const i32,
    ids_stride: usize,
    lengths: *const usize,
    batch: usize,
    horizon: usize,
    dim: usize,
    on_error: c_int,
    actions: *mut f64,
    valid: *mut u8,
) -> c_int {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        decode(
            tok,
            ids,
            ids_stride,
            lengths,
            [batch, horizon, dim],
            on_error,
            actions,
            valid,
        )
    }
}

/// The tokenizer behind a handle, or an argument error for NULL.
///
/// Pointers: `tok` is NULL or a live handle.
unsafe fn handle<'a>(tok: *const actok_tokenizer) -> Result<&'a FastTokenizer, Failure> {
    // SAFETY: the caller promises a live handle or NULL.
    match unsafe { tok.as_ref() } {
        Some(tok) => Ok(&tok.inner),
        None => Err(argument("tok is NULL")),
    }
}

/// `on_overflow` (with its flag) as the core's options.
fn encode_options(on_overflow: c_int) -> Result<EncodeOptions, Failure> {
    let overflow = match on_overflow & !ACTOK_ENCODE_ANY_SHAPE {
        ACTOK_OVERFLOW_RAISE => Overflow::Raise,
        ACTOK_OVERFLOW_CLIP => Overflow::Clip,
        _ => {
            return Err(argument(format!(
                "on_overflow = {on_overflow} is not ACTOK_OVERFLOW_RAISE (0) or \
                 ACTOK_OVERFLOW_CLIP (1), optionally or-ed with ACTOK_ENCODE_ANY_SHAPE (256)"
            )))
        }
    };
    Ok(EncodeOptions {
        overflow,
        check_shape: on_overflow & ACTOK_ENCODE_ANY_SHAPE == 0,
    })
}

/// `on_error` as the core's policy.
fn decode_policy(on_error: c_int) -> Result<OnDecodeError, Failure> {
    match on_error {
        ACTOK_DECODE_RAISE => Ok(OnDecodeError::Raise),
        ACTOK_DECODE_PAD => Ok(OnDecodeError::Pad),
        ACTOK_DECODE_ZEROS => Ok(OnDecodeError::Zeros),
        _ => Err(argument(format!(
            "on_error = {on_error} is not ACTOK_DECODE_RAISE (0), ACTOK_DECODE_PAD (1) or \
             ACTOK_DECODE_ZEROS (2)"
        ))),
    }
}

/// `batch × horizon × dim` (or `batch × stride`), or an argument error naming the overflow.
fn product(factors: &[usize], what: &str) -> Result<usize, Failure> {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| argument(format!("{what} overflows size_t: {factors:?}")))
}

/// `actok_encode_*`: converts, then [`FastTokenizer::encode_into`].
///
/// Pointers: as `actok_encode_f32`.
#[allow(clippy::too_many_arguments)]
unsafe fn encode<T: Sample>(
    tok: *const actok_tokenizer,
    actions: *const T,
    shape: [usize; 3],
    on_overflow: c_int,
    ids: *mut i32,
    ids_stride: usize,
    lengths: *mut usize,
) -> c_int {
    guard(|| {
        let [batch, ..] = shape;
        // SAFETY (all three): the caller promises live pointers valid for these lengths.
        let tok = unsafe { handle(tok)? };
        let options = encode_options(on_overflow)?;
        let actions = unsafe {
            slice(
                actions,
                product(&shape, "batch × horizon × dim")?,
                "actions",
            )?
        };
        let ids = unsafe {
            slice_mut(
                ids.cast::<actok::TokenId>(),
                product(&[batch, ids_stride], "batch × ids_stride")?,
                "ids",
            )?
        };
        let lengths = unsafe { slice_mut(lengths, batch, "lengths")? };
        let clipped = tok.encode_into(actions, shape, options, ids, ids_stride, lengths)?;
        guard::set_clip_count(clipped);
        Ok(())
    })
}

/// `actok_decode_*`: converts, then [`FastTokenizer::decode_into`].
///
/// Pointers: as `actok_decode_f32`.
#[allow(clippy::too_many_arguments)]
unsafe fn decode<T: Sample>(
    tok: *const actok_tokenizer,
    ids: *const i32,
    ids_stride: usize,
    lengths: *const usize,
    shape: [usize; 3],
    on_error: c_int,
    actions: *mut T,
    valid: *mut u8,
) -> c_int {
    guard(|| {
        let [batch, horizon, dim] = shape;
        // SAFETY (all): the caller promises live pointers valid for these lengths.
        let tok = unsafe { handle(tok)? };
        let on_error = decode_policy(on_error)?;
        let ids = unsafe {
            slice(
                ids,
                product(&[batch, ids_stride], "batch × ids_stride")?,
                "ids",
            )?
        };
        let lengths = unsafe { slice(lengths, batch, "lengths")? };
        let actions = unsafe {
            slice_mut(
                actions,
                product(&shape, "batch × horizon × dim")?,
                "actions",
            )?
        };
        let valid = if valid.is_null() {
            None
        } else {
            // Zeroed first, so the bytes are valid `bool`s before a `&mut [bool]` covers them.
            unsafe { valid.write_bytes(0, batch) };
            Some(unsafe { slice_mut(valid.cast::<bool>(), batch, "valid")? })
        };
        tok.decode_into(
            ids, ids_stride, lengths, horizon, dim, on_error, actions, valid,
        )?;
        Ok(())
    })
}
