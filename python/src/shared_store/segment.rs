//! The segment itself (Linux): /dev/shm, flock, a process-shared robust pthread mutex,
//! the GNU build ID through dl_iterate_phdr. See the parent module for the design.

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

#[cfg(test)]
mod tests;
