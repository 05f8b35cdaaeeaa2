//! What the Pico W (RP2040) and Pico 2 W (RP2350) images share: the whole device around the
//! `app` crate. The image crates only pick the chip (a cargo feature, the target and
//! `memory.x`) and call [`run`].
//!
//! Boot: log why the chip reset, start the watchdog, bring up USB serial (the log), the
//! CYW43439 and embassy-net (DHCP), read the login from flash, draw the nonce key from the
//! chip's entropy, then run one task per concern: the Wi-Fi supervisor (join, rejoin with
//! backoff), the mDNS responder, the login store, the LED, the USB log, the watchdog, and
//! the web server (four sockets) in the main task.
#![no_std]

mod board;
mod nvram;
mod usb_log;
mod wifi;

use authgate_fw_app::auth::Guard;
use authgate_fw_app::device::Device;
use authgate_fw_app::net::{self, Names};
use authgate_fw_app::settings::{self, Settings};
use authgate_fw_app::store::{self, LoginStore};
use authgate_fw_app::web::{self, AppState};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use defmt::{info, unwrap};
use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_net::{Stack, StackResources};
use embassy_rp::clocks::RoscRng;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::PIO0;
use embassy_rp::pio::Pio;
use embassy_rp::{Peripherals, dma};
use picoserve::routing::PathRouter;
use static_cell::StaticCell;

use crate::board::{BOARD, Irqs, StoreFlash};
use crate::wifi::WifiLink;

/// Concurrent HTTP connections (each holds 1 KiB rx + 1 KiB tx + 2 KiB request buffer).
const WEB_SOCKETS: usize = 4;
/// Sockets for embassy-net: the web sockets, the DHCP client and the mDNS responder (and
/// with `jwt`, SNTP and DNS).
const NET_SOCKETS: usize = WEB_SOCKETS + 2 + 2 * cfg!(feature = "jwt") as usize;
const HTTP_PORT: u16 = 80;

/// Wi-Fi credentials, from the environment at build time. A build without them (CI) still
/// links; the device then says so in its log and blinks instead of joining.
const WIFI_NETWORK: Option<&str> = option_env!("WIFI_NETWORK");
const WIFI_PASSWORD: Option<&str> = option_env!("WIFI_PASSWORD");

/// The relay stand-in's state, shared by the web handlers and the LED task.
static DEVICE: Device = Device::new();

#[embassy_executor::task]
async fn cyw43_task(runner: cyw43::Runner<'static, cyw43::SpiBus<Output<'static>, PioSpi<'static, PIO0, 0>>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, cyw43::NetDriver<'static>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn store_task(store: LoginStore<StoreFlash>, guard: &'static Guard) -> ! {
    store::serve_changes(store, guard).await
}

#[embassy_executor::task]
async fn mdns_task(stack: Stack<'static>, hostname: &'static str) -> ! {
    authgate_fw_app::mdns::respond(stack, hostname).await
}

/// The wall clock JWTs need, from `AUTHGATE_NTP_SERVER`.
#[cfg(feature = "jwt")]
#[embassy_executor::task]
async fn time_task(stack: Stack<'static>, guard: &'static Guard) -> ! {
    authgate_fw_app::sntp::keep_time(stack, authgate_fw_app::settings::build::NTP_SERVER, guard).await
}

#[embassy_executor::task]
async fn supervisor_task(stack: Stack<'static>, mut link: WifiLink, hostname: &'static str) -> ! {
    net::supervise(stack, &mut link, &Names { hostname, port: HTTP_PORT }).await
}

/// A panic: say where (over RTT, for a probe) and reset at once through the watchdog; the
/// next boot logs "watchdog (forced)". The message is not formatted: formatting it would
/// link every error type's `Debug` and core's Unicode tables (some KiB) for a line only a
/// probe would see.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(l) => defmt::error!("panic at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("panic"),
    }
    board::reset_on_panic()
}

/// The device. Never returns.
pub async fn run(spawner: Spawner, p: Peripherals) -> ! {
    // First the watchdog (and why the last run ended), then the USB log, so that a user with
    // a terminal open sees the whole boot.
    let reset = board::reset_reason();
    spawner.spawn(unwrap!(board::watchdog_task(p.WATCHDOG)));
    let usb_serial = usb_log::start(spawner, p.USB);
    info!("authgate {} starting (reset: {})", BOARD, reset);

    let (flash, unique_id) = board::flash(p.FLASH);
    static HOSTNAME: StaticCell<heapless::String<63>> = StaticCell::new();
    let hostname: &'static str = HOSTNAME.init(settings::hostname(&unique_id)).as_str();

    // The login: changed on the device (in flash) or the image's own.
    let mut store = LoginStore::new(flash, board::store_range());
    let login = store::login_at_boot(&mut store).await;

    // Entropy: the nonce key (new at every boot, so nonces from before a reset are refused),
    // embassy-net's TCP sequence numbers, mDNS jitter.
    #[cfg(feature = "rp2040")]
    let nonce_key = board::nonce_key();
    #[cfg(feature = "rp235x")]
    let nonce_key = board::nonce_key(p.TRNG);
    let seed = RoscRng.next_u64();

    // The CYW43439 hangs off PIO0 on the boards' fixed pins: WL_ON 23, CS 25, DIO 24, CLK 29.
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
    let (net_device, mut control, runner) = cyw43::new(state, pwr, spi, wifi::FIRMWARE, nvram::NVRAM).await;
    spawner.spawn(unwrap!(cyw43_task(runner)));
    control.init(wifi::CLM).await;
    control.set_power_management(cyw43::PowerManagementMode::PowerSave).await;

    // DHCP, announcing the hostname (so it also shows in the router's lease list).
    let mut dhcp = embassy_net::DhcpConfig::default();
    dhcp.hostname = heapless::String::try_from(hostname).ok();
    static RESOURCES: StaticCell<StackResources<NET_SOCKETS>> = StaticCell::new();
    let (stack, net_runner) =
        embassy_net::new(net_device, embassy_net::Config::dhcpv4(dhcp), RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(unwrap!(net_task(net_runner)));
    spawner.spawn(unwrap!(usb_log::log_task(usb_serial, stack, hostname)));

    let control = wifi::share(control);
    spawner.spawn(unwrap!(wifi::led_task(control, &DEVICE)));
    match WIFI_NETWORK {
        Some(ssid) => {
            let link = WifiLink::new(control, ssid, WIFI_PASSWORD.unwrap_or(""));
            spawner.spawn(unwrap!(supervisor_task(stack, link, hostname)));
        }
        None => spawner.spawn(unwrap!(wifi::no_network_task(control))),
    }
    spawner.spawn(unwrap!(mdns_task(stack, hostname)));

    static GUARD: StaticCell<Guard> = StaticCell::new();
    static APP_STATE: StaticCell<AppState> = StaticCell::new();
    let settings = Settings::from_build_env();
    let guard = GUARD.init(Guard::new(settings, nonce_key, |salt| RoscRng.fill_bytes(salt), login));
    // The names it answers to (DNS rebinding): hostname, hostname.local, AUTHGATE_HOSTS.
    guard.serve_names(hostname);
    let app_state = APP_STATE.init(AppState { guard, device: &DEVICE });
    spawner.spawn(unwrap!(store_task(store, guard)));
    #[cfg(feature = "jwt")]
    spawner.spawn(unwrap!(time_task(stack, guard)));

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
    unreachable!("the web sockets serve forever")
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
    picoserve::Server::new(app, config, &mut http)
        .listen_and_serve(id, stack, HTTP_PORT, &mut rx, &mut tx)
        .await
        .into_never()
}
