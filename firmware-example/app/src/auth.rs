//! The authgate glue: the one module of the example that talks to the authgate core.
//!
//! It owns nothing but plumbing: the engine's configuration, the nonce key (drawn from the
//! board's entropy by the binary), the clock (embassy-time) and the replay table (a static).
//! Every decision — parsing `Authorization`, checking passwords and Digest responses, nonces,
//! replay, rendering `WWW-Authenticate` / `Authentication-Info` — is the core's.

use heapless::{String, Vec};

use crate::settings::Settings;

/// Longest `WWW-Authenticate` value this device renders (one challenge).
pub const CHALLENGE_LEN: usize = 320;
/// Longest `Authentication-Info` value.
pub const INFO_LEN: usize = 256;
/// Longest user name carried out of a successful check.
pub const USER_LEN: usize = 64;

/// What the web layer should do with a request.
pub enum Decision {
    /// Authenticated: go on. `info` is the `Authentication-Info` value (Digest only).
    Allow { user: String<USER_LEN>, info: Option<String<INFO_LEN>> },
    /// 401 with these `WWW-Authenticate` values, most preferred first.
    Challenge { challenges: Vec<String<CHALLENGE_LEN>, 3> },
    /// 400: the `Authorization` header could not be understood.
    BadRequest { reason: &'static str },
}

pub struct Guard {
    settings: Settings,
    #[allow(dead_code)]
    key: [u8; 32],
}

impl Guard {
    /// `key` must be 32 bytes of fresh entropy (RoscRng on the Pico W, getrandom on Linux).
    pub fn new(settings: Settings, key: [u8; 32]) -> Self {
        Self { settings, key }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Decide on one request. `target` is the request-target as sent (path and query).
    pub fn check(&self, _method: &str, _target: &str, _authorization: Option<&[u8]>) -> Decision {
        // Bring-up placeholder until the authgate core lands: refuse everything.
        Decision::Challenge { challenges: Vec::new() }
    }
}
