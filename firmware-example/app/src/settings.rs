//! Build-time configuration, read with `option_env!` so that a plain `cargo build` (CI) works
//! without any variable set. Every value has a default; see the README.
//!
//! | variable                      | default          | meaning                                    |
//! |-------------------------------|------------------|--------------------------------------------|
//! | `AUTHGATE_CREDENTIAL`         | *(demo login)*   | htdigest line(s) `user:realm:HA1`          |
//! | `AUTHGATE_USER` / `AUTHGATE_PASSWORD` | `admin` / `authgate-demo` | plaintext login, hashed at build time (warned) |
//! | `AUTHGATE_REALM`              | `authgate-pico`  | the protection space shown by browsers     |
//! | `AUTHGATE_HOSTNAME`           | `authgate-XXXXXX`| DHCP and mDNS name (from the board's unique id) |
//! | `AUTHGATE_PROTECT_READS`      | `1`              | `0` lets anyone read `/api/status`         |
//! | `AUTHGATE_NONCE_LIFETIME_S`   | `300`            | how long a Digest nonce stays fresh        |
//! | `AUTHGATE_HOSTS`              | *(none)*         | more names the device answers to (e.g. `authgate-1a2b3c.fritz.box`), space-separated; `*`: any `Host` |
//! | `AUTHGATE_ORIGINS`            | *(none)*         | other origins whose pages may switch (e.g. `https://hub.local:8443`), space-separated |
//!
//! The login, the hostname, the names and the origins are checked by `build.rs`, which writes [`build`]; the image
//! holds HA1 lines, never a password. Switching the LED always needs authentication.

/// What `build.rs` made of the login and hostname variables.
pub mod build {
    include!(concat!(env!("OUT_DIR"), "/build_settings.rs"));
}

/// Runtime view of the configuration (the host twin may override these from its command line).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub realm: &'static str,
    /// When false, `GET /api/status` is open; switching is always protected.
    pub protect_reads: bool,
    /// Lifetime of a Digest nonce in seconds; an older but authentic nonce is answered `stale=true`.
    pub nonce_lifetime_s: u32,
    /// Names the device answers to besides its hostname, `hostname.local` and its address
    /// (separated by one space); `*` turns the `Host` check off.
    pub allowed_hosts: &'static str,
    /// Origins whose pages may send unsafe requests (separated by one space); others get 403.
    pub allowed_origins: &'static str,
}

/// The one user's name, fixed at build time (a password change keeps it).
pub const USER: &str = build::USER;

/// True when the image carries the demo login (the binaries warn about it at boot).
pub const USING_DEMO_LOGIN: bool = matches!(build::SOURCE.as_bytes(), b"demo");

impl Settings {
    /// The configuration baked in at build time.
    pub const fn from_build_env() -> Self {
        Self {
            realm: build::REALM,
            protect_reads: match option_env!("AUTHGATE_PROTECT_READS") {
                Some(v) => !matches!(v.as_bytes(), b"0" | b"false" | b"no" | b"off"),
                None => true,
            },
            nonce_lifetime_s: match option_env!("AUTHGATE_NONCE_LIFETIME_S") {
                Some(v) => parse_u32(v),
                None => 300,
            },
            allowed_hosts: build::HOSTS,
            allowed_origins: build::ORIGINS,
        }
    }
}

/// The device's DHCP and mDNS name: `AUTHGATE_HOSTNAME`, or `authgate-` and the last three
/// bytes of the board's unique id in hex (so two boards on one network do not clash).
pub fn hostname(unique_id: &[u8]) -> heapless::String<63> {
    let mut name = heapless::String::new();
    match build::HOSTNAME {
        Some(h) => {
            let _ = name.push_str(h);
        }
        None => {
            let _ = name.push_str("authgate-");
            for b in &unique_id[unique_id.len().saturating_sub(3)..] {
                for nibble in [b >> 4, b & 0xf] {
                    let _ = name.push(char::from_digit(nibble.into(), 16).unwrap_or('0'));
                }
            }
        }
    }
    name
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
