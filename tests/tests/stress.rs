//! Concurrency: one engine (std `Mutex` replay store) shared by many threads of honest Digest
//! clients and attackers replaying what they captured; the replay table alone under contention.
//!
//! Every test runs its threads under a watchdog: a hang (deadlock) fails the test instead of
//! stalling `make test`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use authgate::*;
use authgate_tests::*;

const NOW: u64 = 1_700_000_000;
const THREADS: usize = 16;
const HONEST: usize = 10;
const ATTACKERS: usize = THREADS - HONEST;
const SESSIONS: usize = 4;
const REQUESTS_PER_SESSION: u32 = 48;
/// Requests are sent in blocks of this many nc values, each block out of order.
const BLOCK: u32 = 8;
const WATCHDOG: Duration = Duration::from_secs(300);

type SharedEngine = Engine<StaticUsers<'static>, Mutex<ReplayTable<256>>>;

fn new_engine(key: &[u8; 32]) -> SharedEngine {
    let config = Config::new(REALM).unwrap().schemes(&[Scheme::Digest, Scheme::Basic]).unwrap();
    Engine::new(config, key, StaticUsers::new(USERS), Mutex::new(ReplayTable::new())).unwrap()
}

/// Runs `work` on its own thread; fails the test if it has not finished within `limit`.
fn with_watchdog<T: Send + 'static>(what: &str, limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let out = work();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) => handle.join().expect("worker panicked"),
        // The worker panicked: join re-raises its panic with its message.
        Err(mpsc::RecvTimeoutError::Disconnected) => handle.join().expect("worker panicked"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not finished after {limit:?}: deadlock or livelock"),
    }
}

/// The nc order an honest pipelining client sends: blocks of `BLOCK`, each permuted.
fn pipelined_order(client: usize, session: usize) -> Vec<u32> {
    let mut order = Vec::new();
    for block in 0..REQUESTS_PER_SESSION / BLOCK {
        let mut ncs: Vec<u32> = (1..=BLOCK).map(|i| block * BLOCK + i).collect();
        // A rotation that differs per client and session; some blocks stay in order.
        let k = (client * 3 + session + block as usize) % BLOCK as usize;
        ncs.rotate_left(k);
        if (client + block as usize) % 2 == 1 {
            ncs.reverse();
        }
        order.extend(ncs);
    }
    order
}

/// What the threads of [`hammer`] did.
#[derive(Debug, Default)]
struct Tally {
    honest_sent: usize,
    honest_refused: Vec<String>,
    replays_sent: usize,
    replays_accepted: usize,
    replays_refused_as_replayed: usize,
    forged_nc_sent: usize,
    forged_nc_accepted: usize,
    /// Requests on a nonce of the old key accepted after the rotation.
    old_key_accepted_after_rotation: usize,
}

/// A captured, accepted header and the nc its client will use a few requests later.
struct Captured {
    header: String,
    client: DigestClient<'static>,
}

