//! The home-automation device shared by the Pico W image and its Linux twin.
//!
//! * [`device`] — the state of the one output (the on-board LED, a relay stand-in).
//! * [`settings`] — build-time configuration (login, realm, hostname, whether reads are protected).
//! * [`login`] — the one login as HA1 values.
//! * [`store`] — the changed login in flash (sequential-storage), and the task that writes it.
//! * [`auth`] — the only place that talks to authgate: it turns a request's method, target and
//!   `Authorization` header into "let it in", "challenge" (401) or "malformed" (400).
//! * [`web`] — the picoserve router: page, JSON status, LED switch, password change.
//! * [`net`] — join, address, rejoin with backoff: the loop that keeps the device online.
//! * [`mdns`] — the `<hostname>.local` responder.
//! * [`textlog`] — the event log a user reads without a debug probe.
//! * [`clock`], [`sntp`] — with feature `jwt`: Unix time from a time server, for JWT expiry.
//!
//! Nothing here knows which network device or flash is underneath: the binaries supply
//! embassy-net over cyw43 (Pico W, Pico 2 W) or a TAP device (Linux), a [`net::Link`], and a
//! NorFlash for the store.
#![no_std]

#[macro_use]
mod fmt;

pub mod auth;
#[cfg(feature = "jwt")]
pub mod clock;
pub mod device;
pub mod login;
pub mod mdns;
pub mod net;
pub mod settings;
#[cfg(feature = "jwt")]
pub mod sntp;
pub mod store;
pub mod textlog;
pub mod web;
