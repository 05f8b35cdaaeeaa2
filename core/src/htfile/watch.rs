//! htpasswd and htdigest files on disk, read again when they change (std only): what the
//! C and Python front-ends serve, so that both reload the same way.

use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use std::vec::Vec;

use super::{Htdigest, Htpasswd, LineError, Policy};
use crate::credential::{CredentialStore, Purpose, StoredCredential};

/// A file kind [`Watched`] can read.
pub trait ParseFile: Sized {
    /// What reading takes besides the text ([`Policy`] for htpasswd).
    type Options: Clone;
    /// Reads the whole text.
    fn parse_file(text: Vec<u8>, options: &Self::Options) -> Result<Self, LineError>;
}

impl ParseFile for Htpasswd<Vec<u8>> {
    type Options = Policy;
    fn parse_file(text: Vec<u8>, options: &Policy) -> Result<Self, LineError> {
        Htpasswd::parse(text, *options)
    }
}

impl ParseFile for Htdigest<Vec<u8>> {
    type Options = ();
    fn parse_file(text: Vec<u8>, _: &()) -> Result<Self, LineError> {
        Htdigest::parse(text)
    }
}

/// Why a file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileErrorKind {
    /// It cannot be read (missing, no permission, ...): the OS error's kind and text.
    Io(std::io::ErrorKind, String),
    /// A line is refused.
    Line(LineError),
}

/// A file that cannot be used, with its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub kind: FileErrorKind,
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.kind {
            FileErrorKind::Io(_, e) => write!(f, "{}: {e}", self.path.display()),
            FileErrorKind::Line(e) => write!(f, "{}: {e}", self.path.display()),
        }
    }
}

impl std::error::Error for FileError {}

/// What tells a changed file: length, modification time and (on Unix) device and inode,
/// so that an editor's rename into place is seen as well as an in-place rewrite.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        inode: {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        },
    })
}

struct State<S> {
    stamp: Option<Stamp>,
    loaded: Result<Arc<S>, FileError>,
}

/// A credential file on disk, read again whenever it changed (checked on every use, as
/// Apache reads its file on every request). A file that becomes unreadable or damaged
/// fails closed: every lookup then finds no user, and [`Watched::current`] says why,
/// until the file is mended.
pub struct Watched<S: ParseFile> {
    path: PathBuf,
    options: S::Options,
    state: Mutex<State<S>>,
}

/// An htpasswd file on disk.
pub type HtpasswdFile = Watched<Htpasswd<Vec<u8>>>;
/// An htdigest file on disk.
pub type HtdigestFile = Watched<Htdigest<Vec<u8>>>;

impl<S: ParseFile> Watched<S> {
    /// Reads the file; it must be readable and every line valid.
    pub fn open(path: impl Into<PathBuf>, options: S::Options) -> Result<Self, FileError> {
        let path = path.into();
        let (stamp, loaded) = Self::load(&path, &options);
        let loaded = Ok(loaded?);
        Ok(Watched { path, options, state: Mutex::new(State { stamp, loaded }) })
    }

    fn load(path: &Path, options: &S::Options) -> (Option<Stamp>, Result<Arc<S>, FileError>) {
        let io = |e: std::io::Error| FileError {
            path: path.to_path_buf(),
            kind: FileErrorKind::Io(e.kind(), e.to_string()),
        };
        // The stamp is taken before reading: a write during the read shows as a change next time.
        let stamp = match stamp(path) {
            Ok(s) => s,
            Err(e) => return (None, Err(io(e))),
        };
        let loaded = std::fs::read(path).map_err(io).and_then(|text| {
            S::parse_file(text, options)
                .map(Arc::new)
                .map_err(|e| FileError { path: path.to_path_buf(), kind: FileErrorKind::Line(e) })
        });
        (Some(stamp), loaded)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it is read with.
    pub fn options(&self) -> &S::Options {
        &self.options
    }

    /// The file as it is now: read again if it changed since the last call.
    pub fn current(&self) -> Result<Arc<S>, FileError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamp(&self.path).ok();
        if now.is_none() || now != state.stamp {
            let (stamp, loaded) = Self::load(&self.path, &self.options);
            *state = State { stamp, loaded };
        }
        state.loaded.clone()
    }
}

impl<S: ParseFile + CredentialStore> CredentialStore for Watched<S> {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        self.current().ok()?.lookup(username, realm, purpose)
    }

    fn decoy(&self, realm: &str) -> StoredCredential {
        match self.current() {
            Ok(s) => s.decoy(realm),
            Err(_) => StoredCredential::plaintext_decoy(),
        }
    }
}
