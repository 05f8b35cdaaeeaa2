//! The speed and size forms of the few hot spots, behind one small interface.
//!
//! Everything else in the crate is written once. What differs between a 64-bit server and a
//! Cortex-M0+ lives here, in two forms with the same functions:
//!
//! - [`word`] (the default): a word at a time, unrolled, inlined, for servers. Quoted
//!   strings are skipped eight bytes per step, directive names and scheme words are
//!   recognized from one word, hash input is gathered into a block buffer that feeds the
//!   block function directly, hex of hash values is vector arithmetic, the nonce MAC keeps
//!   its keyed states.
//! - [`portable`]: a byte at a time, out of line, for microcontrollers, where flash and stack
//!   are what count. Selected with `--cfg authgate_backend="compact"` (in the firmware's
//!   `.cargo/config.toml`, as sha2's `sha2_backend_soft` is chosen), and only there.
//!
//! The forms agree on every input: the tests build both on the host and compare them, and
//! `make core-test` runs the whole suite once with each.
//!
//! Where a function elsewhere is inlined for speed or kept out of line for flash, it says
//! so with `cfg_attr(authgate_backend = "compact", ...)`: a hint, never a second form.

// Both forms are built for the tests, which compare them.
#[cfg(any(test, authgate_backend = "compact"))]
#[cfg_attr(all(test, not(authgate_backend = "compact")), allow(dead_code))]
pub(crate) mod portable;
#[cfg(any(test, not(authgate_backend = "compact")))]
#[cfg_attr(all(test, authgate_backend = "compact"), allow(dead_code))]
pub(crate) mod word;

#[cfg(authgate_backend = "compact")]
pub(crate) use portable::*;
#[cfg(not(authgate_backend = "compact"))]
pub(crate) use word::*;
