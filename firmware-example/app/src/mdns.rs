//! `<hostname>.local`: an mDNS responder (edge-mdns) on embassy-net, answering A queries
//! with the device's current address, multicast and one-shot (legacy unicast) alike.
//!
//! It follows the address: when DHCP hands out another one or the link drops, the responder
//! is restarted with the new address, which also re-announces it.

use core::convert::Infallible;
use core::net::{Ipv4Addr, Ipv6Addr};

use edge_mdns::buf::VecBufAccess;
use edge_mdns::domain::base::Ttl;
use edge_mdns::host::Host;
use edge_mdns::io::{self, IPV4_DEFAULT_SOCKET, Mdns};
use edge_mdns::HostAnswersMdnsHandler;
use edge_nal::UdpSplit;
use edge_nal_embassy::{Udp, UdpBuffers};
use embassy_futures::select::{Either, select};
use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use embassy_sync::signal::Signal;
use embassy_time::Timer;

/// mDNS messages this responder reads or writes; longer queries (rare: long known-answer
/// lists) are dropped by the socket.
const PACKET: usize = 768;
/// How long others may cache the answer.
const TTL_S: u32 = 120;

/// edge-mdns's own message buffers (the socket's are in the task).
static RECV_BUF: VecBufAccess<CriticalSectionRawMutex, PACKET> = VecBufAccess::new();
static SEND_BUF: VecBufAccess<CriticalSectionRawMutex, PACKET> = VecBufAccess::new();

/// Runs forever. `seed` (from the board's entropy) only jitters edge-mdns's answer delays.
pub async fn respond(stack: Stack<'static>, hostname: &str, seed: u64) -> ! {
    let socket_buffers = UdpBuffers::<1, PACKET, PACKET, 2>::new();
    let udp = Udp::new(stack, &socket_buffers);
    let mut rng = XorShift(seed | 1);
    loop {
        stack.wait_config_up().await;
        let Some(address) = stack.config_v4().map(|c| c.address.address()) else { continue };
        let mut socket = match io::bind(&udp, IPV4_DEFAULT_SOCKET, Some(Ipv4Addr::UNSPECIFIED), None).await {
            Ok(s) => s,
            Err(e) => {
                warn!("mDNS: cannot open UDP 5353: {}", MdnsFailure(&e.erase()));
                Timer::after_secs(5).await;
                continue;
            }
        };
        let (recv, send) = socket.split();
        let host = Host { hostname, ipv4: address, ipv6: Ipv6Addr::UNSPECIFIED, ttl: Ttl::from_secs(TTL_S) };
        let changed = Signal::<NoopRawMutex, ()>::new();
        let mdns = Mdns::new(Some(Ipv4Addr::UNSPECIFIED), None, recv, send, &RECV_BUF, &SEND_BUF, &mut rng, &changed);
        info!("mDNS: {}.local is {}", hostname, address);
        match select(mdns.run(HostAnswersMdnsHandler::new(&host)), moved(stack, address)).await {
            Either::First(Err(e)) => {
                warn!("mDNS responder stopped: {}; restarting", MdnsFailure(&e.erase()));
                Timer::after_secs(1).await;
            }
            Either::First(Ok(())) | Either::Second(()) => {}
        }
    }
}

/// Returns once the address is no longer `address` (lost, or another lease).
async fn moved(stack: Stack<'static>, address: Ipv4Addr) {
    loop {
        if stack.config_v4().map(|c| c.address.address()) != Some(address) {
            return;
        }
        Timer::after_secs(1).await;
    }
}

/// A small generator for edge-mdns's response jitter (not for anything secret).
struct XorShift(u64);

impl rand_core::TryRng for XorShift {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        Ok(x)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// An edge-mdns error for the log (its Display and defmt forms).
struct MdnsFailure<'a>(&'a io::MdnsIoErrorKind);

impl core::fmt::Display for MdnsFailure<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            io::MdnsIoError::MdnsError(_) => f.write_str("bad mDNS message"),
            io::MdnsIoError::NoRecvBufError | io::MdnsIoError::NoSendBufError => f.write_str("no buffer"),
            io::MdnsIoError::IoError(kind) => write!(f, "I/O error {:?}", kind),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for MdnsFailure<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self))
    }
}
