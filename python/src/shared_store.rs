//! The default replay store: the core's [`ReplayTable`] in a shared-memory segment, so that
//! every process of one server (gunicorn or uwsgi workers, with or without `--preload`)
//! refuses a (nonce, nc) pair that another one accepted, with no server to run. Apache's
//! mod_auth_digest keeps its nonce counts in shared memory for the same reason.
//!
//! - **Name.** `/dev/shm/authgate-<euid>-<32 hex>`, the hex a hash of the running extension's
//!   build ID (build.rs), the table's capacity and a namespace (a fingerprint of the nonce
//!   key and realm, or the `name=` given). A worker finds the segment by name whenever it builds its engine,
//!   before or after the fork; two apps (keys, realms) never share one; and only processes
//!   running the same build map one, so they agree on the table's layout (the core's table
//!   is a plain Rust type, used here only through its methods).
//! - **Access.** Mode 0600, owned by the effective user; a file that is not is refused.
//! - **Life.** Each process using the segment holds a shared `flock` on its own descriptor.
//!   A process that finds the file unheld (new, or left by processes that all died) takes
//!   the exclusive lock, empties it and starts a new table; the last process to let go
//!   removes it; the first attach in a process removes this user's unheld segments.
//! - **Lock.** A process-shared robust pthread mutex. A process that dies holding it makes
//!   the next locker start the table again (a half-done update never counts); a lock held
//!   longer than [`LOCK_WAIT`] (a stopped process) answers stale instead of waiting.
//! - **Horizon.** A table starts as `ReplayTable::since(now)`: nonces issued before the
//!   segment's memory began are answered stale, so headers captured before a restart never
//!   become valid again.
//!
//! Without /dev/shm (or off Linux) the store is a per-process table, and says so once. The
//! segment's code is in `shared_store/segment.rs`, its tests (forked processes) beside it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use authgate::nonce::NonceId;
use authgate::{ReplayOutcome, ReplayTable};
use hmac::{Hmac, KeyInit, Mac};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sha2::{Digest, Sha256};

use crate::convert::now_secs;
use crate::replay::outcome_name;

/// How long a request waits for another process to release the table before answering
/// stale: the lock is held for about a microsecond, so only a stopped process waits this.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// How long attaching waits for another process to finish creating the segment.
const ATTACH_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Entries older than `max_age` are purged every this many checks of a process.
const PURGE_EVERY: u32 = 256;

/// What a replay table behind some lock offers the store.
trait Backend: Send + Sync {
    /// The core's `check_and_record`, after `purge_before(cutoff)` when one is given.
    fn record(&self, id: &NonceId, issued: u64, nc: u32, purge: Option<u64>) -> ReplayOutcome;
    fn len(&self) -> usize;
    /// The second the table's memory began.
    fn since(&self) -> u64;
    /// The segment's path, for a shared table.
    fn path(&self) -> Option<&str> {
        None
    }
    /// Lets go of a shared segment at exit (the last process removes it).
    fn release(&self) {}
}

/// The fallback: a table in this process only.
struct Private<const N: usize> {
    table: Mutex<ReplayTable<N>>,
    since: u64,
}

impl<const N: usize> Private<N> {
    fn new() -> Self {
        let since = now_secs();
        Private { table: Mutex::new(ReplayTable::since(since)), since }
    }
}

impl<const N: usize> Backend for Private<N> {
    fn record(&self, id: &NonceId, issued: u64, nc: u32, purge: Option<u64>) -> ReplayOutcome {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cutoff) = purge {
            t.purge_before(cutoff);
        }
        t.check_and_record(id, issued, nc)
    }
    fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
    fn since(&self) -> u64 {
        self.since
    }
}

/// The capacities offered (the table is scanned linearly: larger ones cost more per request).
fn capacity_of(requested: usize) -> usize {
    match requested {
        0..=256 => 256,
        257..=1024 => 1024,
        _ => 4096,
    }
}

/// `f::<N>()` for the capacity `capacity_of` chose.
macro_rules! with_capacity {
    ($capacity:expr, $f:ident ( $($arg:expr),* )) => {
        match $capacity {
            256 => $f::<256>($($arg),*),
            1024 => $f::<1024>($($arg),*),
            _ => $f::<4096>($($arg),*),
        }
    };
}

/// The namespace of an engine's default store: a fingerprint of its nonce key and realm
/// (HMAC, so the segment's name says nothing about the key).
pub(crate) fn namespace(key: &[u8; 32], realm: &str) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(b"authgate replay namespace v1\0");
    mac.update(realm.as_bytes());
    first16(&mac.finalize().into_bytes())
}

