//! The wall clock JWTs are checked against (feature `jwt`): Unix time, unknown until
//! [`sntp`](crate::sntp) has an answer (the boards have no battery-backed clock).
//!
//! Until then the engine is built without JWT keys, so a token is never checked against
//! uptime (which would take every `iat` for the future and no `exp` for the past). Once set,
//! the same clock also times Digest nonces: those issued before were on uptime and are
//! answered `stale=true` once, which clients retry without asking the user.

use core::cell::Cell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;

use crate::auth::Guard;

/// Unix time at boot (uptime 0), once known.
static UNIX_AT_BOOT: Mutex<CriticalSectionRawMutex, Cell<Option<u64>>> = Mutex::new(Cell::new(None));

/// Seconds since the Unix epoch, once the clock is set.
pub fn unix_now() -> Option<u64> {
    UNIX_AT_BOOT.lock(Cell::get).map(|boot| boot + embassy_time::Instant::now().as_secs())
}

/// Sets the clock to `unix` seconds (now); the first time, turns JWT on in `guard`.
pub fn set(unix: u64, source: &str, guard: &Guard) {
    let boot = unix.saturating_sub(embassy_time::Instant::now().as_secs());
    match UNIX_AT_BOOT.lock(|c| c.replace(Some(boot))) {
        None => {
            info!("clock set from {} (Unix time {}); JWT bearer tokens accepted from now on", source, unix);
            guard.enable_jwt();
        }
        Some(old) if old.abs_diff(boot) > 2 => {
            warn!("clock corrected by {} s from {}", boot as i64 - old as i64, source);
        }
        Some(_) => {}
    }
}
