//! The default replay store: the core's [`ReplayTable`] in a shared-memory segment, so that
//! every process of one server (gunicorn or uwsgi workers, with or without `--preload`)
//! refuses a (nonce, nc) pair that another one accepted, with no server to run. Apache's
//! mod_auth_digest keeps its nonce counts in shared memory for the same reason.
//!
//! - **Name.** `/dev/shm/authgate-<euid>-<32 hex>`, the hex a hash of the running extension's
//!   build ID (build.rs), the table's capacity and a namespace (a fingerprint of the nonce key and realm, or
//!   the `name=` given). A worker finds the segment by name whenever it builds its engine,
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
//! Without /dev/shm (or off Linux) the store is a per-process table, and says so once.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use authgate::nonce::NonceId;
use authgate::{ReplayOutcome, ReplayTable};
use hmac::{Hmac, KeyInit, Mac};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sha2::{Digest, Sha256};

use crate::{now_secs, outcome_name};

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
mod segment {
    use super::*;
    use std::cell::UnsafeCell;
    use std::ffi::{CStr, CString};
    use std::mem::size_of;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::ptr::{addr_of, addr_of_mut, NonNull};
    use std::time::Instant;

    const DIR: &str = "/dev/shm";
    const MAGIC: [u8; 8] = *b"agreplay";
    /// Written last by the process that creates the table.
    const READY: u32 = 0x5245_4459;

    /// The segment's contents. Everything a process changes after creation is an atomic or
    /// sits behind `mutex`.
    #[repr(C)]
    struct Layout<const N: usize> {
        magic: [u8; 8],
        build: [u8; 32],
        capacity: u64,
        since: AtomicU64,
        ready: AtomicU32,
        mutex: UnsafeCell<libc::pthread_mutex_t>,
        table: UnsafeCell<ReplayTable<N>>,
    }

