//! The segment's own rules, across real processes (fork). Run by `make python-test`:
//! `cargo test -p authgate-python --lib --no-default-features`. One test function: the
//! cases fork, so they run one at a time, with no other test thread.

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
