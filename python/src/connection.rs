//! The connection-bound schemes for the Python `Engine`: NTLM's handshake table, the
//! Negotiate acceptor as a Python object (`authgate.kerberos.GssapiAcceptor`), and the one
//! call that checks a request on a connection.

use std::sync::Mutex;

use authgate::{
    AcceptorStep, Connection, Context, CredentialStore, Engine as CoreEngine, HandshakeStore, HandshakeTable,
    NegotiateAcceptor, ReplayStore, Request, UserName, Verdict as CoreVerdict,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Connections tracked at once (handshakes in progress and authenticated connections);
/// about 200 bytes each.
pub(crate) const CONNECTIONS: usize = 1024;

/// Scratch per check: the largest Negotiate token read (16 KiB of base64, 12 KiB decoded)
/// and the server's token.
const SCRATCH: usize = authgate::limits::MAX_CONNECTION_HEADER_LEN + authgate::limits::MAX_SERVER_TOKEN_LEN;

/// An engine's connection state.
pub(crate) struct Connections {
    table: Box<Mutex<HandshakeTable<CONNECTIONS>>>,
    acceptor: Option<PyAcceptor>,
    bind_negotiate: bool,
}

impl Connections {
    pub(crate) fn new(acceptor: Option<&Bound<'_, PyAny>>, bind_negotiate: bool) -> PyResult<Connections> {
        let acceptor = match acceptor {
            Some(a) if !a.is_none() => {
                if !a.hasattr("step")? {
                    return Err(PyTypeError::new_err(
                        "an acceptor needs step(connection, token) -> (state, output, principal)",
                    ));
                }
                Some(PyAcceptor { obj: a.clone().unbind(), error: Mutex::new(None) })
            }
            _ => None,
        };
        Ok(Connections { table: Box::new(Mutex::new(HandshakeTable::new())), acceptor, bind_negotiate })
    }

    /// Checks a request on `connection`: the verdict, the token for the client rendered as a
    /// `WWW-Authenticate` value, and an error the acceptor raised (re-raised by the caller).
    pub(crate) fn check<S: CredentialStore, R: ReplayStore>(
        &self,
        engine: &CoreEngine<S, R>,
        req: &Request<'_>,
        ctx: Context,
        connection: u64,
    ) -> (CoreVerdict, Option<String>, Option<PyErr>) {
        let mut scratch = vec![0u8; SCRATCH];
        let mut conn =
            Connection::new(connection, &mut scratch).handshakes(&*self.table).bind_negotiate(self.bind_negotiate);
        if let Some(a) = &self.acceptor {
            conn = conn.acceptor(a);
        }
        let verdict = engine.check_connection(req, ctx, &mut conn);
        let token = conn.token().map(|t| crate::convert::render(|b| t.write(b)));
        let error = self.acceptor.as_ref().and_then(|a| a.error.lock().ok()?.take());
        (verdict, token, error)
    }

    /// The connection closed: its handshake, authentication and acceptor context go.
    pub(crate) fn closed(&self, connection: u64) {
        self.table.forget(connection);
        if let Some(a) = &self.acceptor {
            a.forget(connection);
        }
    }

    /// Connections tracked.
    pub(crate) fn len(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or(0)
    }
}

/// A Python Negotiate acceptor: `step(connection, token) -> (state, output, principal)`
/// with state "continue", "complete" or "refused", and optionally `forget(connection)`.
struct PyAcceptor {
    obj: Py<PyAny>,
    error: Mutex<Option<PyErr>>,
}

impl NegotiateAcceptor for PyAcceptor {
    fn step(&self, connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep {
        Python::attach(|py| {
            let r = self
                .obj
                .bind(py)
                .call_method1("step", (connection, PyBytes::new(py, token)))
                .and_then(|v| v.extract::<(String, Option<Vec<u8>>, Option<String>)>());
            let (state, out, principal) = match r {
                Ok(t) => t,
                Err(e) => {
                    // Refused, and the error is re-raised after the check: never a 200.
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return AcceptorStep::Refused;
                }
            };
            let out = out.unwrap_or_default();
            let Some(dst) = output.get_mut(..out.len()) else { return AcceptorStep::Refused };
            dst.copy_from_slice(&out);
            match (state.as_str(), principal.map(|p| UserName::try_from(p.as_str()))) {
                ("continue", _) if !out.is_empty() => AcceptorStep::Continue { output_len: out.len() },
                ("complete", Some(Ok(principal))) => AcceptorStep::Complete { principal, output_len: out.len() },
                _ => AcceptorStep::Refused,
            }
        })
    }

    fn forget(&self, connection: u64) {
        Python::attach(|py| {
            let obj = self.obj.bind(py);
            if obj.hasattr("forget").unwrap_or(false) {
                let _ = obj.call_method1("forget", (connection,));
            }
        })
    }
}

/// An NT hash from 32 hex digits or 16 bytes.
pub(crate) fn nt_hash(value: &Bound<'_, PyAny>) -> PyResult<[u8; 16]> {
    if let Ok(b) = value.extract::<Vec<u8>>() {
        if let Ok(h) = <[u8; 16]>::try_from(b.as_slice()) {
            return Ok(h);
        }
    }
    let s: String = value.extract().map_err(|_| PyTypeError::new_err("an NT hash is 32 hex digits or 16 bytes"))?;
    match authgate::StoredCredential::nt_hash_hex(s.as_bytes()) {
        Some(authgate::StoredCredential::NtHash(h)) => Ok(h),
        _ => Err(PyTypeError::new_err("an NT hash is 32 hex digits or 16 bytes")),
    }
}
