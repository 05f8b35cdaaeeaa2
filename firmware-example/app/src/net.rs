//! Keeping the device on the network: join, get an address, notice loss, rejoin with backoff.
//!
//! The boards' link is Wi-Fi (cyw43: join the access point), the Linux twin's a TAP device
//! (joined when the interface is up); both implement [`Link`] and run this same loop. DHCP
//! (lease, renewal, a new lease after a link loss) is embassy-net's; this loop waits for it
//! and logs what changed.

use embassy_futures::select::{Either, select};
use embassy_net::{Ipv4Address, Stack};
use embassy_time::{Duration, Instant, Timer, with_timeout};

/// The layer under IP.
#[allow(async_fn_in_trait)] // one executor: the futures need not be Send
pub trait Link {
    /// Why a join failed, for the log.
    type Error: core::fmt::Display + LogFormat;

    /// What is being joined (the SSID, the TAP device), for the log.
    fn name(&self) -> &str;

    /// Join (associate and authenticate); `Ok` once frames can flow.
    async fn join(&mut self) -> Result<(), Self::Error>;

    /// Drop what is left of a lost association before joining again.
    async fn leave(&mut self);

    /// Offline for [`GIVE_UP_AFTER`]: reset the device (a wedged radio comes back from a
    /// power-on reset). The Linux twin only logs.
    fn give_up(&mut self);
}

/// `defmt::Format` where defmt is in use, nothing otherwise (the log macros need both).
#[cfg(feature = "defmt")]
pub trait LogFormat: defmt::Format {}
#[cfg(feature = "defmt")]
impl<T: defmt::Format> LogFormat for T {}
#[cfg(not(feature = "defmt"))]
pub trait LogFormat {}
#[cfg(not(feature = "defmt"))]
impl<T> LogFormat for T {}

/// A join that has not finished by then is abandoned and retried.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for DHCP to hand out an address after a join, else leave and join again.
pub const ADDRESS_TIMEOUT: Duration = Duration::from_secs(30);
/// Offline this long (however many attempts): [`Link::give_up`].
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);

/// Wait before the `attempt`-th retry (1-based): 1 s, 2 s, 4 s … capped at 60 s, so a
/// device whose access point reboots is back within a minute of it, and one whose access
/// point is gone for good asks about once a minute.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// What the device answers to, for the log lines.
pub struct Names<'a> {
    pub hostname: &'a str,
    pub port: u16,
}

/// Runs forever: join, wait for an address, serve until the link drops, rejoin.
pub async fn supervise<L: Link>(stack: Stack<'static>, link: &mut L, names: &Names<'_>) -> ! {
    // Set while recovering from a lost link (not at boot): when it began.
    let mut outage: Option<Instant> = None;
    let mut offline_since = Instant::now();
    let mut attempts: u32 = 0;
    loop {
        // Join, with backoff.
        loop {
            attempts += 1;
            let result = with_timeout(JOIN_TIMEOUT, link.join()).await;
            match result {
                Ok(Ok(())) => {
                    // The stack sees the link come up on its next poll of the driver.
                    if with_timeout(Duration::from_secs(5), stack.wait_link_up()).await.is_ok() {
                        break;
                    }
                    warn!("joined {} but the link did not come up", link.name());
                }
                Ok(Err(e)) => warn!("joining {} failed: {}", link.name(), e),
                Err(_) => warn!("joining {} timed out", link.name()),
            }
            if offline_since.elapsed() >= GIVE_UP_AFTER {
                warn!("offline for {} s: resetting the device", offline_since.elapsed().as_secs());
                link.give_up();
            }
            let wait = backoff(attempts);
            info!("join attempt {} in {} s", attempts + 1, wait.as_secs());
            Timer::after(wait).await;
        }
        info!("joined {}", link.name());

        // An address (DHCP, or the twin's static one).
        if with_timeout(ADDRESS_TIMEOUT, stack.wait_config_up()).await.is_err() {
            warn!("no address within {} s of joining {}; joining again", ADDRESS_TIMEOUT.as_secs(), link.name());
            link.leave().await;
            Timer::after(backoff(attempts)).await;
            continue;
        }
        let mut address = current_address(stack);
        if let Some(a) = address {
            let port = Port(names.port);
            match outage.take() {
                Some(since) => info!(
                    "back online after {} s ({} join attempts): http://{}{}/ (http://{}.local{}/)",
                    since.elapsed().as_secs(),
                    attempts,
                    a,
                    port,
                    names.hostname,
                    port
                ),
                None => info!("serving on http://{}{}/ and http://{}.local{}/", a, port, names.hostname, port),
            }
        }
        attempts = 0;

        // Online: watch for a lost link and for the address changing (DHCP).
        loop {
            match select(stack.wait_link_down(), Timer::after_secs(1)).await {
                Either::First(()) => break,
                Either::Second(()) => {
                    let now = current_address(stack);
                    if now != address {
                        match now {
                            Some(a) => info!("address is now {} (DHCP)", a),
                            None => warn!("address lost (DHCP lease ended); waiting for a new one"),
                        }
                        address = now;
                    }
                }
            }
        }
        warn!("link to {} lost; rejoining", link.name());
        outage = Some(Instant::now());
        offline_since = Instant::now();
        link.leave().await;
    }
}

fn current_address(stack: Stack<'_>) -> Option<Ipv4Address> {
    stack.config_v4().map(|c| c.address.address())
}

/// `:port` unless it is 80.
struct Port(u16);

impl core::fmt::Display for Port {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == 80 { Ok(()) } else { write!(f, ":{}", self.0) }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Port {
    fn format(&self, f: defmt::Formatter<'_>) {
        if self.0 != 80 {
            defmt::write!(f, ":{}", self.0)
        }
    }
}
