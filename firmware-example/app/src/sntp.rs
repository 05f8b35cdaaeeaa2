//! An SNTP client (RFC 4330, feature `jwt`): sets [`clock`](crate::clock) from the time
//! server `AUTHGATE_NTP_SERVER` after the network comes up, then every hour.
//!
//! Hand-written (one 48-byte request, a few checks on the answer): as with mDNS, a general
//! NTP crate would cost more flash than the protocol itself on the Pico W.

use embassy_net::Stack;
use embassy_net::dns::DnsQueryType;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_time::{Duration, Instant, Timer, with_timeout};

use crate::auth::Guard;

const PORT: u16 = 123;
const RESYNC: Duration = Duration::from_secs(3600);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// Seconds from 1900 (NTP's era 0) to 1970 (Unix).
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// Keeps the clock set, forever: retries with backoff (1 s doubling to 5 min) while the
/// server does not answer.
pub async fn keep_time(stack: Stack<'static>, server: &'static str, guard: &'static Guard) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 2];
    let mut tx_meta = [PacketMetadata::EMPTY; 1];
    let mut rx_buf = [0u8; 128];
    let mut tx_buf = [0u8; 64];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if socket.bind(0).is_err() {
        warn!("SNTP: cannot bind a UDP port");
    }
    let mut backoff = 1;
    info!("JWT bearer tokens are refused until the clock is set (SNTP from {})", server);
    loop {
        stack.wait_config_up().await;
        match query(stack, &mut socket, server).await {
            Ok(unix) => {
                crate::clock::set(unix, server, guard);
                backoff = 1;
                Timer::after(RESYNC).await;
            }
            Err(e) => {
                warn!("SNTP: no time from {}: {}; retrying in {} s", server, e, backoff);
                Timer::after_secs(backoff).await;
                backoff = (backoff * 2).min(300);
            }
        }
    }
}

async fn query(stack: Stack<'static>, socket: &mut UdpSocket<'_>, server: &str) -> Result<u64, &'static str> {
    // An address literal is answered without a query.
    let addresses = stack.dns_query(server, DnsQueryType::A).await.map_err(|_| "its name did not resolve")?;
    let address = *addresses.first().ok_or("its name did not resolve")?;
    // The transmit timestamp only has to come back as the originate timestamp: uptime in
    // microseconds makes each request's different.
    let id = Instant::now().as_micros().to_be_bytes();
    socket.send_to(&request(&id), (address, PORT)).await.map_err(|_| "the request could not be sent")?;
    let answer = with_timeout(ANSWER_TIMEOUT, async {
        let mut buf = [0u8; 68];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
            if from.endpoint.addr == address && from.endpoint.port == PORT {
                return read_answer(&buf[..n], &id);
            }
        }
    });
    answer.await.map_err(|_| "no answer")?
}

/// A client request: LI 0, version 4, mode 3 (client), `id` as the transmit timestamp.
pub fn request(id: &[u8; 8]) -> [u8; 48] {
    let mut r = [0u8; 48];
    r[0] = 0x23;
    r[40..48].copy_from_slice(id);
    r
}

/// Unix seconds from a server's answer to the request `id`, after RFC 4330 §5's checks.
pub fn read_answer(a: &[u8], id: &[u8; 8]) -> Result<u64, &'static str> {
    if a.len() < 48 {
        return Err("a short answer");
    }
    let (leap, version, mode, stratum) = (a[0] >> 6, (a[0] >> 3) & 7, a[0] & 7, a[1]);
    if mode != 4 || !(3..=4).contains(&version) {
        return Err("not a server answer");
    }
    if a[24..32] != id[..] {
        return Err("an answer to another request");
    }
    if leap == 3 || stratum == 0 || stratum > 15 {
        return Err("the server is not synchronised");
    }
    let seconds = u64::from(u32::from_be_bytes([a[40], a[41], a[42], a[43]]));
    if seconds == 0 {
        return Err("no transmit time");
    }
    // RFC 4330 §3: with the top bit clear, the time is in era 1 (from 2036).
    let seconds = if seconds & 0x8000_0000 == 0 { seconds + (1 << 32) } else { seconds };
    Ok(seconds - NTP_TO_UNIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(first: u8, stratum: u8, originate: [u8; 8], transmit: u32) -> [u8; 48] {
        let mut a = [0u8; 48];
        a[0] = first;
        a[1] = stratum;
        a[24..32].copy_from_slice(&originate);
        a[40..44].copy_from_slice(&transmit.to_be_bytes());
        a
    }

    const ID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    #[test]
    fn reads_the_transmit_time() {
        // 2026-12-07T00:00:00Z is Unix 1_796_601_600.
        let ntp = (1_796_601_600 + NTP_TO_UNIX) as u32;
        assert_eq!(read_answer(&answer(0x24, 2, ID, ntp), &ID), Ok(1_796_601_600));
        // Version 3 servers answer too.
        assert_eq!(read_answer(&answer(0x1c, 1, ID, ntp), &ID), Ok(1_796_601_600));
        // Era 1: 2036-02-07T06:28:16Z is NTP 0 of era 1.
        assert_eq!(read_answer(&answer(0x24, 2, ID, 1), &ID), Ok((1 << 32) + 1 - NTP_TO_UNIX));
    }

    #[test]
    fn refuses_what_is_not_a_synchronised_answer_to_this_request() {
        let ntp = (1_796_601_600 + NTP_TO_UNIX) as u32;
        assert!(read_answer(&answer(0x24, 2, ID, ntp)[..47], &ID).is_err());
        assert!(read_answer(&answer(0x23, 2, ID, ntp), &ID).is_err(), "mode 3 (a client)");
        assert!(read_answer(&answer(0x24, 2, [0; 8], ntp), &ID).is_err(), "another request's answer");
        assert!(read_answer(&answer(0xe4, 2, ID, ntp), &ID).is_err(), "leap 3: unsynchronised");
        assert!(read_answer(&answer(0x24, 0, ID, ntp), &ID).is_err(), "stratum 0: kiss-o'-death");
        assert!(read_answer(&answer(0x24, 16, ID, ntp), &ID).is_err(), "stratum 16");
        assert!(read_answer(&answer(0x24, 2, ID, 0), &ID).is_err(), "no transmit time");
        assert_eq!(request(&ID)[0], 0x23);
        assert_eq!(request(&ID)[40..48], ID);
    }
}
