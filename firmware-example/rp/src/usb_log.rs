//! The log on USB serial (CDC-ACM): the app's text log (boot, reset reason, address, mDNS
//! name, refused logins with their reason, Wi-Fi loss and rejoin) for anyone who opens the
//! port — `screen /dev/ttyACM0`, PuTTY, the Arduino serial monitor — with no debug probe.
//!
//! defmt over RTT stays as it was: it is the developers' log (all crates, formatted on the
//! host, needs a probe and the ELF). The USB port carries only the app's own lines, as text.
//! Opening the port first prints where the device is; setting it to 1200 baud (the Arduino
//! "touch") restarts the board into its UF2 bootloader for the next image.

use authgate_fw_app::textlog;
use core::fmt::Write as _;
use defmt::unwrap;
use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::Stack;
use embassy_rp::Peri;
use embassy_rp::peripherals::USB;
use embassy_rp::usb::Driver;
use embassy_usb::class::cdc_acm::{CdcAcmClass, Sender, State};
use embassy_usb::{Builder, UsbDevice};
use static_cell::StaticCell;

use crate::board::{BOARD, Irqs, USB_PID, USB_VID};

type UsbDriver = Driver<'static, USB>;
const PACKET: usize = 64;

/// Starts the USB device; the port is served by [`log_task`] once the network stack exists
/// (lines logged before then wait in the text log).
pub fn start(spawner: Spawner, usb: Peri<'static, USB>) -> CdcAcmClass<'static, UsbDriver> {
    let mut config = embassy_usb::Config::new(USB_VID, USB_PID);
    config.manufacturer = Some("authgate");
    config.product = Some("authgate log");
    config.max_power = 100;
    config.max_packet_size_0 = 64;

    static CONFIG_DESCRIPTOR: StaticCell<[u8; 128]> = StaticCell::new();
    static BOS_DESCRIPTOR: StaticCell<[u8; 32]> = StaticCell::new();
    static CONTROL_BUF: StaticCell<[u8; 64]> = StaticCell::new();
    static CDC_STATE: StaticCell<State> = StaticCell::new();
    let mut builder = Builder::new(
        Driver::new(usb, Irqs),
        config,
        CONFIG_DESCRIPTOR.init([0; 128]),
        BOS_DESCRIPTOR.init([0; 32]),
        &mut [],
        CONTROL_BUF.init([0; 64]),
    );
    let class = CdcAcmClass::new(&mut builder, CDC_STATE.init(State::new()), PACKET as u16);
    spawner.spawn(unwrap!(usb_task(builder.build())));
    class
}

#[embassy_executor::task]
async fn usb_task(mut usb: UsbDevice<'static, UsbDriver>) -> ! {
    usb.run().await
}

#[embassy_executor::task]
pub async fn log_task(class: CdcAcmClass<'static, UsbDriver>, stack: Stack<'static>, hostname: &'static str) -> ! {
    let (mut tx, _rx, control) = class.split_with_control();
    let mut buf = [0u8; PACKET];
    loop {
        tx.wait_connection().await;
        // A terminal sets DTR when it opens the port.
        while !tx.dtr() {
            control.control_changed().await;
            touch_1200(&tx);
        }
        if greet(&mut tx, stack, hostname).await.is_err() {
            continue;
        }
        loop {
            match select(textlog::read(&mut buf), control.control_changed()).await {
                Either::First(n) => {
                    if write_text(&mut tx, &buf[..n]).await.is_err() {
                        break;
                    }
                }
                Either::Second(()) => {
                    touch_1200(&tx);
                    if !tx.dtr() {
                        break;
                    }
                }
            }
        }
    }
}

/// 1200 baud: restart into the UF2 bootloader (the BOOTSEL drive appears), as Arduino does.
fn touch_1200(tx: &Sender<'static, UsbDriver>) {
    if tx.line_coding().data_rate() == 1200 && !tx.dtr() {
        embassy_rp::rom_data::reset_to_usb_boot(0, 0);
    }
}

async fn greet(
    tx: &mut Sender<'static, UsbDriver>,
    stack: Stack<'static>,
    hostname: &str,
) -> Result<(), embassy_usb::driver::EndpointError> {
    let mut line: heapless::String<160> = heapless::String::new();
    let secs = embassy_time::Instant::now().as_secs();
    let _ = write!(line, "authgate {BOARD}, up {secs} s: ");
    match stack.config_v4() {
        Some(c) => {
            let _ = write!(line, "http://{}/ and http://{}.local/\n", c.address.address(), hostname);
        }
        None => {
            let _ = write!(line, "not on the network yet ({hostname}.local once it is)\n");
        }
    }
    write_text(tx, line.as_bytes()).await
}

/// Writes `text` in packets, with CR LF line ends for terminals.
async fn write_text(
    tx: &mut Sender<'static, UsbDriver>,
    text: &[u8],
) -> Result<(), embassy_usb::driver::EndpointError> {
    let mut packet: heapless::Vec<u8, PACKET> = heapless::Vec::new();
    for &b in text {
        if packet.len() + 2 > PACKET {
            tx.write_packet(&packet).await?;
            packet.clear();
        }
        if b == b'\n' {
            let _ = packet.push(b'\r');
        }
        let _ = packet.push(b);
    }
    if !packet.is_empty() {
        tx.write_packet(&packet).await?;
    }
    Ok(())
}
