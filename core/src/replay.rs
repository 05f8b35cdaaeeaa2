//! Replay protection: which (nonce, nc) pairs were already accepted.
//!
//! Record a pair only *after* the response has been verified: recording first would let an
//! attacker without the password burn an honest client's counts.

use crate::nonce::{id_sequence, NonceId};

/// Width of the sliding window of nonce counts kept per nonce.
pub const WINDOW: u32 = 64;

/// What a replay store says about a (nonce, nc) pair whose response was correct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// First use of this nc with this nonce: accept. The pair is now recorded.
    Fresh,
    /// This nc was used before with this nonce (or is older than the window): refuse.
    Replayed,
    /// The store no longer knows the nonce's history (evicted, or the store is unavailable):
    /// answer `stale=true` so the client fetches a new nonce. Never treated as fresh.
    Stale,
}

/// A store of used nonce counts. Implementations decide how they are shared: a
/// [`ReplayTable`] behind a `RefCell` or `Mutex` in one process, Redis across processes.
///
/// `check_and_record` must be atomic per nonce: two concurrent calls with the same pair
/// must not both see [`ReplayOutcome::Fresh`].
///
/// A store that wraps another and counts the replays it refused (for a metrics endpoint):
///
/// ```
/// use authgate::nonce::NonceId;
/// use authgate::{ReplayOutcome, ReplayStore, ReplayTable};
/// use core::cell::RefCell;
/// use core::sync::atomic::{AtomicU32, Ordering};
///
/// struct Counting<S> {
///     inner: S,
///     replays: AtomicU32,
/// }
///
/// impl<S: ReplayStore> ReplayStore for Counting<S> {
///     fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
///         let outcome = self.inner.check_and_record(id, issued, nc);
///         if outcome == ReplayOutcome::Replayed {
///             self.replays.fetch_add(1, Ordering::Relaxed);
///         }
///         outcome
///     }
/// }
///
/// let store = Counting { inner: RefCell::new(ReplayTable::<64>::new()), replays: AtomicU32::new(0) };
/// let (nonce, issued) = ([9; 16], 1_700_000_000);
/// assert_eq!(store.check_and_record(&nonce, issued, 2), ReplayOutcome::Fresh);
/// assert_eq!(store.check_and_record(&nonce, issued, 1), ReplayOutcome::Fresh); // pipelined, out of order
/// assert_eq!(store.check_and_record(&nonce, issued, 2), ReplayOutcome::Replayed);
/// assert_eq!(store.replays.load(Ordering::Relaxed), 1);
/// // `Engine::new(config, &key, users, &store)` then checks every Digest nonce count through it.
/// ```
pub trait ReplayStore {
    /// Checks and records `nc` for the nonce `id` issued at `issued` (caller's seconds).
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome;
}

impl<T: ReplayStore + ?Sized> ReplayStore for &T {
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        (**self).check_and_record(id, issued, nc)
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: NonceId,
    issued: u64,
    window: NcWindow,
}

/// One nonce's history: the highest nc accepted and a [`WINDOW`]-wide bitmap below it.
///
/// This is the window logic of [`ReplayTable`], public so that a store keeping its state
/// elsewhere (a Redis hash updated in a transaction, say) applies exactly the same rules.
/// The state is 12 bytes: [`to_bytes`](Self::to_bytes) / [`from_bytes`](Self::from_bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NcWindow {
    /// The highest nc accepted so far (0: none yet).
    pub max_nc: u32,
    /// Bit i set: `max_nc - i` was used.
    pub seen: u64,
}

impl NcWindow {
    /// A nonce never used.
    pub const fn new() -> Self {
        NcWindow { max_nc: 0, seen: 0 }
    }

    /// Checks `nc` and records it when fresh: [`ReplayOutcome::Fresh`] or
    /// [`ReplayOutcome::Replayed`] (used before, or older than the window).
    pub fn record(&mut self, nc: u32) -> ReplayOutcome {
        if nc > self.max_nc {
            let shift = nc - self.max_nc;
            self.seen = if shift >= WINDOW { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.max_nc = nc;
            return ReplayOutcome::Fresh;
        }
        let back = self.max_nc - nc;
        if back >= WINDOW || self.seen & (1 << back) != 0 {
            return ReplayOutcome::Replayed;
        }
        self.seen |= 1 << back;
        ReplayOutcome::Fresh
    }

    /// `max_nc` (big-endian u32) then `seen` (big-endian u64).
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.max_nc.to_be_bytes());
        out[4..].copy_from_slice(&self.seen.to_be_bytes());
        out
    }

    /// The inverse of [`to_bytes`](Self::to_bytes); `None` unless exactly 12 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let max_nc = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
        let seen = u64::from_be_bytes(bytes.get(4..12)?.try_into().ok()?);
        (bytes.len() == 12).then_some(NcWindow { max_nc, seen })
    }
}