/// `HONEST` honest clients and `ATTACKERS` attackers on one engine, reached through `check`.
/// With `rotate`, the key is rotated once, half-way through the honest traffic.
/// `old_key` verifies nonces of the key before the rotation.
fn hammer(
    check: &(dyn Fn(&Request<'_>, Context) -> Verdict + Sync),
    rotate: Option<&(dyn Fn() + Sync)>,
    old_key: Option<&SharedEngine>,
) -> Tally {
    let captured: Mutex<Vec<Captured>> = Mutex::new(Vec::new());
    let honest_done = AtomicUsize::new(0);
    let honest_finished = AtomicUsize::new(0);
    let rotated = AtomicBool::new(false);
    let tally = Mutex::new(Tally::default());
    let total_honest = HONEST * SESSIONS * REQUESTS_PER_SESSION as usize;

    thread::scope(|s| {
        for client in 0..HONEST {
            let (captured, honest_done, honest_finished, rotated, tally) =
                (&captured, &honest_done, &honest_finished, &rotated, &tally);
            s.spawn(move || {
                let cnonce: &'static str = Box::leak(format!("c{client:04x}f00d").into_boxed_str());
                for session in 0..SESSIONS {
                    // Each challenge gets its own salt, as from a real RNG: one nonce per session.
                    let salt = [client as u8, session as u8, 0x5a, 0, 0, 0, 0, 1];
                    let v = check(&Request::new("GET", "/dir/index.html", None), Context { now: NOW, salt });
                    let nonce = nonce_of(&v);
                    let old_key_nonce = old_key
                        .is_some_and(|k| matches!(k.verify_nonce(nonce.as_bytes(), NOW), NonceStatus::Valid { .. }));
                    let alg = if client % 2 == 0 { "SHA-256" } else { "MD5" };
                    for (i, nc) in pipelined_order(client, session).into_iter().enumerate() {
                        // Client 0 holds its session-1 nonce across the rotation, so some
                        // requests on a pre-rotation nonce always come after it.
                        if old_key.is_some() && client == 0 && session == 1 && i == BLOCK as usize {
                            while !rotated.load(SeqCst) {
                                thread::yield_now();
                            }
                        }
                        let c = DigestClient { nc, cnonce, ..mufasa(alg, nonce) };
                        let header = c.header();
                        // Loaded before the check: true means the rotation was complete when it began.
                        let after_rotation = rotated.load(SeqCst);
                        let v = check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(NOW));
                        let mut t = tally.lock().unwrap();
                        t.honest_sent += 1;
                        match &v {
                            Verdict::Authenticated(a) if a.user == "Mufasa" => {
                                if old_key_nonce && after_rotation {
                                    t.old_key_accepted_after_rotation += 1;
                                }
                                drop(t);
                                captured.lock().unwrap().push(Captured { header, client: c });
                            }
                            other => t.honest_refused.push(format!("client {client} nc {nc}: {other:?}")),
                        }
                        honest_done.fetch_add(1, SeqCst);
                    }
                }
                honest_finished.fetch_add(1, SeqCst);
            });
        }

        for attacker in 0..ATTACKERS {
            let (captured, honest_finished, tally) = (&captured, &honest_finished, &tally);
            s.spawn(move || loop {
                let all_honest_done = honest_finished.load(SeqCst) == HONEST;
                let next = captured.lock().unwrap().pop();
                let Some(Captured { header, client }) = next else {
                    if all_honest_done {
                        return;
                    }
                    thread::yield_now();
                    continue;
                };
                // The exact header again: refused as a replay, whatever the interleaving.
                let v = check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(NOW));
                // The same response under an nc its client has not used yet (wrong response):
                // refused, and it must not burn that nc for the honest client.
                let future_nc = client.nc + BLOCK + attacker as u32 % 3;
                let forged = header.replace(&format!("nc={:08x}", client.nc), &format!("nc={future_nc:08x}"));
                assert_ne!(forged, header);
                let f = check(&Request::new("GET", "/dir/index.html", Some(forged.as_bytes())), ctx(NOW));
                let mut t = tally.lock().unwrap();
                t.replays_sent += 1;
                match &v {
                    Verdict::Authenticated(_) => t.replays_accepted += 1,
                    Verdict::Challenge(c) if c.reason == Reason::Replayed && !c.stale => {
                        t.replays_refused_as_replayed += 1
                    }
                    other => panic!("a replay got {other:?}"),
                }
                t.forged_nc_sent += 1;
                match &f {
                    Verdict::Authenticated(_) => t.forged_nc_accepted += 1,
                    Verdict::Challenge(c) => assert_eq!(c.reason, Reason::BadCredentials, "forged nc"),
                    other => panic!("a forged nc got {other:?}"),
                }
            });
        }

        if let Some(rotate) = rotate {
            let (honest_done, rotated) = (&honest_done, &rotated);
            s.spawn(move || {
                while honest_done.load(SeqCst) < total_honest / 2 {
                    thread::yield_now();
                }
                rotate();
                rotated.store(true, SeqCst);
            });
        }
    });
    tally.into_inner().unwrap()
}

fn assert_clean(t: &Tally) {
    let total_honest = HONEST * SESSIONS * REQUESTS_PER_SESSION as usize;
    assert!(
        t.honest_refused.is_empty(),
        "{} honest requests refused, first ones: {:#?}",
        t.honest_refused.len(),
        &t.honest_refused[..t.honest_refused.len().min(5)]
    );
    assert_eq!(t.honest_sent, total_honest);
    assert_eq!(t.replays_accepted, 0, "replays accepted");
    assert_eq!(t.forged_nc_accepted, 0, "forged nc accepted");
    // Every accepted header was replayed once, and each replay refused as such.
    assert_eq!(t.replays_sent, total_honest);
    assert_eq!(t.replays_refused_as_replayed, total_honest);
    assert_eq!(t.forged_nc_sent, total_honest);
}

#[test]
fn sixteen_threads_on_one_engine_no_replay_accepted_no_honest_refused() {
    let start = Instant::now();
    let engine = Arc::new(new_engine(&KEY));
    let e = engine.clone();
    let tally = with_watchdog("stress", WATCHDOG, move || hammer(&|r, c| e.check(r, c), None, None));
    assert_clean(&tally);
    // One replay-table entry per honest session: nothing was evicted, nothing made up.
    assert_eq!(engine.replay().lock().unwrap().len(), HONEST * SESSIONS);
    eprintln!(
        "stress: {THREADS} threads, {} honest requests accepted, {} replays and {} forged-nc requests refused, {:?}",
        tally.honest_sent,
        tally.replays_sent,
        tally.forged_nc_sent,
        start.elapsed()
    );
}

