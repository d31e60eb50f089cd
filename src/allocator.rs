//! How the long-running service sets up the C allocator (glibc's malloc,
//! which Rust's default allocator calls).
//!
//! glibc gives threads that allocate at the same time arenas of their own,
//! up to eight per core, and memory freed in one arena is only reused by
//! that arena. The service's threads (the runtime's workers, sled's, the
//! writer, training) each decode and drop decisions, so freed memory piles
//! up in many arenas and the resident size stays high. Two arenas keep two
//! threads from contending for one (the machine this is tuned on has two
//! cores) while most freed memory is reused. Measured with the queue
//! benchmark on a million stored decisions, after 2,000 checks and 200
//! queue pages: 255 MiB resident with glibc's default, 234 MiB with two
//! arenas. The unary load benchmark (`--scenario check --runs 3`) answered
//! 2,982 calls/s with glibc's default and 3,337 with two arenas: not
//! slower (the difference is within this machine's drift).

/// Limits malloc to two arenas, unless the operator chose a number with
/// glibc's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`.
///
/// glibc marks `mallopt` as unsafe to call while other threads allocate:
/// call this first thing in a command, before it starts any thread (the
/// runtime, logging, sled).
pub fn use_two_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: mallopt only changes malloc's tuning, and callers call
        // this before any other thread exists (see above).
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