    /// The GNU build ID of the object this code was loaded from (the linker's hash of it;
    /// build.rs asks for one): processes share a segment only when they run the very same
    /// build, so they agree on the table's layout.
    fn build_id() -> Result<&'static [u8], String> {
        static ID: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        ID.get_or_init(|| {
            struct Search {
                addr: usize,
                id: Option<Vec<u8>>,
            }
            unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: libc::size_t, data: *mut libc::c_void) -> i32 {
                // SAFETY: dl_iterate_phdr hands a valid `info` (`dlpi_phnum` program headers)
                // and our `data`; an object's PT_NOTE segments are mapped while it is loaded.
                unsafe {
                    let search = &mut *data.cast::<Search>();
                    let info = &*info;
                    if info.dlpi_phdr.is_null() {
                        return 0;
                    }
                    let phdrs = std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
                    let base = info.dlpi_addr as usize;
                    let ours = phdrs.iter().any(|p| {
                        let start = base + p.p_vaddr as usize;
                        p.p_type == libc::PT_LOAD && (start..start + p.p_memsz as usize).contains(&search.addr)
                    });
                    if !ours {
                        return 0;
                    }
                    search.id = phdrs.iter().filter(|p| p.p_type == libc::PT_NOTE).find_map(|p| {
                        let notes =
                            std::slice::from_raw_parts((base + p.p_vaddr as usize) as *const u8, p.p_filesz as usize);
                        gnu_build_id(notes).map(<[u8]>::to_vec)
                    });
                    1
                }
            }
            let mut search = Search { addr: visit as *const () as usize, id: None };
            // SAFETY: `visit` only reads what it is handed and writes `search`, which outlives the call.
            unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut search).cast()) };
            search.id
        })
        .as_deref()
        .ok_or_else(|| "the extension has no GNU build ID".to_owned())
    }

    /// The NT_GNU_BUILD_ID note's descriptor among ELF notes (4-byte aligned records:
    /// name size, descriptor size, type, name, descriptor).
    fn gnu_build_id(mut notes: &[u8]) -> Option<&[u8]> {
        const NT_GNU_BUILD_ID: u32 = 3;
        let padded = |n: usize| n.checked_add(3).map(|n| n & !3);
        while notes.len() >= 12 {
            let word = |i: usize| u32::from_ne_bytes([notes[i], notes[i + 1], notes[i + 2], notes[i + 3]]);
            let (name_len, desc_len, kind) = (word(0) as usize, word(4) as usize, word(8));
            let desc_at = 12usize.checked_add(padded(name_len)?)?;
            let end = desc_at.checked_add(padded(desc_len)?)?;
            let name = notes.get(12..12 + name_len)?;
            let desc = notes.get(desc_at..desc_at + desc_len)?;
            if kind == NT_GNU_BUILD_ID && name == b"GNU\0" && !desc.is_empty() {
                return Some(desc);
            }
            notes = notes.get(end..)?;
        }
        None
    }

    fn prefix() -> String {
        // SAFETY: geteuid has no preconditions.
        format!("authgate-{}-", unsafe { libc::geteuid() })
    }

    /// The build ID as stored in the header (at most 32 bytes: SHA-1's 20, or a linker's
    /// longer choice hashed down).
    fn build_field(id: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if id.len() <= 32 {
            out[..id.len()].copy_from_slice(id);
        } else {
            out.copy_from_slice(&Sha256::digest(id));
        }
        out
    }

    /// `/dev/shm/authgate-<euid>-<hash of build ID, capacity, namespace>`.
    pub(super) fn path_for(capacity: usize, namespace: &[u8; 16]) -> Result<String, String> {
        let build = build_id()?;
        let meta = std::fs::metadata(DIR).map_err(|e| format!("{DIR}: {e}"))?;
        if !meta.is_dir() {
            return Err(format!("{DIR} is not a directory"));
        }
        let name = Sha256::new()
            .chain_update(b"authgate replay segment v1\0")
            .chain_update((build.len() as u64).to_be_bytes())
            .chain_update(build)
            .chain_update((capacity as u64).to_be_bytes())
            .chain_update(namespace)
            .finalize();
        Ok(format!("{DIR}/{}{}", prefix(), hex16(&first16(&name))))
    }

    fn os_error(what: &str) -> String {
        format!("{what}: {}", std::io::Error::last_os_error())
    }

    fn flock(fd: &OwnedFd, op: i32) -> bool {
        // SAFETY: a valid descriptor; flock has no memory effects.
        unsafe { libc::flock(fd.as_raw_fd(), op) == 0 }
    }

    /// Whether `path` still names the file open on `fd` (not unlinked or replaced).
    fn same_file(path: &CStr, fd: &OwnedFd) -> bool {
        // SAFETY: stat buffers are plain data, filled by the calls.
        unsafe {
            let (mut a, mut b) = (std::mem::zeroed::<libc::stat>(), std::mem::zeroed::<libc::stat>());
            libc::fstat(fd.as_raw_fd(), &mut a) == 0
                && libc::lstat(path.as_ptr(), &mut b) == 0
                && (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        }
    }

    /// A regular file of this user's, readable and writable by this user only, of `size`
    /// bytes (when given).
    fn check_file(fd: &OwnedFd, size: Option<usize>) -> Result<(), String> {
        // SAFETY: as in `same_file`.
        let st = unsafe {
            let mut st = std::mem::zeroed::<libc::stat>();
            if libc::fstat(fd.as_raw_fd(), &mut st) != 0 {
                return Err(os_error("fstat"));
            }
            st
        };
        // SAFETY: geteuid has no preconditions.
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_uid != unsafe { libc::geteuid() } {
            return Err("the segment is not a regular file of this user's".into());
        }
        if st.st_mode & 0o077 != 0 {
            return Err(format!("the segment's mode is {:o}, not 600", st.st_mode & 0o777));
        }
        match size {
            Some(n) if st.st_size as u64 != n as u64 => Err("the segment has the wrong size".into()),
            _ => Ok(()),
        }
    }

    fn open(path: &CStr, create: bool) -> Result<OwnedFd, String> {
        let flags = libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC | if create { libc::O_CREAT } else { 0 };
        // SAFETY: a NUL-terminated path; the descriptor returned is owned from here on.
        let fd = unsafe { libc::open(path.as_ptr(), flags, 0o600 as libc::c_uint) };
        if fd < 0 {
            return Err(os_error("open"));
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// A table in shared memory, attached to this process.
    pub(super) struct Segment<const N: usize> {
        map: NonNull<Layout<N>>,
        fd: OwnedFd,
        path: String,
        c_path: CString,
        /// The process that attached it: only it may let go of the segment (see Drop).
        owner: libc::pid_t,
        /// A lock wait timed out and was logged; logged again only after a success.
        stalled: std::sync::atomic::AtomicBool,
    }

    // SAFETY: the mapping is shared memory that every user reaches through atomics or under
    // the process-shared mutex, from any thread or process alike.
    unsafe impl<const N: usize> Send for Segment<N> {}
    // SAFETY: as for Send.
    unsafe impl<const N: usize> Sync for Segment<N> {}

    /// Holds the segment's mutex; unlocks when dropped.
    struct Locked<'a, const N: usize>(&'a Segment<N>);

    impl<const N: usize> Drop for Locked<'_, N> {
        fn drop(&mut self) {
            // SAFETY: this thread holds the mutex (see `Segment::lock`).
            unsafe { libc::pthread_mutex_unlock(self.0.mutex()) };
        }
    }

    impl<const N: usize> Locked<'_, N> {
        fn table(&mut self) -> &mut ReplayTable<N> {
            // SAFETY: the table is only touched by the holder of the mutex, and it was
            // initialised (`ReplayTable::since`) before `ready` was set.
            unsafe { &mut *self.0.layout().table.get() }
        }
    }

    impl<const N: usize> Segment<N> {
        fn layout(&self) -> &Layout<N> {
            // SAFETY: mapped, initialised (ready) and never unmapped while `self` lives; the
            // fields that change are atomics or UnsafeCells.
            unsafe { self.map.as_ref() }
        }

        fn mutex(&self) -> *mut libc::pthread_mutex_t {
            self.layout().mutex.get()
        }

        /// Opens or creates the segment at `path` and maps it.
        pub(super) fn attach(path: String) -> Result<Self, String> {
            let c_path = CString::new(path.clone()).map_err(|_| "bad path".to_owned())?;
            let deadline = Instant::now() + ATTACH_WAIT;
            collect_abandoned(&c_path);
            while Instant::now() < deadline {
                let fd = open(&c_path, true)?;
                check_file(&fd, None)?;
                if flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
                    // Nobody holds it: a new file, or one whose users are all gone. Start afresh.
                    if !same_file(&c_path, &fd) {
                        continue;
                    }
                    let map = create::<N>(&fd)?;
                    let seg = Segment::new(map, fd, path.clone(), c_path.clone());
                    // The exclusive lock becomes a shared one. If another process took the
                    // file over in between, it started it afresh too: wait for its shared lock.
                    if wait_shared(&seg.fd, deadline) && same_file(&c_path, &seg.fd) && seg.valid() {
                        return Ok(seg);
                    }
                    continue;
                }
                // In use, or being created: join it once its creator is done.
                if !wait_shared(&fd, deadline) || !same_file(&c_path, &fd) {
                    continue;
                }
                if check_file(&fd, Some(size_of::<Layout<N>>())).is_ok() {
                    let seg = Segment::new(map::<N>(&fd)?, fd, path.clone(), c_path.clone());
                    if seg.valid() {
                        return Ok(seg);
                    }
                }
                // Its creator died half-way; whoever finds it unheld next starts it afresh.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(format!("{path} stayed busy for {ATTACH_WAIT:?}"))
        }

        fn new(map: NonNull<Layout<N>>, fd: OwnedFd, path: String, c_path: CString) -> Self {
            // SAFETY: getpid has no preconditions.
            let owner = unsafe { libc::getpid() };
            Segment { map, fd, path, c_path, owner, stalled: false.into() }
        }

        fn valid(&self) -> bool {
            let l = self.layout();
            // `ready` first: the other fields are written before it.
            l.ready.load(Ordering::Acquire) == READY
                && l.magic == MAGIC
                && build_id().is_ok_and(|b| l.build == build_field(b))
                && l.capacity == N as u64
        }

        /// The mutex (`None` when another process has held it for [`LOCK_WAIT`]), and what
        /// to log once it is released.
        fn lock(&self) -> (Option<Locked<'_, N>>, Option<String>) {
            let m = self.mutex();
            // SAFETY: an initialised process-shared robust mutex in our mapping.
            let mut r = unsafe { libc::pthread_mutex_trylock(m) };
            if r == libc::EBUSY {
                // SAFETY: as above; `deadline` is a valid timespec.
                r = unsafe {
                    let mut deadline = std::mem::zeroed::<libc::timespec>();
                    libc::clock_gettime(libc::CLOCK_REALTIME, &mut deadline);
                    deadline.tv_nsec += LOCK_WAIT.subsec_nanos() as libc::c_long;
                    deadline.tv_sec += LOCK_WAIT.as_secs() as libc::time_t;
                    if deadline.tv_nsec >= 1_000_000_000 {
                        deadline.tv_sec += 1;
                        deadline.tv_nsec -= 1_000_000_000;
                    }
                    libc::pthread_mutex_timedlock(m, &deadline)
                };
            }
            match r {
                0 => {
                    if self.stalled.load(Ordering::Relaxed) {
                        self.stalled.store(false, Ordering::Relaxed);
                    }
                    (Some(Locked(self)), None)
                }
                libc::EOWNERDEAD => {
                    // A process died holding the lock, maybe in the middle of an update: the
                    // table's history is not to be trusted. It starts again, its horizon now.
                    let locked = Locked(self);
                    let now = now_secs();
                    // SAFETY: we hold the mutex; the old value is overwritten without being
                    // read or dropped (plain data, maybe half-updated).
                    unsafe { self.layout().table.get().write(ReplayTable::since(now)) };
                    self.layout().since.store(now, Ordering::Relaxed);
                    // SAFETY: we hold the mutex, recovered from a dead owner.
                    unsafe { libc::pthread_mutex_consistent(m) };
                    let note = format!(
                        "authgate: a process died holding the replay table's lock ({}); the table starts \
                         again: nonces issued before now are answered stale",
                        self.path
                    );
                    (Some(locked), Some(note))
                }
                e => {
                    let note = (!self.stalled.swap(true, Ordering::Relaxed)).then(|| {
                        format!(
                            "authgate: the replay table's lock ({}) is held by a stopped process ({}); \
                             answering stale until it is released",
                            self.path,
                            std::io::Error::from_raw_os_error(e)
                        )
                    });
                    (None, note)
                }
            }
        }
    }

    impl<const N: usize> Backend for Segment<N> {
        fn record(&self, id: &NonceId, issued: u64, nc: u32, purge: Option<u64>) -> ReplayOutcome {
            let (locked, note) = self.lock();
            let outcome = locked.map_or(ReplayOutcome::Stale, |mut locked| {
                let table = locked.table();
                if let Some(cutoff) = purge {
                    table.purge_before(cutoff);
                }
                table.check_and_record(id, issued, nc)
            });
            // Logged once the lock is released.
            if let Some(note) = note {
                warn(&note);
            }
            outcome
        }
        fn len(&self) -> usize {
            let (locked, note) = self.lock();
            let len = locked.map_or(0, |mut l| l.table().len());
            if let Some(note) = note {
                warn(&note);
            }
            len
        }
        fn since(&self) -> u64 {
            self.layout().since.load(Ordering::Relaxed)
        }
        fn path(&self) -> Option<&str> {
            Some(&self.path)
        }
        fn release(&self) {
            // SAFETY: getpid has no preconditions.
            if unsafe { libc::getpid() } == self.owner {
                release(&self.c_path, &self.fd);
            }
        }
    }

    impl<const N: usize> Drop for Segment<N> {
        fn drop(&mut self) {
            // A forked child's inherited copy only unmaps: the flock belongs to its parent.
            Backend::release(self);
            // SAFETY: our mapping of exactly this size; nothing borrows it past `self`.
            unsafe { libc::munmap(self.map.as_ptr().cast(), size_of::<Layout<N>>()) };
        }
    }

    /// Lets go of a segment: the last process to do so removes it. (Taking the exclusive
    /// lock drops our shared one either way; the descriptor is closed next.)
    fn release(path: &CStr, fd: &OwnedFd) {
        if flock(fd, libc::LOCK_EX | libc::LOCK_NB) && same_file(path, fd) {
            // SAFETY: a NUL-terminated path.
            unsafe { libc::unlink(path.as_ptr()) };
        }
    }

    /// At exit, the segments still attached are let go of (Python may never free the stores).
    pub(super) extern "C" fn release_all_at_exit() {
        // Another thread may hold the registry while the process exits: then leave the
        // segments to the next process's collection of abandoned ones.
        let Ok(reg) = REGISTRY.try_lock() else { return };
        for (_, w) in &reg.tables {
            if let Some(t) = w.upgrade() {
                t.release();
            }
        }
    }

    /// Waits for a shared lock until `deadline` (a creator holds the exclusive one briefly).
    fn wait_shared(fd: &OwnedFd, deadline: Instant) -> bool {
        loop {
            if flock(fd, libc::LOCK_SH | libc::LOCK_NB) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    fn map<const N: usize>(fd: &OwnedFd) -> Result<NonNull<Layout<N>>, String> {
        // SAFETY: a shared read-write mapping of a file at least this large (checked or
        // just sized by the caller); the pointer is page-aligned, enough for Layout.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size_of::<Layout<N>>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os_error("mmap"));
        }
        NonNull::new(p.cast()).ok_or_else(|| "mmap returned null".to_owned())
    }

    /// Empties the file (held exclusively), sizes it, maps it and writes a new table.
    fn create<const N: usize>(fd: &OwnedFd) -> Result<NonNull<Layout<N>>, String> {
        let size = size_of::<Layout<N>>();
        // SAFETY: a valid descriptor of a file only we hold.
        unsafe {
            if libc::ftruncate(fd.as_raw_fd(), 0) != 0 || libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) != 0 {
                return Err(os_error("ftruncate"));
            }
            // The pages are reserved now: a full /dev/shm is an error here, not a SIGBUS
            // at a later write to the mapping.
            let e = libc::posix_fallocate(fd.as_raw_fd(), 0, size as libc::off_t);
            if e != 0 {
                return Err(format!("posix_fallocate: {}", std::io::Error::from_raw_os_error(e)));
            }
        }
        let map = map::<N>(fd)?;
        let p = map.as_ptr();
        let now = now_secs();
        // SAFETY: fresh zeroed pages of our mapping, written field by field through raw
        // pointers before any other process may read them (they wait for a shared lock).
        unsafe {
            addr_of_mut!((*p).magic).write(MAGIC);
            addr_of_mut!((*p).build).write(build_field(build_id()?));
            addr_of_mut!((*p).capacity).write(N as u64);
            addr_of_mut!((*p).since).write(AtomicU64::new(now));
            UnsafeCell::raw_get(addr_of!((*p).table)).write(ReplayTable::since(now));
            let mut attr = std::mem::zeroed::<libc::pthread_mutexattr_t>();
            let ok = libc::pthread_mutexattr_init(&mut attr) == 0
                && libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED) == 0
                && libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) == 0
                && libc::pthread_mutex_init(UnsafeCell::raw_get(addr_of!((*p).mutex)), &attr) == 0;
            libc::pthread_mutexattr_destroy(&mut attr);
            if !ok {
                libc::munmap(p.cast(), size);
                return Err("no process-shared robust mutex".into());
            }
            (*p).ready.store(READY, Ordering::Release);
        }
        Ok(map)
    }

    /// Removes this user's segments that no process holds any more (their servers stopped
    /// without letting go: killed, or `os._exit`). Once per process, before its first attach.
    fn collect_abandoned(keep: &CStr) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let Ok(dir) = std::fs::read_dir(DIR) else { return };
            let prefix = prefix();
            for entry in dir.flatten().take(1024) {
                let name = entry.file_name();
                let Some(name) = name.to_str().filter(|n| n.starts_with(&prefix)) else { continue };
                let Ok(path) = CString::new(format!("{DIR}/{name}")) else { continue };
                if path.as_c_str() == keep {
                    continue;
                }
                if let Ok(fd) = open(&path, false) {
                    if check_file(&fd, None).is_ok() {
                        release(&path, &fd);
                    }
                }
            }
        });
    }

    /// The segment's own rules, across real processes (fork). Run by `make python-test`:
    /// `cargo test -p authgate-python --lib --no-default-features`. One test function: the
    /// cases fork, so they run one at a time, with no other test thread.
    #[cfg(test)]
    mod tests {
        use super::*;
        use authgate::ReplayOutcome::{Fresh, Replayed, Stale};
        use std::os::unix::fs::PermissionsExt;
        use std::time::Duration;

        fn test_path(tag: &str) -> String {
            format!("{DIR}/{}test-{}-{tag}", prefix(), std::process::id())
        }

        fn id(n: u8) -> NonceId {
            [n; 16]
        }

        /// Runs `f` in a forked child, which exits 0 when `f` returns true.
        fn in_child(f: impl FnOnce() -> bool) -> libc::pid_t {
            // SAFETY: this test runs alone (one test function); the child runs `f` and exits.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork");
            if pid == 0 {
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(false);
                // SAFETY: leaves the child at once, without running the parent's atexit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            pid
        }

        fn exit_code(pid: libc::pid_t) -> i32 {
            let mut status = 0;
            // SAFETY: our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            }
        }

        /// A pipe: (read end, write end).
        fn pipe() -> (OwnedFd, OwnedFd) {
            let mut fds = [0; 2];
            // SAFETY: two new descriptors, owned from here on.
            unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
            }
        }

        fn signal(fd: &OwnedFd) {
            // SAFETY: one byte from a live buffer.
            assert_eq!(unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) }, 1);
        }

        fn wait_for(fd: &OwnedFd) {
            let mut b = 0u8;
            // SAFETY: one byte into a live buffer.
            assert_eq!(unsafe { libc::read(fd.as_raw_fd(), (&raw mut b).cast(), 1) }, 1);
        }

        fn exists(path: &str) -> bool {
            std::path::Path::new(path).exists()
        }

        #[test]
        fn segment_lifecycle() {
            the_build_id_is_found_and_notes_parse_safely();
            shared_by_processes_and_removed_by_the_last_one();
            only_a_private_file_of_this_user_is_used();
            a_stopped_holder_answers_stale_fast_and_a_dead_one_restarts_the_table();
        }

        fn the_build_id_is_found_and_notes_parse_safely() {
            assert_eq!(build_id().unwrap().len(), 20, "build.rs links with --build-id=sha1");
            let note = |name: &[u8], kind: u32, desc: &[u8]| {
                let mut n = Vec::new();
                for w in [name.len() as u32, desc.len() as u32, kind] {
                    n.extend_from_slice(&w.to_ne_bytes());
                }
                n.extend_from_slice(name);
                n.resize(n.len().next_multiple_of(4), 0);
                n.extend_from_slice(desc);
                n.resize(n.len().next_multiple_of(4), 0);
                n
            };
            let mut notes = note(b"GNU\0", 1, b"abi-tag!");
            notes.extend(note(b"GNU\0", 3, b"\x01\x02\x03"));
            assert_eq!(gnu_build_id(&notes), Some(&b"\x01\x02\x03"[..]));
            // Cut anywhere before the descriptor's last byte: not found, never out of bounds.
            for cut in 0..notes.len() - 1 {
                assert_eq!(gnu_build_id(&notes[..cut]), None, "{cut}");
            }
            let mut huge = note(b"GNU\0", 3, b"x");
            huge[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
            assert_eq!(gnu_build_id(&huge), None);
        }

        fn shared_by_processes_and_removed_by_the_last_one() {
            let path = test_path("share");
            let a = Segment::<256>::attach(path.clone()).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let now = now_secs();
            assert_eq!(a.record(&id(1), now, 1, None), Fresh);
            assert_eq!(a.since(), now);
            let (ready_r, ready_w) = pipe();
            let (go_r, go_w) = pipe();
            // A worker that builds its engine after the fork attaches by name: the same table.
            let p = path.clone();
            let child = in_child(move || {
                let b = Segment::<256>::attach(p).unwrap();
                let ok = b.record(&id(1), now, 1, None) == Replayed && b.record(&id(1), now, 2, None) == Fresh;
                signal(&ready_w);
                wait_for(&go_r);
                drop(b);
                ok
            });
            wait_for(&ready_r);
            assert_eq!(a.record(&id(1), now, 2, None), Replayed);
            // The parent's copy used in a forked child is the same table; letting go of an
            // inherited copy does not remove the segment.
            let inherited = in_child(|| {
                let ok = a.record(&id(1), now, 3, None) == Fresh;
                drop(a);
                ok
            });
            assert_eq!(exit_code(inherited), 0);
            assert!(exists(&path));
            let a = Segment::<256>::attach(path.clone()).unwrap();
            assert_eq!(a.record(&id(1), now, 3, None), Replayed);
            drop(a);
            assert!(exists(&path), "removed while another process holds it");
            signal(&go_w);
            assert_eq!(exit_code(child), 0);
            assert!(!exists(&path), "the last process to let go removes it");
            // A new segment begins a new memory: nonces issued before it are stale.
            let c = Segment::<256>::attach(path.clone()).unwrap();
            assert_eq!(c.record(&id(1), c.since() - 1, 4, None), Stale);
            assert_eq!(c.len(), 0);
        }

        fn only_a_private_file_of_this_user_is_used() {
            let path = test_path("mode");
            std::fs::write(&path, b"").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Segment::<256>::attach(path.clone()).err().unwrap();
            assert!(e.contains("mode is 644"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
                let e = Segment::<256>::attach(path.clone()).err().unwrap();
                assert!(e.contains("of this user's"), "{e}");
            }
            std::fs::remove_file(&path).unwrap();
        }

        fn a_stopped_holder_answers_stale_fast_and_a_dead_one_restarts_the_table() {
            let path = test_path("lock");
            let a = Segment::<256>::attach(path.clone()).unwrap();
            let now = now_secs();
            assert_eq!(a.record(&id(1), now, 1, None), Fresh);
            let (ready_r, ready_w) = pipe();
            let holder = in_child(|| {
                let (locked, _) = a.lock();
                std::mem::forget(locked);
                signal(&ready_w);
                loop {
                    // SAFETY: waits for the parent's SIGKILL.
                    unsafe { libc::pause() };
                }
            });
            wait_for(&ready_r);
            let t = Instant::now();
            assert_eq!(a.record(&id(2), now, 1, None), Stale);
            let waited = t.elapsed();
            assert!(waited >= LOCK_WAIT / 2 && waited < Duration::from_secs(1), "{waited:?}");
            // The holder dies with the lock: the next locker restarts the table, since now.
            while now_secs() == now {
                std::thread::sleep(Duration::from_millis(20));
            }
            // SAFETY: our own child.
            unsafe { libc::kill(holder, libc::SIGKILL) };
            assert_eq!(exit_code(holder), -1);
            assert_eq!(a.record(&id(1), now, 2, None), Stale, "a nonce from before the restart");
            assert!(a.since() > now);
            assert_eq!(a.record(&id(3), a.since(), 1, None), Fresh);
            assert_eq!(a.record(&id(3), a.since(), 1, None), Replayed);
            drop(a);
            assert!(!exists(&path));
        }
    }
}

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
