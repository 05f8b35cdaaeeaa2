//! The home-automation device shared by the Pico W image and its Linux twin.
//!
//! * [`device`] — the state of the one output (the Pico W's on-board LED, a relay stand-in).
//! * [`settings`] — build-time configuration (demo user, realm, whether reads are protected).
//! * [`auth`] — the only place that talks to authgate: it turns a request's method, target and
//!   `Authorization` header into "let it in", "challenge" (401) or "malformed" (400).
//! * [`web`] — the picoserve router: page, JSON status, LED switch.
//!
//! Nothing here knows which network device carries the packets: the binaries hand the router
//! to picoserve over embassy-net (cyw43 on the Pico W, a TAP device on Linux) or tokio.
#![no_std]

#[macro_use]
mod fmt;

pub mod auth;
pub mod device;
pub mod settings;
pub mod web;
