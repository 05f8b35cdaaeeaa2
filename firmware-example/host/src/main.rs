//! The Linux twin of the Pico W / Pico 2 W images: the same `app` crate, with the CYW43439
//! swapped for a TAP device (embassy-net on the embassy std executor), the login-store flash
//! for a file, the USB serial log for stderr — or, when no TAP device can be had, the web app
//! alone on a tokio `TcpListener` on loopback.
//!
//! ```text
//! authgate-twin --tap tap0 [--ip 192.168.69.2/24] [--port 80]   # embassy-net on a TAP device (DHCP without --ip)
//! authgate-twin --tokio 127.0.0.1:8080                           # picoserve's tokio transport (no link, no mDNS)
//!   common: [--flash FILE] [--factory-reset] [--unique-id HEX] [--nonce-lifetime SECONDS] [--open-reads]
//!           [--allow-host NAME]... [--allow-origin ORIGIN]...   (AUTHGATE_HOSTS, AUTHGATE_ORIGINS)
//!   with feature `jwt`: [--ntp-server ADDR] (TAP; the tokio fallback takes the host's clock)
//! ```
//!
//! It prints `ready: http://ADDR:PORT/ ...` on stdout once it serves; the device's log lines
//! (what the boards print on USB serial) go to stderr.

mod flash_file;
mod tap;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::exit;

use authgate_fw_app::auth::Guard;
use authgate_fw_app::device::Device;
use authgate_fw_app::net::{self, Link, Names};
use authgate_fw_app::settings::{self, Settings};
use authgate_fw_app::store::{self, LoginStore, STORE_BYTES};
use authgate_fw_app::web::{self, AppState};
use authgate_fw_app::{mdns, textlog};
use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_time::Timer;
use picoserve::routing::PathRouter;
use static_cell::StaticCell;

use crate::flash_file::FileFlash;
use crate::tap::TapDevice;

const WEB_SOCKETS: usize = 4;
/// The web sockets, the DHCP client and the mDNS responder (and with `jwt`, SNTP and DNS).
const NET_SOCKETS: usize = WEB_SOCKETS + 2 + 2 * cfg!(feature = "jwt") as usize;

static DEVICE: Device = Device::new();
static CONFIG: picoserve::Config = picoserve::Config::const_default().keep_connection_alive();

enum Mode {
    Tap { name: String, ip: Option<Ipv4Cidr>, port: u16 },
    Tokio(SocketAddr),
}

struct Args {
    mode: Mode,
    flash: PathBuf,
    factory_reset: bool,
    unique_id: Option<Vec<u8>>,
    nonce_lifetime_s: Option<u32>,
    open_reads: bool,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    /// The SNTP server (`AUTHGATE_NTP_SERVER` unless given).
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    ntp_server: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: authgate-twin (--tap NAME [--ip A.B.C.D/N] [--port P] | --tokio ADDR:PORT)\n\
         \x20                    [--flash FILE] [--factory-reset] [--unique-id HEX]\n\
         \x20                    [--nonce-lifetime SECONDS] [--open-reads]\n\
         \x20                    [--allow-host NAME]... [--allow-origin ORIGIN]..."
    );
    exit(2)
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    (s.len().is_multiple_of(2) && !s.is_empty())
        .then(|| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect())
        .flatten()
}

fn parse_args() -> Args {
    let (mut tap, mut ip, mut port, mut tokio) = (None, None, 80, None);
    let mut args = Args {
        mode: Mode::Tokio(SocketAddr::from(([127, 0, 0, 1], 0))),
        flash: PathBuf::from("authgate-twin-flash.bin"),
        factory_reset: false,
        unique_id: None,
        nonce_lifetime_s: None,
        open_reads: false,
        allowed_hosts: Vec::new(),
        allowed_origins: Vec::new(),
        ntp_server: None,
    };
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
            "--flash" => args.flash = PathBuf::from(val()),
            "--factory-reset" => args.factory_reset = true,
            "--unique-id" => args.unique_id = Some(parse_hex(&val()).unwrap_or_else(|| usage())),
            "--nonce-lifetime" => args.nonce_lifetime_s = Some(val().parse().unwrap_or_else(|_| usage())),
            "--open-reads" => args.open_reads = true,
            "--allow-host" => args.allowed_hosts.push(val()),
            "--allow-origin" => args.allowed_origins.push(val()),
            #[cfg(feature = "jwt")]
            "--ntp-server" => args.ntp_server = Some(val()),
            _ => usage(),
        }
    }
    args.mode = match (tap, tokio) {
        (Some(name), None) => Mode::Tap { name, ip, port },
        (None, Some(addr)) => Mode::Tokio(addr),
        _ => usage(),
    };
    args
}

