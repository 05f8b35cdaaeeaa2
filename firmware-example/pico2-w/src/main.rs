//! authgate on a Raspberry Pi Pico 2 W (RP2350 + CYW43439): the Pico W example, built for
//! the RP2350's Cortex-M33. The device is in `../rp` and `../app`; this crate picks the chip:
//! the `rp235x` feature, `thumbv8m.main-none-eabihf` (`.cargo/config.toml`) and `memory.x`
//! (embassy-rp supplies the IMAGE_DEF block the RP2350's boot ROM looks for).
#![no_std]
#![no_main]

use embassy_executor::Spawner;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    authgate_fw_rp::run(spawner, embassy_rp::init(Default::default())).await
}