fn first16(b: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&b[..16]);
    out
}

fn warn(message: &str) {
    // SAFETY: Py_IsInitialized may be called at any time. (Not initialised: the crate's own
    // Rust tests, or a store let go of after the interpreter finished.)
    if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
        eprintln!("{message}");
        return;
    }
    Python::attach(|py| {
        let logged = py
            .import("logging")
            .and_then(|l| l.call_method1("getLogger", ("authgate",)))
            .and_then(|log| log.call_method1("warning", (message,)));
        if let Err(e) = logged {
            e.write_unraisable(py, None);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Processes: fork generations and the per-process registry of attached tables
// ---------------------------------------------------------------------------------------

/// Bumped in every child right after `fork()` (pthread_atfork: os.fork and uwsgi's C fork
/// alike), so a store notices at its next use that it runs in a new process.
static FORK_GEN: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    FORK_GEN.fetch_add(1, Ordering::Relaxed);
}

/// This process's tables by path: stores with the same namespace share one attachment.
struct Registry {
    gen: u64,
    tables: Vec<(String, Weak<dyn Backend>)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { gen: 0, tables: Vec::new() });

fn init_process_hooks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: both handlers are plain `extern "C"` functions without arguments that stay
        // loaded (CPython never unloads an extension); the child handler only touches an atomic.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
            libc::atexit(segment::release_all_at_exit);
        }
    });
}

/// The table for `namespace`: this process's attachment when there is one, else a new one
/// (the shared segment, or a private table when it cannot be had, with the reason).
fn open_table(capacity: usize, namespace: &[u8; 16]) -> (Arc<dyn Backend>, Option<String>) {
    init_process_hooks();
    let gen = FORK_GEN.load(Ordering::Relaxed);
    let mut reg = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    if reg.gen != gen {
        // Forked: the parent's attachments are its own (its descriptors, its flock).
        reg.gen = gen;
        reg.tables.clear();
    }
    reg.tables.retain(|(_, w)| w.strong_count() > 0);
    let shared = segment::path_for(capacity, namespace);
    let key = match &shared {
        Ok(path) => path.clone(),
        Err(_) => format!("private:{}:{}", capacity, hex16(namespace)),
    };
    if let Some(t) = reg.tables.iter().find(|(k, _)| *k == key).and_then(|(_, w)| w.upgrade()) {
        return (t, None);
    }
    let attached = shared.and_then(|path| with_capacity!(capacity, attach_shared(path)));
    let (table, problem) = match attached {
        Ok(t) => (t, None),
        Err(reason) => (with_capacity!(capacity, private()), Some(reason)),
    };
    reg.tables.push((key, Arc::downgrade(&table)));
    (table, problem)
}

fn attach_shared<const N: usize>(path: String) -> Result<Arc<dyn Backend>, String> {
    Ok(Arc::new(segment::Segment::<N>::attach(path)?))
}

fn private<const N: usize>() -> Arc<dyn Backend> {
    Arc::new(Private::<N>::new())
}

fn hex16(b: &[u8; 16]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// The Python class
// ---------------------------------------------------------------------------------------

/// The default replay store: the core's replay table in shared memory, one per app (nonce
/// key and realm) and user, shared by every process of the server.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct SharedMemoryReplayStore {
    #[pyo3(get)]
    capacity: usize,
    /// Entries older than this many seconds are purged now and then (nonce lifetime + skew).
    #[pyo3(get)]
    max_age: u64,
    namespace: OnceLock<[u8; 16]>,
    /// (fork generation, the table) of this process.
    current: Mutex<Option<(u64, Arc<dyn Backend>)>>,
    calls: AtomicU32,
}

impl SharedMemoryReplayStore {
    fn with(capacity: usize, max_age: u64) -> Self {
        SharedMemoryReplayStore {
            capacity: capacity_of(capacity),
            max_age,
            namespace: OnceLock::new(),
            current: Mutex::new(None),
            calls: AtomicU32::new(0),
        }
    }

    /// An engine's default store, attached now (before its first nonce is issued).
    pub(crate) fn for_engine(max_age: u64, namespace: [u8; 16]) -> Self {
        let s = Self::with(4096, max_age);
        s.bind(namespace);
        s
    }

    /// Gives a store made without `name=` the namespace of the engine it is handed to.
    pub(crate) fn bind(&self, namespace: [u8; 16]) {
        let _ = self.namespace.set(namespace);
        let _ = self.table();
    }