/// The libraries' own `log` output (picoserve, embassy-net) at warn, or `RUST_LOG`.
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

fn urandom(buf: &mut [u8]) {
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).expect("reading /dev/urandom");
}

/// The board's unique id stands in as /etc/machine-id's first 8 bytes (stable per machine).
fn machine_id() -> Vec<u8> {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .and_then(|s| parse_hex(s.trim().get(..16)?))
        .unwrap_or_else(|| vec![0; 8])
}

fn main() {
    let args = parse_args();
    log::set_logger(&StderrLogger).unwrap();
    log::set_max_level(match std::env::var("RUST_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        Ok("info") => log::LevelFilter::Info,
        _ => log::LevelFilter::Warn,
    });

    let mut settings = Settings::from_build_env();
    if let Some(s) = args.nonce_lifetime_s {
        settings.nonce_lifetime_s = s;
    }
    if args.open_reads {
        settings.protect_reads = false;
    }
    // As AUTHGATE_HOSTS and AUTHGATE_ORIGINS would set them in a board's image.
    if !args.allowed_hosts.is_empty() {
        settings.allowed_hosts = args.allowed_hosts.join(" ").leak();
    }
    if !args.allowed_origins.is_empty() {
        settings.allowed_origins = args.allowed_origins.join(" ").leak();
    }
    let hostname: &'static str =
        settings::hostname(&args.unique_id.clone().unwrap_or_else(machine_id)).as_str().to_owned().leak();

    let flash = FileFlash::open(&args.flash, STORE_BYTES).unwrap_or_else(|e| {
        eprintln!("cannot open the flash file {}: {e}", args.flash.display());
        exit(1)
    });
    let mut store = LoginStore::new(flash, 0..STORE_BYTES);
    if args.factory_reset {
        match embassy_futures::block_on(store.erase()) {
            Ok(()) => eprintln!("factory reset: the login store in {} is erased", args.flash.display()),
            Err(e) => eprintln!("factory reset failed: {}", e.message()),
        }
    }
    let login = embassy_futures::block_on(store::login_at_boot(&mut store));

    // The nonce key: 32 bytes from the kernel's CSPRNG (the boards use their entropy source).
    let mut nonce_key = [0u8; 32];
    urandom(&mut nonce_key);
    static GUARD: StaticCell<Guard> = StaticCell::new();
    static APP_STATE: StaticCell<AppState> = StaticCell::new();
    let guard = GUARD.init(Guard::new(settings, nonce_key, |salt| urandom(salt), login));
    guard.serve_names(hostname);
    let state: &'static AppState = APP_STATE.init(AppState { guard, device: &DEVICE });

    match args.mode {
        Mode::Tokio(addr) => {
            // No embassy-net here, so no SNTP: the host's clock stands in for it.
            #[cfg(feature = "jwt")]
            authgate_fw_app::clock::set(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                "the host's clock",
                guard,
            );
            run_tokio(addr, state, store)
        }
        Mode::Tap { name, ip, port } => {
            #[cfg(feature = "jwt")]
            let _ = NTP_SERVER.set(args.ntp_server.map_or(settings::build::NTP_SERVER, |s| s.leak()));
            static EXECUTOR: StaticCell<Executor> = StaticCell::new();
            EXECUTOR.init(Executor::new()).run(move |spawner| {
                spawner.spawn(log_task().unwrap());
                spawner.spawn(main_task(spawner, name, ip, port, state, store, hostname).unwrap());
            })
        }
    }
}

/// The device's log, as the boards print it on USB serial.
async fn print_log() -> ! {
    let mut buf = [0u8; 256];
    loop {
        let n = textlog::read(&mut buf).await;
        let _ = std::io::stderr().write_all(&buf[..n]);
    }
}

#[embassy_executor::task]
async fn log_task() -> ! {
    print_log().await
}

