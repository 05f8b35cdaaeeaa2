//! The chip-specific parts, chosen once here by the `rp2040` / `rp235x` feature: interrupts,
//! flash size and the login store's place, the unique id, entropy, reset reasons, watchdog.

use core::ops::Range;

use authgate_fw_app::store::STORE_BYTES;
use defmt::warn;
use embassy_embedded_hal::adapter::BlockingAsync;
use embassy_futures::select::{Either, select};
use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::peripherals::{DMA_CH0, FLASH, PIO0, USB, WATCHDOG};
use embassy_rp::watchdog::Watchdog;
use embassy_rp::{Peri, bind_interrupts, dma, pac, pio, usb};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};

#[cfg(feature = "rp2040")]
bind_interrupts!(pub struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
    USBCTRL_IRQ => usb::InterruptHandler<USB>;
});

#[cfg(feature = "rp235x")]
bind_interrupts!(pub struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
    USBCTRL_IRQ => usb::InterruptHandler<USB>;
    TRNG_IRQ => embassy_rp::trng::InterruptHandler<embassy_rp::peripherals::TRNG>;
});

#[cfg(feature = "rp2040")]
pub const BOARD: &str = "Pico W";
#[cfg(feature = "rp235x")]
pub const BOARD: &str = "Pico 2 W";

/// QSPI flash on the board: 2 MiB on the Pico W, 4 MiB on the Pico 2 W.
#[cfg(feature = "rp2040")]
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;
#[cfg(feature = "rp235x")]
pub const FLASH_SIZE: usize = 4 * 1024 * 1024;

/// USB identity of the log port: Raspberry Pi's ids for a Pico SDK program's USB serial, so
/// the port looks like any Pico's (`/dev/ttyACM0`, `COM3`).
pub const USB_VID: u16 = 0x2E8A;
#[cfg(feature = "rp2040")]
pub const USB_PID: u16 = 0x000A;
#[cfg(feature = "rp235x")]
pub const USB_PID: u16 = 0x0009;

pub type StoreFlash = BlockingAsync<Flash<'static, FLASH, Blocking, FLASH_SIZE>>;

/// The login store's sectors: the last [`STORE_BYTES`] of flash, which `memory.x` keeps out
/// of the image and the factory-reset UF2 erases.
pub fn store_range() -> Range<u32> {
    (FLASH_SIZE as u32 - STORE_BYTES)..FLASH_SIZE as u32
}

/// The flash driver for the store, and the board's 64-bit unique id (the hostname's default).
pub fn flash(p: Peri<'static, FLASH>) -> (StoreFlash, [u8; 8]) {
    #[allow(unused_mut)]
    let mut flash = Flash::<_, Blocking, FLASH_SIZE>::new_blocking(p);
    let mut id = [0u8; 8];
    // RP2040: the flash chip's unique id; RP2350: the chip id in OTP.
    #[cfg(feature = "rp2040")]
    if flash.blocking_unique_id(&mut id).is_err() {
        warn!("could not read the flash unique id");
    }
    #[cfg(feature = "rp235x")]
    match embassy_rp::otp::get_chipid() {
        Ok(chip) => id = chip.to_be_bytes(),
        Err(_) => warn!("could not read the chip id"),
    }
    (BlockingAsync::new(flash), id)
}

/// 32 bytes for authgate's nonce key: the ring oscillator's random bit on the RP2040 (its
/// only entropy source), the TRNG on the RP2350.
#[cfg(feature = "rp2040")]
pub fn nonce_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    embassy_rp::clocks::RoscRng.fill_bytes(&mut key);
    key
}

#[cfg(feature = "rp235x")]
pub fn nonce_key(trng: Peri<'static, embassy_rp::peripherals::TRNG>) -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut trng = embassy_rp::trng::Trng::new(trng, Irqs, embassy_rp::trng::Config::default());
    trng.blocking_fill_bytes(&mut key);
    key
}

/// Watchdog scratch register 0 survives a watchdog reset: it says the supervisor asked for it.
const GAVE_UP: u32 = 0x4147_0001;

/// Why the chip last reset, for the boot log.
pub fn reset_reason() -> &'static str {
    let wd = pac::WATCHDOG;
    let gave_up = wd.scratch0().read() == GAVE_UP;
    wd.scratch0().write_value(0);
    // What embassy-rp's `Watchdog::reset_reason` reads, before the watchdog task owns it.
    let reason = wd.reason().read();
    if reason.force() {
        return if gave_up { "reset by the Wi-Fi supervisor after a long time offline" } else { "watchdog (forced)" };
    }
    if reason.timer() {
        return "watchdog timeout: the previous run hung or crashed";
    }
    #[cfg(feature = "rp2040")]
    {
        let r = pac::VREG_AND_CHIP_RESET.chip_reset().read();
        if r.had_psm_restart() {
            "debugger"
        } else if r.had_run() {
            "RUN pin"
        } else if r.had_por() {
            "power-on"
        } else {
            "unknown"
        }
    }
    #[cfg(feature = "rp235x")]
    {
        let r = pac::POWMAN.chip_reset().read();
        if r.had_dp_reset_req() {
            "debugger"
        } else if r.had_run_low() {
            "RUN pin"
        } else if r.had_bor() {
            "brown-out"
        } else if r.had_glitch_detect() {
            "glitch detector"
        } else if r.had_rescue() {
            "rescue"
        } else if r.had_por() {
            "power-on"
        } else {
            "software reset"
        }
    }
}

/// Raised by [`reset_now`]: the watchdog task resets the chip.
static RESET: Signal<CriticalSectionRawMutex, ()> = Signal::new();

/// Reset the chip through the watchdog (the next boot logs why).
pub fn reset_now() {
    RESET.signal(());
}

/// Reset the chip now, from the panic handler (no executor needed).
pub fn reset_on_panic() -> ! {
    // The trigger resets through the watchdog's reset selection, which the watchdog task
    // sets up at boot; before that, the core's own reset request does.
    pac::WATCHDOG.ctrl().modify(|w| w.set_trigger(true));
    cortex_m::peripheral::SCB::sys_reset()
}

/// Feeds the hardware watchdog every 2 s; 8 s without (a hung executor, a fault) resets the
/// chip.
#[embassy_executor::task]
pub async fn watchdog_task(p: Peri<'static, WATCHDOG>) -> ! {
    const TIMEOUT: Duration = Duration::from_secs(8);
    let mut wd = Watchdog::new(p);
    wd.pause_on_debug(true);
    wd.start(TIMEOUT);
    loop {
        match select(Timer::after_secs(2), RESET.wait()).await {
            Either::First(()) => wd.feed(TIMEOUT),
            Either::Second(()) => {
                wd.set_scratch(0, GAVE_UP);
                wd.trigger_reset();
            }
        }
    }
}
