//! Replay stores: the core's table in shared memory ([`SharedMemoryReplayStore`], the
//! default) or in this process ([`MemoryReplayStore`]), or any Python object with
//! `check_and_record(nonce_id: bytes, issued: int, nc: int) -> str` (e.g.
//! `authgate.RedisNonceStore`), behind one seam ([`Replay`]). A store built into this
//! extension implements [`NativeStore`] and is recognised in [`Replay::of`];
//! [`default_store`] is the one place that says what an engine uses when the application
//! names no store.

use std::sync::Mutex;

use authgate::nonce::NonceId;
use authgate::replay::NcWindow;
use authgate::{ReplayOutcome, ReplayStore, ReplayTable};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::now_secs;
use crate::credentials::Call;
use crate::shared_store::SharedMemoryReplayStore;

pub(crate) fn outcome_name(o: ReplayOutcome) -> &'static str {
    match o {
        ReplayOutcome::Fresh => "fresh",
        ReplayOutcome::Replayed => "replayed",
        ReplayOutcome::Stale => "stale",
    }
}

/// A Python store's answer: "fresh", "replayed", anything else (a failure) "stale".
pub(crate) fn outcome_of(name: &str) -> ReplayOutcome {
    match name {
        "fresh" => ReplayOutcome::Fresh,
        "replayed" => ReplayOutcome::Replayed,
        _ => ReplayOutcome::Stale,
    }
}

enum Table {
    Small(Box<ReplayTable<256>>),
    Medium(Box<ReplayTable<1024>>),
    Large(Box<ReplayTable<4096>>),
}

struct TableState {
    table: Table,
    calls: u32,
}

/// The core's replay table in this process only (the default, `SharedMemoryReplayStore`,
/// is shared by the processes of a server; `RedisNonceStore` by several hosts). Its memory
/// begins when it is made: nonces issued before are answered stale.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct MemoryReplayStore {
    inner: Mutex<TableState>,
    /// Nonces tracked at most (256, 1024 or 4096).
    #[pyo3(get)]
    capacity: usize,
    /// Entries issued longer ago than this many seconds are purged now and then.
    #[pyo3(get)]
    max_age: u64,
}

impl MemoryReplayStore {
    pub(crate) fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        let mut st = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        st.calls = st.calls.wrapping_add(1);
        if st.calls.is_multiple_of(256) {
            let cutoff = now_secs().saturating_sub(self.max_age);
            match &mut st.table {
                Table::Small(t) => t.purge_before(cutoff),
                Table::Medium(t) => t.purge_before(cutoff),
                Table::Large(t) => t.purge_before(cutoff),
            }
        }
        match &mut st.table {
            Table::Small(t) => t.check_and_record(id, issued, nc),
            Table::Medium(t) => t.check_and_record(id, issued, nc),
            Table::Large(t) => t.check_and_record(id, issued, nc),
        }
    }
}

#[pymethods]
impl MemoryReplayStore {
    /// `capacity` is rounded up to 256, 1024 or 4096 nonces (at most 4096); `max_age` is how
    /// long a nonce's counts are kept (an engine's `replay_retention`).
    #[new]
    #[pyo3(signature = (capacity = 4096, max_age = 600))]
    fn new(capacity: usize, max_age: u64) -> Self {
        let (table, capacity) = match capacity {
            0..=256 => (Table::Small(Box::new(ReplayTable::since(now_secs()))), 256),
            257..=1024 => (Table::Medium(Box::new(ReplayTable::since(now_secs()))), 1024),
            _ => (Table::Large(Box::new(ReplayTable::since(now_secs()))), 4096),
        };
        MemoryReplayStore { inner: Mutex::new(TableState { table, calls: 0 }), capacity, max_age }
    }

    /// `"fresh"`, `"replayed"` or `"stale"` for this (nonce id, nc); records it when fresh.
    fn check_and_record(&self, py: Python<'_>, nonce_id: &[u8], issued: u64, nc: u32) -> PyResult<&'static str> {
        let id: NonceId = nonce_id.try_into().map_err(|_| PyValueError::new_err("nonce ids are 16 bytes"))?;
        Ok(outcome_name(py.detach(|| self.record(&id, issued, nc))))
    }

    fn __len__(&self) -> usize {
        let st = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &st.table {
            Table::Small(t) => t.len(),
            Table::Medium(t) => t.len(),
            Table::Large(t) => t.len(),
        }
    }
}

/// The core's per-nonce window, for stores that keep it elsewhere: given the stored state
/// (12 bytes, or `None` for a nonce never used) and an nc, returns `(outcome, new_state)`,
/// outcome `"fresh"` or `"replayed"`. The state only changes when the outcome is fresh.
/// With `since` (the second the store's memory began), a nonce never used that was
/// `issued` before it is `"stale"`: the core's table with that horizon decides.
#[pyfunction]
#[pyo3(signature = (state, nc, issued = 0, since = None))]
fn window_record<'py>(
    py: Python<'py>,
    state: Option<&[u8]>,
    nc: u32,
    issued: u64,
    since: Option<u64>,
) -> PyResult<(&'static str, Bound<'py, PyBytes>)> {
    let mut w = match state {
        None => NcWindow::new(),
        Some(s) => NcWindow::from_bytes(s).ok_or_else(|| PyValueError::new_err("window state is 12 bytes"))?,
    };
    if let (None, Some(since)) = (state, since) {
        if ReplayTable::<1>::since(since).check_and_record(&[0; 16], issued, nc) == ReplayOutcome::Stale {
            return Ok((outcome_name(ReplayOutcome::Stale), PyBytes::new(py, &w.to_bytes())));
        }
    }
    let o = w.record(nc);
    Ok((outcome_name(o), PyBytes::new(py, &w.to_bytes())))
}