#[embassy_executor::task]
async fn led_task() -> ! {
    loop {
        let on = DEVICE.wait_for_switch().await;
        log::info!("LED is now {}", if on { "on" } else { "off" });
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TapDevice>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn store_task(store: LoginStore<FileFlash>, guard: &'static Guard) -> ! {
    store::serve_changes(store, guard).await
}

/// The SNTP server the JWT clock is set from (`--ntp-server`, else the build's).
#[cfg(feature = "jwt")]
static NTP_SERVER: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The wall clock JWTs need.
#[cfg(feature = "jwt")]
#[embassy_executor::task]
async fn time_task(stack: Stack<'static>, guard: &'static Guard) -> ! {
    let server = NTP_SERVER.get().copied().unwrap_or(settings::build::NTP_SERVER);
    authgate_fw_app::sntp::keep_time(stack, server, guard).await
}

#[embassy_executor::task]
async fn mdns_task(stack: Stack<'static>, hostname: &'static str) -> ! {
    mdns::respond(stack, hostname).await
}

/// The TAP device as the link: "joined" while the interface is up (the test's `ip link set
/// down` is the access point going away).
struct TapLink {
    name: String,
}

impl Link for TapLink {
    type Error = &'static str;

    fn name(&self) -> &str {
        &self.name
    }

    async fn join(&mut self) -> Result<(), &'static str> {
        let ifname = self.name.trim_start_matches("TAP ");
        for _ in 0..10 {
            if tap::interface_up(ifname).unwrap_or(false) {
                return Ok(());
            }
            Timer::after_millis(100).await;
        }
        Err("the interface is down")
    }

    async fn leave(&mut self) {}

    fn give_up(&mut self) {
        // A board resets here; the twin keeps trying.
    }
}

#[embassy_executor::task]
async fn supervisor_task(stack: Stack<'static>, tap: String, hostname: &'static str, port: u16) -> ! {
    let mut link = TapLink { name: format!("TAP {tap}") };
    net::supervise(stack, &mut link, &Names { hostname, port }).await
}

#[embassy_executor::task]
async fn main_task(
    spawner: Spawner,
    tap: String,
    ip: Option<Ipv4Cidr>,
    port: u16,
    state: &'static AppState,
    store: LoginStore<FileFlash>,
    hostname: &'static str,
) {
    // A locally administered unicast MAC, like a real board's would be unique.
    let mut mac = [0u8; 6];
    urandom(&mut mac);
    mac[0] = (mac[0] & 0xfc) | 0x02;
    let device = TapDevice::new(&tap, mac).unwrap_or_else(|e| {
        eprintln!("cannot open TAP device {tap}: {e}");
        exit(1)
    });

    let config = match ip {
        // A fixed address, when the namespace has no DHCP server.
        Some(address) => {
            embassy_net::Config::ipv4_static(StaticConfigV4 { address, gateway: None, dns_servers: Default::default() })
        }
        // Like the boards: ask for an address, announcing the hostname.
        None => {
            let mut dhcp = embassy_net::DhcpConfig::default();
            dhcp.hostname = heapless::String::try_from(hostname).ok();
            embassy_net::Config::dhcpv4(dhcp)
        }
    };
    let mut seed = [0u8; 8];
    urandom(&mut seed);
    let seed = u64::from_le_bytes(seed);
    static RESOURCES: StaticCell<StackResources<NET_SOCKETS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(net_task(runner).unwrap());
    spawner.spawn(led_task().unwrap());
    spawner.spawn(store_task(store, state.guard).unwrap());
    spawner.spawn(supervisor_task(stack, tap.clone(), hostname, port).unwrap());
    spawner.spawn(mdns_task(stack, hostname).unwrap());
    #[cfg(feature = "jwt")]
    spawner.spawn(time_task(stack, state.guard).unwrap());

    stack.wait_config_up().await;
    let addr = stack.config_v4().unwrap().address.address();
    println!("ready: http://{addr}:{port}/ (embassy-net on TAP {tap}, mDNS {hostname}.local)");
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

/// The fallback: the same router and login store on picoserve's tokio transport.
fn run_tokio(addr: SocketAddr, state: &'static AppState, store: LoginStore<FileFlash>) {
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
        tokio::task::spawn_local(print_log());
        tokio::task::spawn_local(store::serve_changes(store, state.guard));
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
