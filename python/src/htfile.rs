//! `HtpasswdFile` and `HtdigestFile`: Apache credential files, read by the core
//! (`authgate::htfile`) and read again when they change on disk.

use std::path::PathBuf;
use std::sync::Arc;

use authgate::credential::check_basic;
use authgate::htfile::{self, FileError, FileErrorKind, Policy};
use authgate::{Charset, CredentialStore, Purpose, StoredCredential};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

use crate::errors::AuthgateError;

const HTFILE_ERROR_DOC: &str = "A damaged line of an htpasswd or htdigest file: an AuthgateError and a ValueError \
     (what it raised before). args = (message, code, line): code is the core's stable name of the refusal \
     ('LineTooLong', 'InvalidHa1', 'Plaintext', 'CostTooHigh', ...), line counts from 1.";

static HTFILE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `HtfileError(AuthgateError, ValueError)`, made once (`create_exception!` takes one base).
fn htfile_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    let ty = HTFILE_ERROR.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", "authgate._authgate")?;
        namespace.set_item("__doc__", HTFILE_ERROR_DOC)?;
        let bases = (py.get_type::<AuthgateError>(), py.get_type::<PyValueError>());
        let ty = py.get_type::<PyType>().call1(("HtfileError", bases, namespace))?;
        Ok(ty.cast_into::<PyType>()?.unbind())
    })?;
    Ok(ty.bind(py))
}

/// A damaged line is an `HtfileError` (an `AuthgateError` and a `ValueError`) naming the file
/// and the line, with the core's name of the refusal (its error table); an unreadable file an
/// `OSError` (`FileNotFoundError`, `PermissionError`, ... as Python's `open` raises them).
fn py_err(e: FileError) -> PyErr {
    use pyo3::exceptions::{PyFileNotFoundError, PyIsADirectoryError, PyPermissionError};
    let msg = e.to_string();
    match e.kind {
        FileErrorKind::Line(l) => Python::attach(|py| match htfile_error(py) {
            Ok(ty) => PyErr::from_type(ty.clone(), (msg, l.kind.name(), l.line)),
            Err(e) => e,
        }),
        FileErrorKind::Io(std::io::ErrorKind::NotFound, _) => PyFileNotFoundError::new_err(msg),
        FileErrorKind::Io(std::io::ErrorKind::PermissionDenied, _) => PyPermissionError::new_err(msg),
        FileErrorKind::Io(std::io::ErrorKind::IsADirectory, _) => PyIsADirectoryError::new_err(msg),
        FileErrorKind::Io(..) => PyOSError::new_err(msg),
    }
}

/// An htpasswd file (every format Apache's `htpasswd` writes), usable directly as
/// Flask-HTTPAuth's ``verify_password`` callback::
///
///     users = HtpasswdFile("/etc/app/htpasswd")
///     auth.verify_password(users.verify)
#[pyclass(frozen, module = "authgate._authgate")]
pub struct HtpasswdFile {
    pub(crate) file: Arc<htfile::HtpasswdFile>,
}

#[pymethods]
impl HtpasswdFile {
    #[new]
    #[pyo3(signature = (path, *, max_bcrypt_cost = Policy::DEFAULT.max_bcrypt_cost, max_sha_crypt_rounds = Policy::DEFAULT.max_sha_crypt_rounds, allow_plaintext = false))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        max_bcrypt_cost: u32,
        max_sha_crypt_rounds: u32,
        allow_plaintext: bool,
    ) -> PyResult<Self> {
        let policy = Policy { max_bcrypt_cost, max_sha_crypt_rounds, allow_plaintext };
        let file = py.detach(|| htfile::HtpasswdFile::open(path, policy)).map_err(py_err)?;
        Ok(HtpasswdFile { file: Arc::new(file) })
    }

    /// Whether `password` is `username`'s (constant time; an unknown user costs what the
    /// file's costliest line costs). Reads the file again if it changed; a file damaged
    /// since raises ``ValueError`` naming the line. The GIL is released while hashing.
    fn verify(&self, py: Python<'_>, username: &str, password: &str) -> PyResult<bool> {
        // Flask-HTTPAuth calls back with "" and "" when a request has no credentials: no
        // line can name the empty user, so nothing is there to hide.
        if username.is_empty() {
            return Ok(false);
        }
        let file = self.file.clone();
        py.detach(move || {
            let current = file.current()?;
            Ok(check_basic(&*current, username, "", password.as_bytes(), Charset::Utf8).is_ok())
        })
        .map_err(py_err)
    }

    /// The user names, in file order (each once: the first line naming a user wins).
    fn users(&self) -> PyResult<Vec<String>> {
        let current = self.file.current().map_err(py_err)?;
        let mut users: Vec<String> = Vec::new();
        for e in current.entries() {
            if !users.iter().any(|u| u == e.user) {
                users.push(e.user.to_owned());
            }
        }
        Ok(users)
    }

    fn __contains__(&self, username: &str) -> PyResult<bool> {
        Ok(self.file.current().map_err(py_err)?.get(username).is_some())
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.users()?.len())
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.file.path().to_path_buf()
    }

    fn __repr__(&self) -> String {
        format!("HtpasswdFile({:?})", self.file.path())
    }
}

