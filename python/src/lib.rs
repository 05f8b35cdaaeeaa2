//! `authgate._authgate`: the Python extension over the authgate core.
//!
//! One engine ([`engine::Engine`], the core's) checks every request; this crate converts
//! values, keeps the application's users and callbacks ([`credentials`], [`htfile`]) and
//! replay stores ([`replay`], [`shared_store`]), and reads Flask's request ([`flask_ctx`]),
//! ASGI scopes ([`asgi_ctx`]) and the fields the core's origin check needs ([`origin`]);
//! [`connection`] keeps NTLM / Negotiate handshakes per TCP connection; [`jwt`] verifies JWTs.
//! Rules, limits, error codes and header shapes are the core's.

mod asgi_ctx;
mod connection;
mod convert;
mod credentials;
mod engine;
mod errors;
mod flask_ctx;
mod htfile;
mod jwt;
mod origin;
mod primitives;
mod replay;
mod shared_store;

use pyo3::prelude::*;

#[pymodule]
fn _authgate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    primitives::register(m)?;
    credentials::register(m)?;
    replay::register(m)?;
    engine::register(m)?;
    flask_ctx::register(m)?;
    asgi_ctx::register(m)?;
    htfile::register(m)?;
    jwt::register(m)?;
    Ok(())
}