/// A fixed-capacity table of recently used nonces, `N` entries of 40 bytes.
///
/// Per nonce it keeps the highest nc seen and a [`WINDOW`]-wide bitmap below it, so
/// pipelined requests arriving out of order pass while any repeated pair is refused.
///
/// When full, the oldest nonce is evicted: the one issued first, by issue time and, within
/// one second, by the sequence number every nonce carries ([`crate::nonce`]). The *horizon*
/// moves up to it: a nonce the table does not hold that was issued at or before the horizon
/// is answered [`ReplayOutcome::Stale`], so an evicted nonce can never start over as fresh.
/// Because the horizon is that one nonce's place in the issue order, not its second, a
/// nonce issued after it is never refused, however many nonces were used in that second: a
/// client doing a thousand logins a second fills the table without locking anyone else out.
/// Only nonces really older than an evicted one, and never used, are answered stale.
/// [`purge_before`](Self::purge_before) moves the horizon by whole seconds.
#[derive(Clone, Debug)]
pub struct ReplayTable<const N: usize> {
    entries: heapless::Vec<Entry, N>,
    horizon: Option<Horizon>,
}

/// The newest evicted place in the issue order: a second, and the sequence number of the
/// last nonce evicted from it (`None`: the whole second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Horizon {
    issued: u64,
    sequence: Option<u32>,
}

impl Horizon {
    /// Whether a nonce at place `p` is at or before the horizon.
    fn covers(&self, p: (u64, u32)) -> bool {
        match self.sequence {
            None => p.0 <= self.issued,
            Some(s) => not_after(p, (self.issued, s)),
        }
    }
}

/// A nonce's place in the issue order: its second, and its issuer's sequence number.
fn place(issued: u64, id: &NonceId) -> (u64, u32) {
    (issued, id_sequence(id))
}

/// Whether place `a` comes at or before place `b`: by second, then by sequence in serial
/// number arithmetic (RFC 1982: exact while fewer than 2^31 nonces lie between them, which
/// holds within one second).
fn not_after(a: (u64, u32), b: (u64, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && (a.1.wrapping_sub(b.1) as i32) <= 0)
}

impl<const N: usize> Default for ReplayTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ReplayTable<N> {
    /// An empty table.
    pub const fn new() -> Self {
        ReplayTable { entries: heapless::Vec::new(), horizon: None }
    }

    /// An empty table whose memory begins at second `t`: a nonce issued before `t` is
    /// answered [`ReplayOutcome::Stale`], as if evicted, because its earlier uses (recorded by
    /// a store that has since lost them: a restart, a recreated shared segment) are unknown.
    /// Nonces issued in second `t` itself are admitted, so that a client's retry with a
    /// fresh nonce succeeds at once.
    pub const fn since(t: u64) -> Self {
        let horizon = match t.checked_sub(1) {
            Some(issued) => Some(Horizon { issued, sequence: None }),
            None => None,
        };
        ReplayTable { entries: heapless::Vec::new(), horizon }
    }

