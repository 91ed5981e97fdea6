//! C arrays as Rust slices, refusing what would make a slice invalid.

use crate::guard::{argument, Failure};

/// Why `ptr` with `len` elements of `T` cannot be a slice, if it cannot.
fn check<T>(ptr: *const T, len: usize, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(argument(format!("{name} is NULL")));
    }
    if !ptr.is_aligned() {
        return Err(argument(format!(
            "{name} is not aligned to {} bytes (the alignment of its element type)",
            std::mem::align_of::<T>()
        )));
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .map_or(true, |bytes| bytes > isize::MAX as usize)
    {
        return Err(argument(format!(
            "{name} of {len} elements is larger than memory"
        )));
    }
    Ok(())
}

/// `len` elements at `ptr`, read-only.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` elements for the returned lifetime.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    check(ptr, len, name)?;
    // SAFETY: not NULL, aligned, at most isize::MAX bytes; the caller promises the rest.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// `len` elements at `ptr`, writable.
///
/// # Safety
/// `ptr` is NULL or valid for reads and writes of `len` elements for the returned lifetime, and
/// not aliased by any other slice in use.
pub(crate) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], Failure> {
    check(ptr, len, name)?;
    // SAFETY: as in `slice`, plus exclusivity, promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}
