//! `<hostname>.local`: a minimal mDNS responder (RFC 6762) on an embassy-net UDP socket. It
//! answers A queries for the device's one name with its current address — multicast queries
//! (phones, laptops, Home Assistant) and one-shot queries from other ports alike — and
//! announces the address when it changes.
//!
//! Hand-written on purpose: edge-mdns, a complete responder, cost 21 KiB of the Pico W's
//! 448 KiB flash budget; this answers the one question the device needs in a fraction of
//! that. [`answer`] is the whole protocol part, a pure function tested below and by the twin
//! test's zeroconf and one-shot clients.

use core::net::Ipv4Addr;

use embassy_futures::select::{Either, select};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, IpEndpoint, Stack};
use embassy_time::Timer;

pub const PORT: u16 = 5353;
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// Longest message read; longer ones (long known-answer lists) are dropped by the socket.
const PACKET: usize = 512;
/// How long others may cache the answer; one-shot (legacy) answers get 10 s (RFC 6762 6.7).
const TTL_S: u32 = 120;
const LEGACY_TTL_S: u32 = 10;

const TYPE_A: u16 = 1;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
const CLASS_ANY: u16 = 255;
const CACHE_FLUSH: u16 = 0x8000;
/// Response, authoritative.
const FLAGS_RESPONSE: u16 = 0x8400;

