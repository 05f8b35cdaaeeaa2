//! authgate on a Raspberry Pi Pico W (RP2040 + CYW43439): a Wi-Fi "relay" (the on-board LED)
//! behind HTTP Digest/Basic authentication, with no heap. The device is in `../rp` (shared
//! with the Pico 2 W image) and `../app` (shared with the Linux twin); this crate picks the
//! chip: the `rp2040` feature, `thumbv6m-none-eabi` (`.cargo/config.toml`) and `memory.x`.
#![no_std]
#![no_main]

use embassy_executor::Spawner;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    authgate_fw_rp::run(spawner, embassy_rp::init(Default::default())).await
}
