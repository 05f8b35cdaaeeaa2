//! # authgate
//!
//! An allocation-free, sans-IO HTTP authentication engine: Basic (RFC 7617), Digest
//! (RFC 7616: MD5, SHA-256, SHA-512/256, `-sess`, `auth-int`, `userhash`) and Bearer
//! (RFC 6750), with stateless keyed nonces and replay protection.
//!
//! The crate owns no clock, RNG or socket: the caller passes the time and 8 random bytes
//! per request ([`Context`]), the header value, and gets a [`Verdict`] back.
//!
//! ```
//! use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
//! use core::cell::RefCell;
//!
//! let users = StaticUsers::new(&[("Mufasa", "Circle Of Life")]);
//! let replay = RefCell::new(ReplayTable::<64>::new());
//! let engine = Engine::new(Config::new("testrealm@host.com").unwrap(), &[7; 32], users, &replay).unwrap();
//!
//! let ctx = Context { now: 1_700_000_000, salt: [1; 8] };
//! let req = Request::new("GET", "/", Some(b"Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl"));
//! match engine.check(&req, ctx) {
//!     Verdict::Authenticated(a) => assert_eq!(a.user, "Mufasa"),
//!     other => panic!("{other:?}"),
//! }
//!
//! // Without credentials: 401 with one WWW-Authenticate value per offered challenge.
//! let Verdict::Challenge(ch) = engine.check(&Request::new("GET", "/", None), ctx) else { panic!() };
//! let mut buf = [0u8; 256];
//! let n = engine.write_challenge(&ch, 0, &mut buf).unwrap();
//! assert!(buf[..n].starts_with(b"Digest realm=\"testrealm@host.com\", qop=\"auth\", algorithm=SHA-256"));
//! ```
//!
//! Cargo features drop what a device does not need: the hash families (`md5`, `sha256`,
//! `sha512-256`), the schemes (`basic`, `bearer`), `pbkdf2`, and the optional RFC 7616 extras
//! `userhash`, `username-star`, `auth-int` and `rfc2069`, and `app-hooks` for web-framework
//! layers ([`app`]) (all on by default). A well-formed
//! request using an extra that is compiled out is answered 401 (the syntax rules that make a
//! 400 stay the same in every build, except that a build without `username-star` does not
//! read the `username*` ext-value at all), never a panic.
//!
//! `jwt` adds JWT bearer tokens (HS256/384/512) verified without allocation, `jwt-es256`
//! and `jwt-eddsa` ES256 and EdDSA, `jwt-std` (std layers) RSA, JWKS and PEM keys: see [`jwt`].
//!
//! [`Engine::check_origin`] refuses cross-site requests that would ride on a browser's
//! cached credentials (CSRF) and foreign `Host` names (DNS rebinding): see [`origin`].
//!
//! A build for a microcontroller sets `--cfg authgate_backend="compact"` (in its
//! `.cargo/config.toml`, beside sha2's `sha2_backend_soft="compact"`): the few hot spots then
//! take their byte-at-a-time, out-of-line forms, the smaller code and stack (`src/accel/`).
//! Without it they take their word-at-a-time forms, the faster code. Both behave the same.
//!
//! Lower layers are public too: [`parse`] (zero-copy `Authorization` parsing),
//! [`BasicCredentials`], [`DigestCredentials`] with [`digest::response`], [`nonce`],
//! [`ReplayTable`] and the [`render`] functions.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

mod accel;
pub mod app;
pub mod basic;
#[cfg(any(feature = "ntlm", feature = "negotiate"))]
mod connection;
pub mod credential;
pub mod digest;
pub mod digest_check;
mod engine;
mod error;
pub mod hash;
pub mod htfile;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod limits;
#[cfg(feature = "negotiate")]
pub mod negotiate;
pub mod nonce;
#[cfg(feature = "ntlm")]
pub mod ntlm;
pub mod origin;
mod parse;
pub mod render;
pub mod replay;

#[cfg(feature = "app-hooks")]
pub use app::{ChallengeStyle, TokenSyntax};
pub use basic::{BasicCredentials, Charset};
#[cfg(any(feature = "ntlm", feature = "negotiate"))]
pub use connection::{Connection, HandshakeStore, HandshakeTable, ServerToken};
pub use credential::{CredentialStore, Purpose, StaticUsers, StoredCredential, UserName};
pub use digest::{Algorithm, DigestCredentials, Qop};
pub use engine::{
    body_hash_algorithm, Authenticated, Body, Challenge, Config, Context, Engine, Request, Scheme, Verdict,
};
pub use error::{BufferTooSmall, ConfigError, OriginRefusal, ParseError, Reason};
pub use hash::{HashAlgorithm, HashOutput};
pub use htfile::{Htdigest, Htpasswd};
#[cfg(feature = "negotiate")]
pub use negotiate::{AcceptorStep, NegotiateAcceptor};
pub use nonce::{Nonce, NonceKey, NonceSequence, NonceStatus};
pub use origin::{OriginHeaders, OriginPolicy, Provenance};
pub use parse::{parse, Authorization, Credentials, Param, ParamIter, Params, Segments, Value};
pub use render::{AuthInfo, BearerError, QopSet};
pub use replay::{ReplayOutcome, ReplayStore, ReplayTable};
