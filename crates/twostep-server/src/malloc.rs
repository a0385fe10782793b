//! glibc's allocator, bounded (bench/RESULTS.md, "Memory"). Elsewhere these do nothing.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;
    unsafe extern "C" {
        /// `mallopt(3)`.
        pub fn mallopt(param: c_int, value: c_int) -> c_int;
        /// `malloc_trim(3)`.
        pub fn malloc_trim(pad: usize) -> c_int;
    }
    pub const M_MMAP_THRESHOLD: c_int = -3;
    pub const M_ARENA_MAX: c_int = -8;
}

/// Bounds the allocator; called by `main` before any thread starts. Peak RSS under the
/// sign-in load moved between 60 and 125 MiB from run to run before.
///
/// - At most two arenas: every thread that allocates otherwise gets an arena of its own
///   (up to 8 per core), and the blocking threads that come and go with sign-ins, each
///   keeping the memory it freed, made the peak depend on how many of them one run used.
/// - A fixed mmap threshold (1 MiB): glibc otherwise raises it to the size of the largest
///   block freed so far, after which such blocks (argon2's 19 MiB of working memory when
///   hashing a new password) come from an arena and stay resident once freed.
///
/// `MALLOC_ARENA_MAX` and the like in the environment still take precedence for whoever
/// wants other values.
pub fn bound() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tuned = |var: &str| std::env::var_os(var).is_some();
        // SAFETY: mallopt only changes the allocator's parameters; it is called before the
        // runtime starts any thread.
        unsafe {
            if !tuned("MALLOC_ARENA_MAX") {
                glibc::mallopt(glibc::M_ARENA_MAX, 2);
            }
            if !tuned("MALLOC_MMAP_THRESHOLD_") {
                glibc::mallopt(glibc::M_MMAP_THRESHOLD, 1 << 20);
            }
        }
    }
}

/// Gives the pages of memory freed so far back to the system, before a job that needs a
/// lot of memory of its own (argon2id's 19 MiB). Memory freed by a burst of connections
/// (a few hundred at once leave several MiB free in the arenas) otherwise stays resident
/// and sits under every later peak: with it given back, the peak of a sign-in load is
/// what the service holds plus the hashes running, not plus what the last burst left.
/// Measured under the benchmark's loads: 0.15 ms median, 0.6 ms p99, against a 25 ms hash
/// (bench/RESULTS.md).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes each arena's lock; any thread may call it at any time.
    unsafe {
        glibc::malloc_trim(0);
    }
}