    /// This process's table: attached at the first use after a fork, or when first bound.
    fn table(&self) -> Option<Arc<dyn Backend>> {
        let gen = FORK_GEN.load(Ordering::Relaxed);
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((g, t)) = cur.as_ref() {
            if *g == gen {
                return Some(t.clone());
            }
        }
        let namespace = self.namespace.get()?;
        // Dropped outside the registry's lock: a table released here may unlink its segment.
        let previous = cur.take();
        let (table, problem) = open_table(self.capacity, namespace);
        *cur = Some((gen, table.clone()));
        drop(cur);
        drop(previous);
        if let Some(reason) = problem {
            warn_private_once(&reason);
        }
        Some(table)
    }

    /// Checks and records a pair (the engine's path: no Python objects).
    pub(crate) fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        let Some(table) = self.table() else { return ReplayOutcome::Stale };
        let calls = self.calls.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let purge = calls.is_multiple_of(PURGE_EVERY).then(|| now_secs().saturating_sub(self.max_age));
        table.record(id, issued, nc, purge)
    }

    fn bound_table(&self) -> PyResult<Arc<dyn Backend>> {
        self.table().ok_or_else(|| {
            PyValueError::new_err("this store has no name: give name=..., or hand it to an engine first")
        })
    }
}

fn warn_private_once(reason: &str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        warn(&format!(
            "authgate: no shared-memory replay store ({reason}); each process keeps its own table, \
             so a header accepted by one worker process can be replayed once at another: \
             use RedisNonceStore, or a single process"
        ));
    }
}

#[pymethods]
impl SharedMemoryReplayStore {
    /// `capacity` is rounded up to 256, 1024 or 4096 nonces (at most 4096). Stores with the
    /// same `name` (and capacity) share one table across this user's processes; without a
    /// name, the store takes the namespace of the first engine it is given to.
    #[new]
    #[pyo3(signature = (capacity = 4096, max_age = 600, *, name = None))]
    fn new(capacity: usize, max_age: u64, name: Option<&str>) -> Self {
        let s = Self::with(capacity, max_age);
        if let Some(name) = name {
            s.bind(first16(&Sha256::new().chain_update(b"authgate replay name v1\0").chain_update(name).finalize()));
        }
        s
    }

    /// `"fresh"`, `"replayed"` or `"stale"` for this (nonce id, nc); records it when fresh.
    fn check_and_record(&self, nonce_id: &[u8], issued: u64, nc: u32) -> PyResult<&'static str> {
        let id: NonceId = nonce_id.try_into().map_err(|_| PyValueError::new_err("nonce ids are 16 bytes"))?;
        self.bound_table()?;
        Ok(outcome_name(self.record(&id, issued, nc)))
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.bound_table()?.len())
    }

    /// The segment's path, or `None` when this process keeps a private table.
    #[getter]
    fn path(&self) -> PyResult<Option<String>> {
        Ok(self.bound_table()?.path().map(str::to_owned))
    }

    /// Whether the table is shared with other processes.
    #[getter]
    fn shared(&self) -> PyResult<bool> {
        Ok(self.bound_table()?.path().is_some())
    }

    /// The second the table's memory began: nonces issued before it are answered stale.
    #[getter]
    fn since(&self) -> PyResult<u64> {
        Ok(self.bound_table()?.since())
    }

    fn __repr__(&self) -> String {
        match self.table() {
            Some(t) => format!(
                "SharedMemoryReplayStore(capacity={}, {}, since={})",
                self.capacity,
                t.path().map_or_else(|| "private to this process".to_owned(), |p| format!("path={p:?}")),
                t.since()
            ),
            None => format!("SharedMemoryReplayStore(capacity={}, unbound)", self.capacity),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The segment (Linux: /dev/shm, flock, robust pthread mutexes, dl_iterate_phdr)
// ---------------------------------------------------------------------------------------

#[cfg(target_os = "linux")]
mod segment;

/// Elsewhere: no segment; the store keeps a table per process (and says so once).
#[cfg(not(target_os = "linux"))]
mod segment {
    use super::*;

    pub(super) fn path_for(_capacity: usize, _namespace: &[u8; 16]) -> Result<String, String> {
        Err("shared-memory segments are only used on Linux".into())
    }

    pub(super) struct Segment<const N: usize>;

    impl<const N: usize> Segment<N> {
        pub(super) fn attach(_path: String) -> Result<Private<N>, String> {
            Err("shared-memory segments are only used on Linux".into())
        }
    }
}