    /// Nonces currently tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no nonce is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Checks and records a pair. See [`ReplayStore::check_and_record`].
    // Inlined into the locking wrappers for speed.
    #[cfg_attr(not(authgate_backend = "compact"), inline)]
    pub fn check_and_record(&mut self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == *id) {
            return e.window.record(nc);
        }
        if self.horizon.is_some_and(|h| h.covers(place(issued, id))) || N == 0 {
            return ReplayOutcome::Stale;
        }
        if self.entries.is_full() {
            // The oldest held (the last of equals), whose history is forgotten; the horizon
            // moves up to it (never down: a nonce older than every one held gets in, and
            // the nonces evicted before stay behind the horizon).
            let (mut oldest, mut first) = (0, None);
            for (i, x) in self.entries.iter().enumerate() {
                let p = place(x.issued, &x.id);
                if first.is_none_or(|f| not_after(p, f)) {
                    (oldest, first) = (i, Some(p));
                }
            }
            self.take(oldest);
            if let Some((issued, sequence)) = first.filter(|&f| self.horizon.is_none_or(|h| !h.covers(f))) {
                self.horizon = Some(Horizon { issued, sequence: Some(sequence) });
            }
        }
        let mut e = Entry { id: *id, issued, window: NcWindow::new() };
        let outcome = e.window.record(nc);
        // Cannot fail: a slot was freed above when the table was full.
        let _ = self.entries.push(e);
        outcome
    }

    /// `swap_remove` by copy: `Entry` is `Copy`, and heapless's `swap_remove` would link a
    /// 1.3 KiB `memmove` into firmware for the one overlapping case (removing the last entry).
    fn take(&mut self, i: usize) -> Entry {
        let removed = self.entries[i];
        let last = self.entries.len() - 1;
        if i < last {
            // Two disjoint slices: a plain copy, never a memmove.
            let (head, tail) = self.entries.split_at_mut(last);
            head[i..=i].copy_from_slice(&tail[..1]);
        }
        self.entries.pop();
        removed
    }

    /// Forgets nonces issued before `cutoff` (e.g. `now - lifetime`): they are refused as
    /// expired anyway. The horizon moves up, so they stay refused if the clock goes back.
    pub fn purge_before(&mut self, cutoff: u64) {
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].issued < cutoff {
                let e = self.take(i);
                if self.horizon.is_none_or(|h| h.issued <= e.issued) {
                    self.horizon = Some(Horizon { issued: e.issued, sequence: None });
                }
            } else {
                i += 1;
            }
        }
    }
}

impl<const N: usize> ReplayStore for core::cell::RefCell<ReplayTable<N>> {
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        // Re-entrance is impossible here; if it ever happened, refusing is the safe answer.
        match self.try_borrow_mut() {
            Ok(mut t) => t.check_and_record(id, issued, nc),
            Err(_) => ReplayOutcome::Stale,
        }
    }
}