/// An htdigest file (``user:realm:HA1`` lines, as Apache's ``htdigest`` writes them),
/// usable directly as Flask-HTTPAuth's ``get_password`` callback with
/// ``HTTPDigestAuth(use_ha1_pw=True)`` (offer MD5: the HA1s are MD5)::
///
///     users = HtdigestFile("/etc/app/htdigest", realm="home")
///     auth.get_password(users.ha1)
#[pyclass(frozen, module = "authgate._authgate")]
pub struct HtdigestFile {
    pub(crate) file: Arc<htfile::HtdigestFile>,
    realm: Option<String>,
}

impl HtdigestFile {
    /// `realm`, else the one given at construction, else the file's only realm.
    fn realm_for(&self, current: &htfile::Htdigest<Vec<u8>>, realm: Option<String>) -> PyResult<String> {
        if let Some(r) = realm.or_else(|| self.realm.clone()) {
            return Ok(r);
        }
        match current.single_realm() {
            Some(r) => Ok(r.to_owned()),
            None if current.is_empty() => Ok(String::new()),
            None => Err(PyValueError::new_err(format!(
                "{}: the file has several realms: pass realm=",
                self.file.path().display()
            ))),
        }
    }
}

#[pymethods]
impl HtdigestFile {
    #[new]
    #[pyo3(signature = (path, realm = None))]
    fn new(py: Python<'_>, path: PathBuf, realm: Option<String>) -> PyResult<Self> {
        let file = py.detach(|| htfile::HtdigestFile::open(path, ())).map_err(py_err)?;
        Ok(HtdigestFile { file: Arc::new(file), realm })
    }

    /// The HA1 (lower-case hex) of `username` in `realm` (default: the realm given to the
    /// constructor, else the file's only realm), or None.
    #[pyo3(signature = (username, realm = None))]
    fn ha1(&self, username: &str, realm: Option<String>) -> PyResult<Option<String>> {
        let current = self.file.current().map_err(py_err)?;
        let realm = self.realm_for(&current, realm)?;
        Ok(current.ha1(username, &realm).map(|h| h.to_hex().as_str().to_owned()))
    }

    /// Whether `password` is `username`'s in `realm` (Basic against the HA1, constant time).
    #[pyo3(signature = (username, password, realm = None))]
    fn verify(&self, username: &str, password: &str, realm: Option<String>) -> PyResult<bool> {
        let current = self.file.current().map_err(py_err)?;
        let realm = self.realm_for(&current, realm)?;
        Ok(!username.is_empty() && check_basic(&*current, username, &realm, password.as_bytes(), Charset::Utf8).is_ok())
    }

    /// `(username, realm)` of every line, in file order.
    fn users(&self) -> PyResult<Vec<(String, String)>> {
        let current = self.file.current().map_err(py_err)?;
        Ok(current.users().map(|(_, u, r)| (u.to_owned(), r.to_owned())).collect())
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.file.current().map_err(py_err)?.len())
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.file.path().to_path_buf()
    }

    fn __repr__(&self) -> String {
        format!("HtdigestFile({:?})", self.file.path())
    }
}

/// Either file as an engine's user source (`Engine(users=...)`, `init_authgate(users=...)`).
pub(crate) enum HtStore {
    Htpasswd(Arc<htfile::HtpasswdFile>),
    Htdigest(Arc<htfile::HtdigestFile>),
}

impl HtStore {
    /// The store behind a Python `HtpasswdFile` or `HtdigestFile`, if `obj` is one.
    pub(crate) fn of(obj: &Bound<'_, PyAny>) -> Option<Self> {
        if let Ok(f) = obj.cast::<HtpasswdFile>() {
            return Some(HtStore::Htpasswd(f.get().file.clone()));
        }
        obj.cast::<HtdigestFile>().ok().map(|f| HtStore::Htdigest(f.get().file.clone()))
    }
}

impl CredentialStore for HtStore {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        match self {
            HtStore::Htpasswd(f) => f.lookup(username, realm, purpose),
            HtStore::Htdigest(f) => f.lookup(username, realm, purpose),
        }
    }
    fn decoy(&self, realm: &str) -> StoredCredential {
        match self {
            HtStore::Htpasswd(f) => f.decoy(realm),
            HtStore::Htdigest(f) => f.decoy(realm),
        }
    }
}

/// Adds the classes to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("HtfileError", htfile_error(m.py())?)?;
    m.add_class::<HtpasswdFile>()?;
    m.add_class::<HtdigestFile>()
}
