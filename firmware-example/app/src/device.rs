//! The device's one output: the on-board LED, standing in for a relay.
//!
//! Handlers flip the state here and raise a signal; the board-specific side (the cyw43 GPIO on
//! the Pico W, a log line on Linux) waits for the signal and drives the real pin. That keeps
//! the router free of any hardware type.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;

pub struct Device {
    led: AtomicBool,
    switches: AtomicU32,
    changed: Signal<CriticalSectionRawMutex, bool>,
}

impl Device {
    pub const fn new() -> Self {
        Self { led: AtomicBool::new(false), switches: AtomicU32::new(0), changed: Signal::new() }
    }

    pub fn led(&self) -> bool {
        self.led.load(Ordering::Relaxed)
    }

    /// How many times the LED was switched since boot.
    pub fn switches(&self) -> u32 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Set the LED (only the web handlers call this, after authgate let the request in).
    pub fn set_led(&self, on: bool) {
        self.led.store(on, Ordering::Relaxed);
        // thumbv6m has no atomic read-modify-write; handlers run on one executor, so load+store
        // cannot interleave with another handler's.
        self.switches.store(self.switches().wrapping_add(1), Ordering::Relaxed);
        self.changed.signal(on);
    }

    /// Wait until a handler switched the LED; returns the new state.
    pub async fn wait_for_switch(&self) -> bool {
        self.changed.wait().await
    }
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}