/// Runs forever.
pub async fn respond(stack: Stack<'static>, hostname: &str) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 2];
    let mut tx_meta = [PacketMetadata::EMPTY; 2];
    let mut rx_buf = [0u8; PACKET];
    let mut tx_buf = [0u8; PACKET];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if socket.bind(PORT).is_err() {
        warn!("mDNS: cannot bind UDP {}", PORT);
    }
    let group = IpEndpoint::new(IpAddress::Ipv4(GROUP), PORT);
    let mut query = [0u8; PACKET];
    let mut reply = [0u8; PACKET];
    loop {
        stack.wait_config_up().await;
        let Some(address) = stack.config_v4().map(|c| c.address.address()) else { continue };
        // The group is the interface's (it stays joined across address changes).
        let _ = stack.join_multicast_group(IpAddress::Ipv4(GROUP));
        info!("mDNS: {}.local is {}", hostname, address);
        // Announce twice, a second apart (RFC 6762 8.3).
        for _ in 0..2 {
            let n = announcement(hostname, address, &mut reply);
            let _ = socket.send_to(&reply[..n], group).await;
            Timer::after_secs(1).await;
        }
        loop {
            match select(socket.recv_from(&mut query), moved(stack, address)).await {
                Either::First(Ok((n, meta))) => {
                    let legacy = meta.endpoint.port != PORT;
                    if let Some(len) = answer(&query[..n], hostname, address, legacy, &mut reply) {
                        let to = if legacy { meta.endpoint } else { group };
                        let _ = socket.send_to(&reply[..len], to).await;
                    }
                }
                Either::First(Err(_)) => {}
                Either::Second(()) => break,
            }
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

/// The unsolicited response announcing `hostname.local` → `address`.
pub fn announcement(hostname: &str, address: Ipv4Addr, out: &mut [u8]) -> usize {
    let mut w = Writer { out, len: 0 };
    w.header(0, 0);
    w.record(hostname, address, TTL_S, true);
    w.len
}

/// The response to `query`, if it asks for `hostname.local`'s A record (or ANY): written into
/// `out`, its length returned. A `legacy` query (not from port 5353) gets its id and question
/// echoed, a short TTL and no cache-flush bit, to be sent back by unicast (RFC 6762 6.7).
/// Anything malformed, a response, or a question about another name gets `None`.
pub fn answer(query: &[u8], hostname: &str, address: Ipv4Addr, legacy: bool, out: &mut [u8]) -> Option<usize> {
    let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
    let flags = u16::from_be_bytes([*query.get(2)?, *query.get(3)?]);
    // A query (QR 0), standard opcode, no error code.
    if flags & 0xF80F != 0 {
        return None;
    }
    let questions = u16::from_be_bytes([*query.get(4)?, *query.get(5)?]);
    let mut pos = 12;
    for _ in 0..questions {
        let (is_ours, next) = name_is(query, pos, hostname)?;
        let qtype = u16::from_be_bytes([*query.get(next)?, *query.get(next + 1)?]);
        let qclass = u16::from_be_bytes([*query.get(next + 2)?, *query.get(next + 3)?]) & !CACHE_FLUSH;
        pos = next + 4;
        if is_ours && matches!(qtype, TYPE_A | TYPE_ANY) && matches!(qclass, CLASS_IN | CLASS_ANY) {
            let mut w = Writer { out, len: 0 };
            if legacy {
                w.header(id, 1);
                w.name(hostname);
                w.u16(TYPE_A);
                w.u16(CLASS_IN);
                w.record(hostname, address, LEGACY_TTL_S, false);
            } else {
                w.header(0, 0);
                w.record(hostname, address, TTL_S, true);
            }
            return (w.len <= w.out.len()).then_some(w.len);
        }
    }
    None
}

/// Whether the name at `pos` is `hostname.local` (ASCII case-insensitive), and where the
/// question continues. Follows compression pointers, at most 16 of them.
fn name_is(msg: &[u8], mut pos: usize, hostname: &str) -> Option<(bool, usize)> {
    let wanted = [hostname.as_bytes(), b"local"];
    let mut label = 0;
    let mut matches = true;
    let mut end = None;
    for _ in 0..64 {
        let len = *msg.get(pos)? as usize;
        if len & 0xC0 == 0xC0 {
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3F) << 8) | *msg.get(pos + 1)? as usize;
            continue;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        if len == 0 {
            return Some((matches && label == wanted.len(), end.unwrap_or(pos + 1)));
        }
        let text = msg.get(pos + 1..pos + 1 + len)?;
        matches &= wanted.get(label).is_some_and(|w| w.eq_ignore_ascii_case(text));
        label += 1;
        pos += 1 + len;
    }
    None
}

/// Writes a message; past the end of `out` it only counts (the caller checks `len`).
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.len..self.len + b.len()) {
            dst.copy_from_slice(b);
        }
        self.len += b.len();
    }

    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    fn header(&mut self, id: u16, questions: u16) {
        for v in [id, FLAGS_RESPONSE, questions, 1, 0, 0] {
            self.u16(v);
        }
    }

    fn name(&mut self, hostname: &str) {
        for label in [hostname, "local"] {
            self.bytes(&[label.len() as u8]);
            self.bytes(label.as_bytes());
        }
        self.bytes(&[0]);
    }

    fn record(&mut self, hostname: &str, address: Ipv4Addr, ttl: u32, flush: bool) {
        self.name(hostname);
        self.u16(TYPE_A);
        self.u16(if flush { CLASS_IN | CACHE_FLUSH } else { CLASS_IN });
        self.bytes(&ttl.to_be_bytes());
        self.u16(4);
        self.bytes(&address.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 57);

    fn query(id: u16, name: &[&str], qtype: u16, qclass: u16) -> heapless::Vec<u8, 128> {
        let mut q = heapless::Vec::new();
        for v in [id, 0, 1, 0, 0, 0] {
            q.extend_from_slice(&v.to_be_bytes()).unwrap();
        }
        for l in name {
            q.push(l.len() as u8).unwrap();
            q.extend_from_slice(l.as_bytes()).unwrap();
        }
        q.push(0).unwrap();
        q.extend_from_slice(&qtype.to_be_bytes()).unwrap();
        q.extend_from_slice(&qclass.to_be_bytes()).unwrap();
        q
    }

    #[test]
    fn multicast_query_gets_the_a_record() {
        let mut out = [0u8; 512];
        let q = query(0, &["Authgate-1a2b3c", "LOCAL"], TYPE_A, CLASS_IN | CACHE_FLUSH);
        let n = answer(&q, "authgate-1a2b3c", ADDR, false, &mut out).unwrap();
        let r = &out[..n];
        assert_eq!(&r[..12], &[0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&r[12..35], b"\x0fauthgate-1a2b3c\x05local\x00");
        assert_eq!(&r[35..], &[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 168, 1, 57]);
    }

    #[test]
    fn one_shot_query_gets_its_id_question_and_a_short_ttl() {
        let mut out = [0u8; 512];
        let q = query(0xBEEF, &["dev", "local"], TYPE_ANY, CLASS_IN);
        let n = answer(&q, "dev", ADDR, true, &mut out).unwrap();
        let r = &out[..n];
        assert_eq!(&r[..6], &[0xBE, 0xEF, 0x84, 0, 0, 1]);
        assert_eq!(&r[12..27], b"\x03dev\x05local\x00\x00\x01\x00\x01");
        assert_eq!(&r[27..38], b"\x03dev\x05local\x00");
        assert_eq!(&r[38..], &[0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 192, 168, 1, 57]);
    }

    #[test]
    fn other_names_types_and_responses_get_nothing() {
        let mut out = [0u8; 512];
        assert!(answer(&query(0, &["other", "local"], TYPE_A, CLASS_IN), "dev", ADDR, false, &mut out).is_none());
        assert!(answer(&query(0, &["dev", "local", "x"], TYPE_A, CLASS_IN), "dev", ADDR, false, &mut out).is_none());
        assert!(answer(&query(0, &["dev"], TYPE_A, CLASS_IN), "dev", ADDR, false, &mut out).is_none());
        assert!(answer(&query(0, &["dev", "local"], 28, CLASS_IN), "dev", ADDR, false, &mut out).is_none());
        let mut response = query(0, &["dev", "local"], TYPE_A, CLASS_IN);
        response[2] = 0x84;
        assert!(answer(&response, "dev", ADDR, false, &mut out).is_none());
    }

    #[test]
    fn compressed_second_question_is_followed() {
        let mut out = [0u8; 512];
        // Two questions: "x.local" A, then "dev" + pointer to "local" (offset 14).
        let mut q = query(0, &["x", "local"], TYPE_A, CLASS_IN);
        q[5] = 2;
        q.extend_from_slice(b"\x03dev\xc0\x0e\x00\x01\x00\x01").unwrap();
        assert!(answer(&q, "dev", ADDR, false, &mut out).is_some());
    }

    #[test]
    fn malformed_input_never_panics() {
        let mut out = [0u8; 512];
        let full = query(7, &["dev", "local"], TYPE_A, CLASS_IN);
        for cut in 0..full.len() {
            assert!(answer(&full[..cut], "dev", ADDR, true, &mut out).is_none());
        }
        // A pointer loop.
        let mut looped = query(0, &["dev", "local"], TYPE_A, CLASS_IN);
        looped[12] = 0xC0;
        looped[13] = 12;
        assert!(answer(&looped, "dev", ADDR, false, &mut out).is_none());
        // A reply that does not fit is not sent.
        assert!(answer(&full, "dev", ADDR, true, &mut out[..20]).is_none());
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut junk = [0u8; 40];
            for b in junk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            junk[2] &= 0x07;
            let _ = answer(&junk, "dev", ADDR, x & 1 == 0, &mut out);
        }
    }
}