#[cfg(feature = "std")]
impl<const N: usize> ReplayStore for std::sync::Mutex<ReplayTable<N>> {
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        // A poisoned lock still holds a consistent table: every update is a single store.
        let mut t = self.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        t.check_and_record(id, issued, nc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> NonceId {
        [n; 16]
    }

    #[test]
    fn out_of_order_window() {
        let mut t = ReplayTable::<4>::new();
        assert_eq!(t.check_and_record(&id(1), 10, 3), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(1), 10, 1), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(1), 10, 2), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(1), 10, 2), ReplayOutcome::Replayed);
        assert_eq!(t.check_and_record(&id(1), 10, 3), ReplayOutcome::Replayed);
        assert_eq!(t.check_and_record(&id(1), 10, 100), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(1), 10, 37), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(1), 10, 37), ReplayOutcome::Replayed);
        // Older than the window: refused even though never seen.
        assert_eq!(t.check_and_record(&id(1), 10, 30), ReplayOutcome::Replayed);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn window_matches_table_and_round_trips() {
        let mut t = ReplayTable::<1>::new();
        let mut w = NcWindow::new();
        for nc in [3, 1, 2, 2, 3, 100, 37, 37, 30, 101, 99, 200, 137, 136] {
            assert_eq!(w.record(nc), t.check_and_record(&id(1), 10, nc), "nc {nc}");
            assert_eq!(NcWindow::from_bytes(&w.to_bytes()), Some(w));
        }
        assert_eq!(NcWindow::from_bytes(&[0; 11]), None);
        assert_eq!(NcWindow::from_bytes(&[0; 13]), None);
    }

    #[test]
    fn eviction_makes_old_nonces_stale_not_fresh() {
        let mut t = ReplayTable::<2>::new();
        assert_eq!(t.check_and_record(&id(1), 10, 1), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(2), 20, 1), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(3), 30, 1), ReplayOutcome::Fresh);
        assert_eq!(t.len(), 2);
        // id(1) was evicted: its history is gone, so it must not start over.
        assert_eq!(t.check_and_record(&id(1), 10, 1), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&id(1), 10, 2), ReplayOutcome::Stale);
        // An unseen nonce issued before the horizon is stale too; a later one is fine.
        assert_eq!(t.check_and_record(&id(9), 5, 1), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&id(4), 40, 1), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(3), 30, 1), ReplayOutcome::Replayed);
    }

    /// A nonce id with issue sequence `seq` (the rest of it distinct too).
    fn seq_id(seq: u32) -> NonceId {
        let mut id = [0xa5; 16];
        id[..4].copy_from_slice(&seq.to_be_bytes());
        id[4..8].copy_from_slice(&seq.wrapping_mul(0x9e37_79b9).to_le_bytes());
        id
    }

    /// A burst of 100 times the table's size, all in one second, each nonce used once (as a
    /// client logging in again and again): every never-used nonce issued after the burst is
    /// fresh, and so is every new nonce during it; an evicted nonce is stale, never fresh;
    /// a held one replayed is refused; a never-used nonce issued before the evicted ones is
    /// stale. The sequence numbers cross the u32 wrap in the middle of the second.
    #[test]
    fn burst_far_larger_than_the_table_refuses_no_fresh_nonce() {
        // A smaller table under Miri (interpreted: minutes with 64 entries).
        const N: usize = if cfg!(miri) { 4 } else { 64 };
        let mut t = ReplayTable::<N>::new();
        let first = u32::MAX - 50 * N as u32;
        // Issued before the burst, in the same second, used only after it.
        let early = seq_id(first.wrapping_sub(1));
        let burst = 100 * N as u32;
        for k in 0..burst {
            assert_eq!(t.check_and_record(&seq_id(first.wrapping_add(k)), 500, 1), ReplayOutcome::Fresh, "{k}");
        }
        assert_eq!(t.len(), N);
        let after = first.wrapping_add(burst);
        for k in 0..10 * N as u32 {
            assert_eq!(t.check_and_record(&seq_id(after.wrapping_add(k)), 500, 1), ReplayOutcome::Fresh, "{k}");
            assert_eq!(t.check_and_record(&seq_id(after.wrapping_add(k)), 500, 1), ReplayOutcome::Replayed, "{k}");
        }
        for k in [0, 1, burst / 2, burst - 1] {
            assert_eq!(t.check_and_record(&seq_id(first.wrapping_add(k)), 500, 2), ReplayOutcome::Stale, "{k}");
        }
        assert_eq!(t.check_and_record(&early, 500, 1), ReplayOutcome::Stale);
        // Earlier seconds are behind the horizon; later ones are fresh whatever their sequence.
        assert_eq!(t.check_and_record(&seq_id(after.wrapping_add(5000)), 499, 1), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&seq_id(first), 501, 1), ReplayOutcome::Fresh);
    }

    /// A never-used nonce older than every one held, but after the horizon, gets in (it is
    /// older than no evicted one); the oldest held goes, and the horizon never moves down.
    #[test]
    fn an_older_newcomer_gets_in_and_the_oldest_held_goes() {
        use ReplayOutcome::{Fresh, Replayed, Stale};
        let mut t = ReplayTable::<2>::new();
        // (sequence, nc, outcome), all in second 7.
        let steps = [
            (10, 1, Fresh),
            (11, 1, Fresh),
            // Older than both held, after the horizon: in; 10 (the oldest held) goes.
            (9, 1, Fresh),
            (10, 2, Stale),
            (9, 1, Replayed),
            (11, 1, Replayed),
            // 9 goes next; the horizon stays at 10, so 8 (older than an evicted one) is stale.
            (12, 1, Fresh),
            (9, 2, Stale),
            (8, 1, Stale),
            (11, 2, Fresh),
        ];
        for (i, (seq, nc, want)) in steps.into_iter().enumerate() {
            assert_eq!(t.check_and_record(&seq_id(seq), 7, nc), want, "step {i}");
        }
    }

    #[test]
    fn a_table_since_t_refuses_older_nonces_as_stale() {
        let mut t = ReplayTable::<4>::since(100);
        assert_eq!(t.check_and_record(&id(1), 99, 1), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&id(1), 99, 2), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&id(2), 100, 1), ReplayOutcome::Fresh);
        assert_eq!(t.check_and_record(&id(2), 100, 1), ReplayOutcome::Replayed);
        assert_eq!(t.check_and_record(&id(3), 101, 1), ReplayOutcome::Fresh);
        assert_eq!(t.len(), 2);
        let mut zero = ReplayTable::<4>::since(0);
        assert_eq!(zero.check_and_record(&id(1), 0, 1), ReplayOutcome::Fresh);
    }

    #[test]
    fn purge_moves_horizon() {
        let mut t = ReplayTable::<8>::new();
        t.check_and_record(&id(1), 10, 1);
        t.check_and_record(&id(2), 50, 1);
        t.purge_before(20);
        assert_eq!(t.len(), 1);
        assert_eq!(t.check_and_record(&id(1), 10, 2), ReplayOutcome::Stale);
        // By whole seconds: any sequence of the purged second is stale.
        assert_eq!(t.check_and_record(&id(200), 10, 1), ReplayOutcome::Stale);
        assert_eq!(t.check_and_record(&id(200), 11, 1), ReplayOutcome::Fresh);
    }
}
