//! The Linux twin of the Pico W image: the same `app` crate, with the CYW43439 swapped for a
//! TAP device (embassy-net over embassy-net-tuntap, on the embassy std executor), or — when
//! no TAP device can be had — for a tokio `TcpListener` on loopback.
//!
//! ```text
//! authgate-twin --tap tap0 [--ip 192.168.69.2/24] [--port 80]     # embassy-net on a TAP device (DHCP without --ip)
//! authgate-twin --tokio 127.0.0.1:8080                             # picoserve's tokio transport
//!   common: [--nonce-lifetime SECONDS] [--open-reads]
//! ```
//!
//! It prints `ready: http://ADDR:PORT/` on stdout once it serves.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::exit;

use authgate_fw_app::auth::Guard;
use authgate_fw_app::device::Device;
use authgate_fw_app::settings::{self, Settings};
use authgate_fw_app::web::{self, AppState};
use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use picoserve::routing::PathRouter;
use static_cell::StaticCell;

const WEB_SOCKETS: usize = 4;

static DEVICE: Device = Device::new();
static CONFIG: picoserve::Config = picoserve::Config::const_default().keep_connection_alive();

enum Mode {
    Tap { name: String, ip: Option<Ipv4Cidr>, port: u16 },
    Tokio(SocketAddr),
}

struct Args {
    mode: Mode,
    nonce_lifetime_s: Option<u32>,
    open_reads: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: authgate-twin (--tap NAME [--ip A.B.C.D/N] [--port P] | --tokio ADDR:PORT)\n\
         \x20                    [--nonce-lifetime SECONDS] [--open-reads]"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut tap = None;
    let mut ip = None;
    let mut port = 80;
    let mut tokio = None;
    let mut nonce_lifetime_s = None;
    let mut open_reads = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--tap" => tap = Some(val()),
            "--ip" => {
                let v = val();
                let (addr, len) = v.split_once('/').unwrap_or_else(|| usage());
                let addr: Ipv4Addr = addr.parse().unwrap_or_else(|_| usage());
                ip = Some(Ipv4Cidr::new(addr, len.parse().unwrap_or_else(|_| usage())));
            }
            "--port" => port = val().parse().unwrap_or_else(|_| usage()),
            "--tokio" => tokio = Some(val().parse().unwrap_or_else(|_| usage())),
            "--nonce-lifetime" => nonce_lifetime_s = Some(val().parse().unwrap_or_else(|_| usage())),
            "--open-reads" => open_reads = true,
            _ => usage(),
        }
    }
    let mode = match (tap, tokio) {
        (Some(name), None) => Mode::Tap { name, ip, port },
        (None, Some(addr)) => Mode::Tokio(addr),
        _ => usage(),
    };
    Args { mode, nonce_lifetime_s, open_reads }
}

/// A stderr logger, enough for a twin (`RUST_LOG=debug` for more).
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            eprintln!("[{:5} {}] {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}

fn main() {
    let args = parse_args();
    log::set_logger(&StderrLogger).unwrap();
    log::set_max_level(match std::env::var("RUST_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        Ok("warn") => log::LevelFilter::Warn,
        _ => log::LevelFilter::Info,
    });

    let mut settings = Settings::from_build_env();
    if let Some(s) = args.nonce_lifetime_s {
        settings.nonce_lifetime_s = s;
    }
    if args.open_reads {
        settings.protect_reads = false;
    }
    if settings::USING_DEMO_PASSWORD {
        log::warn!("using the demo login {}:{}", settings::USER, settings::PASSWORD);
    }

    // The nonce key: 32 bytes from the kernel's CSPRNG (the Pico W uses its ring oscillator).
    let mut nonce_key = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut nonce_key)).expect("reading /dev/urandom");

    static GUARD: StaticCell<Guard> = StaticCell::new();
    static APP_STATE: StaticCell<AppState> = StaticCell::new();
    let guard = GUARD.init(Guard::new(settings, nonce_key, urandom));
    let state: &'static AppState = APP_STATE.init(AppState { guard, device: &DEVICE });

    match args.mode {
        Mode::Tokio(addr) => run_tokio(addr, state),
        Mode::Tap { name, ip, port } => {
            static EXECUTOR: StaticCell<Executor> = StaticCell::new();
            EXECUTOR.init(Executor::new()).run(move |spawner| {
                spawner.spawn(main_task(spawner, name, ip, port, state).unwrap());
            })
        }
    }
}

/// Per-nonce salt from the kernel's CSPRNG.
fn urandom(buf: &mut [u8; 8]) {
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).expect("reading /dev/urandom");
}

#[embassy_executor::task]
async fn led_task() -> ! {
    loop {
        let on = DEVICE.wait_for_switch().await;
        log::info!("LED is now {}", if on { "on" } else { "off" });
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn main_task(spawner: Spawner, tap: String, ip: Option<Ipv4Cidr>, port: u16, state: &'static AppState) {
    let mut device = TunTapDevice::new(&tap).unwrap_or_else(|e| {
        eprintln!("cannot open TAP device {tap}: {e}");
        exit(1)
    });
    // A locally administered unicast MAC, like a real board's would be unique.
    let mut mac = [0u8; 6];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut mac)).unwrap();
    mac[0] = (mac[0] & 0xfc) | 0x02;
    device.set_hardware_address(mac);

    let config = match ip {
        // Under test: a fixed address, so no DHCP server is needed in the namespace.
        Some(address) => {
            embassy_net::Config::ipv4_static(StaticConfigV4 { address, gateway: None, dns_servers: Default::default() })
        }
        // Like the Pico W: ask for an address.
        None => embassy_net::Config::dhcpv4(Default::default()),
    };
    let mut seed = [0u8; 8];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed)).unwrap();
    let seed = u64::from_le_bytes(seed);
    static RESOURCES: StaticCell<StackResources<{ WEB_SOCKETS + 1 }>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(net_task(runner).unwrap());
    spawner.spawn(led_task().unwrap());

    stack.wait_config_up().await;
    let addr = stack.config_v4().unwrap().address.address();
    println!("ready: http://{addr}:{port}/ (embassy-net on TAP {tap})");
    std::io::stdout().flush().unwrap();

    let app = web::router(state);
    embassy_futures::join::join_array(core::array::from_fn::<_, WEB_SOCKETS, _>(|id| serve(id, stack, port, &app)))
        .await;
}

async fn serve<P: PathRouter>(id: usize, stack: Stack<'static>, port: u16, app: &picoserve::Router<P>) {
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let mut http = [0u8; 2048];
    picoserve::Server::new(app, &CONFIG, &mut http)
        .listen_and_serve(id, stack, port, &mut rx, &mut tx)
        .await
        .into_never()
}

/// The fallback: the same router on picoserve's tokio transport.
fn run_tokio(addr: SocketAddr, state: &'static AppState) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap_or_else(|e| {
            eprintln!("cannot listen on {addr}: {e}");
            exit(1)
        });
        let bound = listener.local_addr().unwrap();
        println!("ready: http://{bound}/ (picoserve tokio transport)");
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_local(async {
            loop {
                let on = DEVICE.wait_for_switch().await;
                log::info!("LED is now {}", if on { "on" } else { "off" });
            }
        });
        let app = std::rc::Rc::new(web::router(state));
        loop {
            let Ok((stream, _peer)) = listener.accept().await else { continue };
            let app = app.clone();
            tokio::task::spawn_local(async move {
                let mut http = [0u8; 2048];
                if let Err(e) = picoserve::Server::new_tokio(&app, &CONFIG, &mut http).serve(stream).await {
                    log::debug!("connection: {e:?}");
                }
            });
        }
    })
}
