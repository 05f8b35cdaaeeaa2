//! Build-time configuration, read with `option_env!` so that a plain `cargo build` (CI) works
//! without any variable set. Every value has a demo default; see the README.
//!
//! | variable                      | default          | meaning                                    |
//! |-------------------------------|------------------|--------------------------------------------|
//! | `AUTHGATE_USER`               | `admin`          | the one user's name                        |
//! | `AUTHGATE_PASSWORD`           | `authgate-demo`  | that user's password                       |
//! | `AUTHGATE_REALM`              | `authgate-pico`  | the protection space shown by browsers     |
//! | `AUTHGATE_PROTECT_READS`      | `1`              | `0` lets anyone read `/api/status`         |
//! | `AUTHGATE_NONCE_LIFETIME_S`   | `300`            | how long a Digest nonce stays fresh        |
//!
//! Switching the LED always needs authentication, whatever these say.

/// Runtime view of the configuration (the host twin may override these from its command line;
/// the user and password are the build-time [`USER`] / [`PASSWORD`]).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub realm: &'static str,
    /// When false, `GET /api/status` is open; switching is always protected.
    pub protect_reads: bool,
    /// Lifetime of a Digest nonce in seconds; an older but authentic nonce is answered `stale=true`.
    pub nonce_lifetime_s: u32,
}

pub const DEFAULT_USER: &str = "admin";
pub const DEFAULT_PASSWORD: &str = "authgate-demo";
pub const DEFAULT_REALM: &str = "authgate-pico";

/// The one user's name and password, fixed at build time (authgate checks against these).
pub const USER: &str = or(option_env!("AUTHGATE_USER"), DEFAULT_USER);
pub const PASSWORD: &str = or(option_env!("AUTHGATE_PASSWORD"), DEFAULT_PASSWORD);

/// True when the demo password was not replaced at build time (the binaries warn about it).
pub const USING_DEMO_PASSWORD: bool = option_env!("AUTHGATE_PASSWORD").is_none();

impl Settings {
    /// The configuration baked in at build time.
    pub const fn from_build_env() -> Self {
        Self {
            realm: or(option_env!("AUTHGATE_REALM"), DEFAULT_REALM),
            protect_reads: match option_env!("AUTHGATE_PROTECT_READS") {
                Some(v) => !matches!(v.as_bytes(), b"0" | b"false" | b"no" | b"off"),
                None => true,
            },
            nonce_lifetime_s: match option_env!("AUTHGATE_NONCE_LIFETIME_S") {
                Some(v) => parse_u32(v),
                None => 300,
            },
        }
    }
}

const fn or(v: Option<&'static str>, default: &'static str) -> &'static str {
    match v {
        Some(v) if !v.is_empty() => v,
        _ => default,
    }
}

/// Decimal parse usable in a `const` (a bad value stops the build rather than the device).
pub const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "AUTHGATE_NONCE_LIFETIME_S must be a number of seconds");
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        let d = b[i];
        assert!(d.is_ascii_digit(), "AUTHGATE_NONCE_LIFETIME_S must be a number of seconds");
        n = n * 10 + (d - b'0') as u32;
        i += 1;
    }
    n
}