/// `rotate_key` takes `&mut self`: a server that rotates while serving puts the engine in an
/// `RwLock` (checks take the read lock and run in parallel; the rotation takes the write lock
/// between two checks). Nonces issued before the rotation stay valid under the previous key.
#[test]
fn key_rotation_mid_traffic_under_load() {
    let engine = Arc::new(RwLock::new(new_engine(&[1; 32])));
    let (e, r) = (engine.clone(), engine.clone());
    let tally = with_watchdog("rotation stress", WATCHDOG, move || {
        let old_key = new_engine(&[1; 32]);
        hammer(
            &|req, c| e.read().unwrap().check(req, c),
            Some(&|| r.write().unwrap().rotate_key(&[2; 32])),
            Some(&old_key),
        )
    });
    assert_clean(&tally);
    assert!(
        tally.old_key_accepted_after_rotation > 0,
        "no request on a pre-rotation nonce came after the rotation: the test did not test it"
    );
    // The current key is the new one: a nonce it issues does not verify under the old key alone.
    let e = engine.read().unwrap();
    let n = e.issue_nonce(ctx(NOW));
    assert!(matches!(e.verify_nonce(n.as_str().as_bytes(), NOW), NonceStatus::Valid { .. }));
    assert_eq!(new_engine(&[1; 32]).verify_nonce(n.as_str().as_bytes(), NOW), NonceStatus::Invalid);
    eprintln!(
        "rotation stress: {} honest accepted ({} on old-key nonces after the rotation), {} replays refused",
        tally.honest_sent, tally.old_key_accepted_after_rotation, tally.replays_refused_as_replayed
    );
}

/// The same valid header from 16 threads released at once by a barrier: exactly one is
/// accepted, every other one is refused as a replay. Repeated for many headers.
#[test]
fn one_header_raced_by_sixteen_threads_is_accepted_once() {
    const ROUNDS: u32 = 40;
    let engine = Arc::new(new_engine(&KEY));
    let e = engine.clone();
    let (accepted, replayed) = with_watchdog("race", WATCHDOG, move || {
        let nonce = nonce_of(&e.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
        let barrier = Barrier::new(THREADS);
        let accepted = AtomicU32::new(0);
        let replayed = AtomicU32::new(0);
        let headers: Vec<String> =
            (1..=ROUNDS).map(|nc| DigestClient { nc, ..mufasa("SHA-256", nonce) }.header()).collect();
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for h in &headers {
                        barrier.wait();
                        match e.check(&Request::new("GET", "/dir/index.html", Some(h.as_bytes())), ctx(NOW)) {
                            Verdict::Authenticated(_) => accepted.fetch_add(1, SeqCst),
                            Verdict::Challenge(c) if c.reason == Reason::Replayed => replayed.fetch_add(1, SeqCst),
                            other => panic!("raced header got {other:?}"),
                        };
                    }
                });
            }
        });
        (accepted.into_inner(), replayed.into_inner())
    });
    assert_eq!(accepted, ROUNDS, "each header accepted exactly once");
    assert_eq!(replayed, ROUNDS * (THREADS as u32 - 1));
}

/// The replay store alone: 16 threads record the same (nonce, nc) pairs, each thread in its
/// own order; every pair is `Fresh` for exactly one thread.
#[test]
fn replay_table_under_contention_records_each_pair_once() {
    const NONCES: usize = 8;
    const NCS: u32 = 48;
    let fresh: Vec<AtomicU32> = with_watchdog("replay table", WATCHDOG, || {
        let table = Mutex::new(ReplayTable::<NONCES>::new());
        let fresh: Vec<AtomicU32> = (0..NONCES * NCS as usize).map(|_| AtomicU32::new(0)).collect();
        thread::scope(|s| {
            for t in 0..THREADS {
                let (table, fresh) = (&table, &fresh);
                s.spawn(move || {
                    // Within the window (48 < 64): every order is legal, so every pair must
                    // come out Fresh exactly once, whichever thread gets there first.
                    let mut pairs: Vec<(usize, u32)> =
                        (0..NONCES).flat_map(|n| (1..=NCS).map(move |nc| (n, nc))).collect();
                    let len = pairs.len();
                    pairs.rotate_left(t * 37 % len);
                    if t % 2 == 1 {
                        pairs.reverse();
                    }
                    for (n, nc) in pairs {
                        let id = [n as u8 + 1; 16];
                        match ReplayStore::check_and_record(table, &id, 1000 + n as u64, nc) {
                            ReplayOutcome::Fresh => {
                                fresh[n * NCS as usize + (nc - 1) as usize].fetch_add(1, SeqCst);
                            }
                            ReplayOutcome::Replayed => {}
                            ReplayOutcome::Stale => panic!("nothing was evicted, yet ({n}, {nc}) is stale"),
                        }
                    }
                });
            }
        });
        fresh
    });
    let counts: HashSet<u32> = fresh.iter().map(|a| a.load(SeqCst)).collect();
    assert_eq!(counts, HashSet::from([1]), "some pair was fresh 0 or several times");
}
