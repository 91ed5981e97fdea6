//! Giving freed heap memory back to the operating system.
//!
//! glibc's allocator keeps memory freed in the middle of its heaps (and in the per-thread arenas
//! worker threads allocate from) mapped, and reuses it only for requests that fit the holes. A
//! fit frees large structures while it builds others of a different shape (a block's words
//! replaced by their merged symbols, a narrow block by a wide one), so without this the freed
//! holes stay in the process's resident memory and add to its peak.

/// Asks the C allocator to return the free pages of all its heaps to the operating system
/// (`malloc_trim(0)`; nothing on other C libraries). It changes nothing but resident memory.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: glibc's malloc_trim takes the arena locks itself, may be called from any thread
        // at any time, and only releases pages no allocation holds.
        unsafe {
            malloc_trim(0);
        }
    }
}
