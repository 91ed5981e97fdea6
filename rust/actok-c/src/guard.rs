//! Status codes, the per-thread error message, and the one place panics stop.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{
    ACTOK_ERROR_ARGUMENT, ACTOK_ERROR_DECODE, ACTOK_ERROR_ENCODE, ACTOK_ERROR_INTERNAL,
    ACTOK_ERROR_LOAD, ACTOK_OK,
};

/// A failed call: its status code and message.
#[derive(Debug)]
pub(crate) struct Failure {
    code: c_int,
    message: String,
}

/// An `ACTOK_ERROR_ARGUMENT` failure about the C call itself (pointers, flags, sizes).
pub(crate) fn argument(message: impl Into<String>) -> Failure {
    Failure {
        code: ACTOK_ERROR_ARGUMENT,
        message: message.into(),
    }
}

impl From<actok::Error> for Failure {
    /// The status code of the same meaning as the Python exception class, the message unchanged.
    fn from(err: actok::Error) -> Self {
        let code = match &err {
            actok::Error::Encode { .. } | actok::Error::OutOfRange { .. } => ACTOK_ERROR_ENCODE,
            actok::Error::Decode { .. } => ACTOK_ERROR_DECODE,
            actok::Error::Format { .. } | actok::Error::Io { .. } => ACTOK_ERROR_LOAD,
            _ => ACTOK_ERROR_ARGUMENT,
        };
        Self {
            code,
            message: err.to_string(),
        }
    }
}

thread_local! {
    /// The last failure's message, NUL-terminated (empty: none yet).
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// What the normalizer clipped in the last successful encode.
    static CLIP_COUNT: Cell<u64> = const { Cell::new(0) };
    /// Tests only: make the next guarded call panic inside its body.
    #[cfg(test)]
    pub(crate) static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Stores `message` as this thread's last error (a NUL inside becomes U+FFFD: C strings end at
/// the first one).
fn set_last_error(message: &str) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut buffer) = cell.try_borrow_mut() {
            buffer.clear();
            buffer.extend_from_slice(message.replace('\0', "\u{FFFD}").as_bytes());
            buffer.push(0);
        }
    });
}

/// `actok_last_error`.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|cell| match cell.try_borrow() {
            // The buffer is only written by a failing call on this thread, so the pointer stays
            // valid until then, as documented.
            Ok(buffer) if !buffer.is_empty() => buffer.as_ptr().cast(),
            _ => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}

/// `actok_last_clip_count`.
pub(crate) fn last_clip_count() -> u64 {
    CLIP_COUNT.try_with(Cell::get).unwrap_or(0)
}

/// Records what the last successful encode clipped.
pub(crate) fn set_clip_count(count: u64) {
    let _ = CLIP_COUNT.try_with(|cell| cell.set(count));
}

/// Runs an entry point's body: `ACTOK_OK`, or the failure's code with its message stored, or
/// `ACTOK_ERROR_INTERNAL` for a panic (caught here, never unwinding into C).
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> c_int {
    match run(body) {
        Ok(()) => ACTOK_OK,
        Err(code) => code,
    }
}

/// Runs an entry point's body that returns a value: the value, or `failed` with the failure's
/// message stored (a panic included).
pub(crate) fn guard_value<T>(failed: T, body: impl FnOnce() -> Result<T, Failure>) -> T {
    run(body).unwrap_or(failed)
}

/// The body's value, or its failure's code with the message stored as this thread's last error;
/// a panic is caught and becomes `ACTOK_ERROR_INTERNAL`.
fn run<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, c_int> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        if PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("a panic injected by a test");
        }
        body()
    }));
    let failure = match result {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            Failure {
                code: ACTOK_ERROR_INTERNAL,
                message: format!(
                    "internal error: actok panicked ({what}); the call was abandoned and the \
                     handle is still usable; please report this as a bug"
                ),
            }
        }
    };
    set_last_error(&failure.message);
    Err(failure.code)
}
