//! The CYW43439 as the device's link: joining the access point (the app's supervisor decides
//! when), the LED on the chip's GPIO 0, and the mDNS multicast filter.

use authgate_fw_app::device::Device;
use authgate_fw_app::net::Link;
use cyw43::{A4, Aligned, JoinError, JoinOptions};
use defmt::warn;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::Timer;
use static_cell::StaticCell;

/// The CYW43439 firmware, copied at build time into a 4-byte-aligned static as cyw43 wants.
pub static FIRMWARE: &Aligned<A4, [u8]> = &Aligned(*cyw43_firmware::CYW43_43439A0);
/// The country/regulatory (CLM) blob.
pub static CLM: &[u8] = cyw43_firmware::CYW43_43439A0_CLM;

/// 224.0.0.251 as an Ethernet multicast address: the chip drops multicast frames it was not
/// told to pass, and mDNS queries are multicast.
const MDNS_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];

/// The chip's control channel, shared by the supervisor (join) and the LED.
pub type SharedControl = &'static Mutex<CriticalSectionRawMutex, cyw43::Control<'static>>;

pub fn share(control: cyw43::Control<'static>) -> SharedControl {
    static CONTROL: StaticCell<Mutex<CriticalSectionRawMutex, cyw43::Control<'static>>> = StaticCell::new();
    CONTROL.init(Mutex::new(control))
}

/// Drives the on-board LED (wired to the CYW43439's GPIO 0, not to the RP2040/RP2350).
#[embassy_executor::task]
pub async fn led_task(control: SharedControl, device: &'static Device) -> ! {
    loop {
        let on = device.wait_for_switch().await;
        control.lock().await.gpio_set(0, on).await;
    }
}

/// Built without `WIFI_NETWORK`: say so now and then, and blink.
#[embassy_executor::task]
pub async fn no_network_task(control: SharedControl) -> ! {
    loop {
        warn!("WIFI_NETWORK was not set at build time: rebuild with WIFI_NETWORK=... WIFI_PASSWORD=...");
        for _ in 0..30 {
            control.lock().await.gpio_set(0, true).await;
            Timer::after_millis(100).await;
            control.lock().await.gpio_set(0, false).await;
            Timer::after_millis(900).await;
        }
    }
}

pub struct WifiLink {
    control: SharedControl,
    ssid: &'static str,
    password: &'static str,
    name: heapless::String<40>,
}

impl WifiLink {
    pub fn new(control: SharedControl, ssid: &'static str, password: &'static str) -> Self {
        let mut name = heapless::String::new();
        let _ = name.push_str("Wi-Fi ");
        for c in ssid.chars() {
            if name.push(c).is_err() {
                break;
            }
        }
        WifiLink { control, ssid, password, name }
    }
}

/// cyw43's join errors, for the log.
#[derive(defmt::Format)]
pub struct JoinFailure(JoinError);

impl core::fmt::Display for JoinFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            JoinError::NetworkNotFound => f.write_str("network not found"),
            JoinError::AuthenticationFailure => f.write_str("authentication failed (wrong WIFI_PASSWORD?)"),
            JoinError::JoinFailure(status) => write!(f, "join failed (status {status})"),
        }
    }
}

impl Link for WifiLink {
    type Error = JoinFailure;

    fn name(&self) -> &str {
        &self.name
    }

    async fn join(&mut self) -> Result<(), JoinFailure> {
        let options = match self.password {
            "" => JoinOptions::new_open(),
            pw => JoinOptions::new(pw.as_bytes()),
        };
        let mut control = self.control.lock().await;
        control.join(self.ssid, options).await.map_err(JoinFailure)?;
        if control.add_multicast_address(MDNS_MAC).await.is_err() {
            warn!("the Wi-Fi chip's multicast filter is full: mDNS queries may go unanswered");
        }
        Ok(())
    }

    async fn leave(&mut self) {
        self.control.lock().await.leave().await;
    }

    fn give_up(&mut self) {
        crate::board::reset_now();
    }
}
