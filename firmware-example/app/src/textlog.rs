//! The text log: one line per event, kept in a small buffer until a reader takes it (the USB
//! serial task on the boards, a stderr task on the Linux twin).
//!
//! Lines are written whole or not at all: when the buffer is full (nobody has the serial port
//! open) new lines are dropped and counted, so the boot lines (address, mDNS name) stay for
//! whoever connects first, and the count says what was missed. No secret is ever logged.

use core::fmt::Write as _;
use core::sync::atomic::{AtomicU32, Ordering};

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::pipe::Pipe;

/// Bytes of log kept for a reader (some 30 lines).
pub const LOG_BYTES: usize = 2048;
/// Longest line; longer ones are cut.
pub const LINE_LEN: usize = 192;

static LOG: Pipe<CriticalSectionRawMutex, LOG_BYTES> = Pipe::new();
static DROPPED: AtomicU32 = AtomicU32::new(0);

#[derive(Clone, Copy)]
pub enum Level {
    Info,
    Warn,
}

/// Append one line, `[uptime] LEVEL message`.
pub fn line(level: Level, args: core::fmt::Arguments<'_>) {
    let mut text: heapless::String<LINE_LEN> = heapless::String::new();
    let ms = embassy_time::Instant::now().as_millis();
    let tag = match level {
        Level::Info => "INFO",
        Level::Warn => "WARN",
    };
    let _ = write!(text, "[{:>6}.{:03}] {} ", ms / 1000, ms % 1000, tag);
    if text.write_fmt(args).is_err() {
        // Cut at a character boundary, and say so.
        while text.len() > LINE_LEN - 4 {
            text.pop();
        }
        let _ = text.push_str("...");
    }
    let _ = text.push('\n');
    if LOG.free_capacity() < text.len() || LOG.try_write(text.as_bytes()).map_or(true, |n| n != text.len()) {
        // thumbv6m has no atomic read-modify-write; every writer runs on one executor.
        DROPPED.store(DROPPED.load(Ordering::Relaxed).saturating_add(1), Ordering::Relaxed);
    }
}

/// Wait for log text and copy some into `buf`; returns the byte count. A note about dropped
/// lines comes first when there were any.
pub async fn read(buf: &mut [u8]) -> usize {
    let dropped = DROPPED.load(Ordering::Relaxed);
    if dropped > 0 {
        DROPPED.store(0, Ordering::Relaxed);
        let mut note: heapless::String<48> = heapless::String::new();
        let _ = writeln!(note, "[{dropped} log lines dropped]");
        let n = note.len().min(buf.len());
        buf[..n].copy_from_slice(&note.as_bytes()[..n]);
        return n;
    }
    LOG.read(buf).await
}
