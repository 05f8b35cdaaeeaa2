//! authgate on a Raspberry Pi Pico W: a Wi-Fi "relay" (the on-board LED) behind HTTP
//! Digest/Basic authentication, with no heap.
//!
//! Boot: bring up the CYW43439 (firmware + CLM from `cyw43-firmware`, NVRAM from
//! [`nvram`]), join `WIFI_NETWORK`, get an address by DHCPv4, draw the nonce key from the
//! RP2040's ring oscillator, then serve the shared app ([`authgate_fw_app::web`]) on port 80
//! with four sockets. Everything else is in the `app` crate, shared with the Linux twin.
#![no_std]
#![no_main]

mod nvram;

use authgate_fw_app::auth::Guard;
use authgate_fw_app::device::Device;
use authgate_fw_app::settings::{self, Settings};
use authgate_fw_app::web::{self, AppState};
use cyw43::{A4, Aligned, JoinOptions};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use defmt::{info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_net::{Stack, StackResources};
use embassy_rp::bind_interrupts;
use embassy_rp::clocks::RoscRng;
use embassy_rp::dma;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::{DMA_CH0, PIO0};
use embassy_rp::pio::{InterruptHandler, Pio};
use embassy_time::Timer;
use picoserve::routing::PathRouter;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

bind_interrupts!(struct Irqs {
    PIO0_IRQ_0 => InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
});

/// Wi-Fi credentials, from the environment at build time. A build without them (CI) still
/// links; the device then says so in its log and blinks instead of joining.
const WIFI_NETWORK: Option<&str> = option_env!("WIFI_NETWORK");
const WIFI_PASSWORD: Option<&str> = option_env!("WIFI_PASSWORD");

/// The DHCP hostname (option 12), `authgate-pico` unless `AUTHGATE_HOSTNAME` is set.
const HOSTNAME: &str = match option_env!("AUTHGATE_HOSTNAME") {
    Some(h) => h,
    None => "authgate-pico",
};

/// Concurrent HTTP connections (each holds 1 KiB rx + 1 KiB tx + 2 KiB request buffer).
const WEB_SOCKETS: usize = 4;
/// Sockets for embassy-net: the web sockets plus the DHCP client's UDP socket.
const NET_SOCKETS: usize = WEB_SOCKETS + 1;

/// The CYW43439 firmware, copied at build time into a 4-byte-aligned static as cyw43 wants.
static FIRMWARE: &Aligned<A4, [u8]> = &Aligned(*cyw43_firmware::CYW43_43439A0);
/// The country/regulatory (CLM) blob.
static CLM: &[u8] = cyw43_firmware::CYW43_43439A0_CLM;

/// The relay stand-in's state, shared by the web handlers and [`led_task`].
static DEVICE: Device = Device::new();

#[embassy_executor::task]
async fn cyw43_task(runner: cyw43::Runner<'static, cyw43::SpiBus<Output<'static>, PioSpi<'static, PIO0, 0>>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, cyw43::NetDriver<'static>>) -> ! {
    runner.run().await
}

/// Drives the on-board LED (wired to the CYW43439's GPIO 0, not to the RP2040).
#[embassy_executor::task]
async fn led_task(mut control: cyw43::Control<'static>) -> ! {
    loop {
        let on = DEVICE.wait_for_switch().await;
        control.gpio_set(0, on).await;
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    info!("authgate Pico W example starting");

    // The CYW43439 hangs off PIO0 on the board's fixed pins: WL_ON 23, CS 25, DIO 24, CLK 29.
    let pwr = Output::new(p.PIN_23, Level::Low);
    let cs = Output::new(p.PIN_25, Level::High);
    let mut pio = Pio::new(p.PIO0, Irqs);
    let spi = PioSpi::new(
        &mut pio.common,
        pio.sm0,
        DEFAULT_CLOCK_DIVIDER,
        pio.irq0,
        cs,
        p.PIN_24,
        p.PIN_29,
        dma::Channel::new(p.DMA_CH0, Irqs),
    );

    static CYW43_STATE: StaticCell<cyw43::State> = StaticCell::new();
    let state = CYW43_STATE.init(cyw43::State::new());
    let (net_device, mut control, runner) = cyw43::new(state, pwr, spi, FIRMWARE, nvram::NVRAM).await;
    spawner.spawn(unwrap!(cyw43_task(runner)));

    control.init(CLM).await;
    control.set_power_management(cyw43::PowerManagementMode::PowerSave).await;

    // Entropy: the ring oscillator's random bit, sampled at boot. It seeds embassy-net's TCP
    // sequence numbers and, above all, authgate's nonce key (new at every boot, so nonces
    // issued before a reset are refused afterwards).
    let mut rng = RoscRng;
    let seed = rng.next_u64();
    let mut nonce_key = [0u8; 32];
    rng.fill_bytes(&mut nonce_key);

    // DHCP, announcing a hostname so the board shows up by name in the router's lease list.
    let mut dhcp = embassy_net::DhcpConfig::default();
    dhcp.hostname = heapless::String::try_from(HOSTNAME).ok();
    static RESOURCES: StaticCell<StackResources<NET_SOCKETS>> = StaticCell::new();
    let (stack, net_runner) =
        embassy_net::new(net_device, embassy_net::Config::dhcpv4(dhcp), RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(unwrap!(net_task(net_runner)));

    let (Some(ssid), password) = (WIFI_NETWORK, WIFI_PASSWORD) else {
        warn!(
            "WIFI_NETWORK was not set at build time: rebuild with WIFI_NETWORK=... WIFI_PASSWORD=... cargo build --release"
        );
        loop {
            control.gpio_set(0, true).await;
            Timer::after_millis(100).await;
            control.gpio_set(0, false).await;
            Timer::after_millis(900).await;
        }
    };
    loop {
        let options = match password {
            Some(pw) if !pw.is_empty() => JoinOptions::new(pw.as_bytes()),
            _ => JoinOptions::new_open(),
        };
        match control.join(ssid, options).await {
            Ok(()) => break,
            Err(err) => {
                warn!("joining {} failed: {}; retrying", ssid, err);
                Timer::after_secs(2).await;
            }
        }
    }
    info!("joined {}; waiting for DHCP", ssid);
    stack.wait_config_up().await;
    if let Some(cfg) = stack.config_v4() {
        info!("serving on http://{}/ (DHCP hostname {})", cfg.address.address(), HOSTNAME);
    }
    spawner.spawn(unwrap!(led_task(control)));

    let settings = Settings::from_build_env();
    if settings::USING_DEMO_PASSWORD {
        warn!(
            "using the demo login {}:{}; set AUTHGATE_USER/AUTHGATE_PASSWORD at build time",
            settings::USER,
            settings::PASSWORD
        );
    }
    static GUARD: StaticCell<Guard> = StaticCell::new();
    static APP_STATE: StaticCell<AppState> = StaticCell::new();
    let guard = GUARD.init(Guard::new(settings, nonce_key, |salt| RoscRng.fill_bytes(salt)));
    let app_state = APP_STATE.init(AppState { guard, device: &DEVICE });

    // The router's type cannot be named on stable Rust, so it lives in this task and the
    // sockets are served side by side here rather than in a pool of spawned tasks.
    let app = web::router(app_state);
    static CONFIG: picoserve::Config = picoserve::Config::const_default().keep_connection_alive();
    info!(
        "{} HTTP sockets, {} bytes of state each",
        WEB_SOCKETS,
        core::mem::size_of_val(&serve(0, stack, &app, &CONFIG))
    );
    embassy_futures::join::join_array(core::array::from_fn::<_, WEB_SOCKETS, _>(|id| serve(id, stack, &app, &CONFIG)))
        .await;
}

async fn serve<P: PathRouter>(
    id: usize,
    stack: Stack<'static>,
    app: &picoserve::Router<P>,
    config: &picoserve::Config,
) {
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut http = [0u8; 2048];
    picoserve::Server::new(app, config, &mut http).listen_and_serve(id, stack, 80, &mut rx, &mut tx).await.into_never()
}
