//! `twostep`: the server and the operator's command line.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use clap::Parser;
use std::process::ExitCode;
use twostep_server::{cli, commands};

fn main() -> ExitCode {
    bound_malloc();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<commands::AlreadyReported>() => ExitCode::FAILURE,
        Err(e) => {
            // One line, naming the problem; never a backtrace.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// glibc's allocator, bounded (bench/RESULTS.md, "Memory"): peak RSS under the sign-in load
/// moved between 60 and 125 MiB from run to run.
///
/// - At most two arenas: every thread that allocates otherwise gets an arena of its own
///   (up to 8 per core), and the blocking threads that come and go with sign-ins, each
///   keeping the memory it freed, made the peak depend on how many of them one run used.
/// - A fixed mmap threshold (1 MiB): glibc otherwise raises it to the size of the largest
///   block freed so far, after which such blocks (argon2's 19 MiB of working memory when
///   hashing a new password) come from an arena and stay resident once freed.
///
/// Set before any thread starts; `MALLOC_ARENA_MAX` and the like in the environment still
/// take precedence for whoever wants other values.
fn bound_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::raw::c_int;
        unsafe extern "C" {
            /// glibc's `mallopt(3)`.
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        const M_MMAP_THRESHOLD: c_int = -3;
        const M_ARENA_MAX: c_int = -8;
        let tuned = |var: &str| std::env::var_os(var).is_some();
        // SAFETY: mallopt only changes the allocator's parameters; it is called before the
        // runtime starts any thread.
        unsafe {
            if !tuned("MALLOC_ARENA_MAX") {
                mallopt(M_ARENA_MAX, 2);
            }
            if !tuned("MALLOC_MMAP_THRESHOLD_") {
                mallopt(M_MMAP_THRESHOLD, 1 << 20);
            }
        }
    }
}
