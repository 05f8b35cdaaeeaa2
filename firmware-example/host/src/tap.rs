//! The twin's network device: a Linux TAP interface as an embassy-net driver whose link
//! follows the interface, so that `ip link set TAP down` is what a lost Wi-Fi association is
//! to the boards.
//!
//! The file descriptor comes from `embassy-net-tuntap` (`TunTap`: open `/dev/net/tun`,
//! `TUNSETIFF`); its `TunTapDevice` driver is not used because it reports the link as always
//! up and panics when a frame cannot be written, which is exactly what happens while the
//! interface is down. Here a failed read or write drops the frame, as a radio would, and the
//! link state is the interface's `IFF_UP && IFF_RUNNING`, read every 200 ms.

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use async_io::{Async, Timer};
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_net_tuntap::TunTap;

/// Ethernet frame: a 1500-byte IP MTU plus the 14-byte header.
const FRAME: usize = 1514;
const RECHECK: Duration = Duration::from_millis(200);

pub struct TapDevice {
    device: Async<TunTap>,
    name: String,
    mac: [u8; 6],
    up: bool,
    recheck: Timer,
}

impl TapDevice {
    pub fn new(name: &str, mac: [u8; 6]) -> io::Result<TapDevice> {
        let device = Async::new(TunTap::new(name)?)?;
        let up = interface_up(name).unwrap_or(false);
        Ok(TapDevice { device, name: name.into(), mac, up, recheck: Timer::after(RECHECK) })
    }
}

/// Whether the interface is administratively up with a carrier (`SIOCGIFFLAGS`).
pub fn interface_up(name: &str) -> io::Result<bool> {
    #[repr(C)]
    struct IfReq {
        name: [libc::c_char; libc::IF_NAMESIZE],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    let mut req = IfReq { name: [0; libc::IF_NAMESIZE], flags: 0, _pad: [0; 22] };
    for (dst, src) in req.name.iter_mut().zip(name.as_bytes().iter().take(libc::IF_NAMESIZE - 1)) {
        *dst = *src as libc::c_char;
    }
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    // SAFETY: SIOCGIFFLAGS reads a `struct ifreq` (name, then a short of flags in the union)
    // from a valid pointer and writes only the flags.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req as *mut IfReq) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    let flags = i32::from(req.flags);
    Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
}

impl Driver for TapDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken, TxToken<'_>)> {
        let mut buf = vec![0; FRAME];
        loop {
            // SAFETY (async-io's contract): the read does not drop or replace the fd.
            match unsafe { self.device.get_mut() }.read(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Some((RxToken { buffer: buf }, TxToken { device: &mut self.device }));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.device.poll_readable(cx).is_ready() {
                        return None;
                    }
                }
                // The interface is down: nothing to read; the link re-check wakes us.
                Err(e) => {
                    log::debug!("TAP read: {e}");
                    return None;
                }
            }
        }
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<TxToken<'_>> {
        Some(TxToken { device: &mut self.device })
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = FRAME;
        caps
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        if Pin::new(&mut self.recheck).poll(cx).is_ready() {
            self.up = interface_up(&self.name).unwrap_or(false);
            self.recheck.set_after(RECHECK);
            // Registers the waker for the next re-check.
            let _ = Pin::new(&mut self.recheck).poll(cx);
        }
        if self.up { LinkState::Up } else { LinkState::Down }
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

pub struct RxToken {
    buffer: Vec<u8>,
}

impl embassy_net_driver::RxToken for RxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.buffer)
    }
}

pub struct TxToken<'a> {
    device: &'a mut Async<TunTap>,
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buffer = vec![0; len];
        let result = f(&mut buffer);
        // SAFETY (async-io's contract): the write does not drop or replace the fd.
        if let Err(e) = unsafe { self.device.get_mut() }.write(&buffer) {
            // EIO while the interface is down, EAGAIN when its queue is full: the frame is
            // lost, as on a radio; TCP retransmits.
            log::debug!("TAP write: {e}");
        }
        result
    }
}