/// The store an engine uses when the application names none: the core's table in shared
/// memory, one for every process of the server, named after the engine's `namespace` (its
/// key and realm, `shared_store::namespace`), keeping counts for `retention` seconds.
pub(crate) fn default_store(py: Python<'_>, retention: u64, namespace: [u8; 16]) -> PyResult<Replay> {
    Ok(Replay::Native(Box::new(Py::new(py, SharedMemoryReplayStore::for_engine(retention, namespace))?)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MemoryReplayStore>()?;
    m.add_class::<SharedMemoryReplayStore>()?;
    m.add_function(wrap_pyfunction!(window_record, m)?)?;
    m.add("WINDOW", authgate::replay::WINDOW)
}

/// A store built into this extension, called without going through Python.
pub(crate) trait NativeStore: Send + Sync {
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome;
    fn object(&self, py: Python<'_>) -> Py<PyAny>;
}

impl NativeStore for Py<MemoryReplayStore> {
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        self.get().record(id, issued, nc)
    }
    fn object(&self, py: Python<'_>) -> Py<PyAny> {
        self.clone_ref(py).into_any()
    }
}

impl NativeStore for Py<SharedMemoryReplayStore> {
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        self.get().record(id, issued, nc)
    }
    fn object(&self, py: Python<'_>) -> Py<PyAny> {
        self.clone_ref(py).into_any()
    }
}

/// A replay store: a built-in one, or any Python object with `check_and_record`.
pub(crate) enum Replay {
    Native(Box<dyn NativeStore>),
    Python(Py<PyAny>),
}

impl Replay {
    /// The store `obj` names (`None`: [`default_store`]) for an engine of `namespace`.
    pub(crate) fn of(
        py: Python<'_>,
        obj: Option<&Bound<'_, PyAny>>,
        retention: u64,
        namespace: [u8; 16],
    ) -> PyResult<Replay> {
        let Some(o) = obj.filter(|o| !o.is_none()) else { return default_store(py, retention, namespace) };
        if let Ok(m) = o.cast::<MemoryReplayStore>() {
            return Ok(Replay::Native(Box::new(m.clone().unbind())));
        }
        if let Ok(s) = o.cast::<SharedMemoryReplayStore>() {
            s.get().bind(namespace);
            return Ok(Replay::Native(Box::new(s.clone().unbind())));
        }
        if !o.hasattr("check_and_record")? {
            return Err(PyTypeError::new_err("a replay store needs check_and_record(nonce_id, issued, nc)"));
        }
        let inspect = py.import("inspect")?;
        if inspect.call_method1("iscoroutinefunction", (o.getattr("check_and_record")?,))?.is_truthy()? {
            return Err(PyTypeError::new_err(
                "this replay store is async (e.g. AsyncRedisNonceStore, for ASGI layers that await it): \
                 give a synchronous engine RedisNonceStore",
            ));
        }
        Ok(Replay::Python(o.clone().unbind()))
    }

    /// The Python object.
    pub(crate) fn object(&self, py: Python<'_>) -> Py<PyAny> {
        match self {
            Replay::Native(n) => n.object(py),
            Replay::Python(o) => o.clone_ref(py),
        }
    }
}

impl ReplayStore for Replay {
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        match self {
            Replay::Native(n) => n.record(id, issued, nc),
            // An async layer asks the store itself, after the check (Engine::settle).
            Replay::Python(_) if Call::defer_replay(id, issued, nc) => ReplayOutcome::Fresh,
            Replay::Python(obj) => Python::attach(|py| {
                let r = obj
                    .bind(py)
                    .call_method1("check_and_record", (PyBytes::new(py, id), issued, nc))
                    .and_then(|v| v.extract::<String>());
                match r.as_deref() {
                    Ok(name) => outcome_of(name),
                    Err(_) => {
                        // Never fresh on failure; the exception is raised after the check.
                        if let Err(e) = r {
                            Call::keep_error(e);
                        }
                        ReplayOutcome::Stale
                    }
                }
            }),
        }
    }
}
