//! The changed login in flash, and how a web request gets it written.
//!
//! [`LoginStore`] keeps one record in a `sequential-storage` map over a few flash sectors
//! (16 KiB at the end of the boards' flash; a file on the Linux twin): each change appends a
//! record and old ones are erased sector by sector in turn, so the sectors wear evenly, and a
//! power cut mid-write leaves the previous record readable.
//!
//! A record carries the build login's fingerprint ([`build::FINGERPRINT`]): an image built
//! with a different login ignores a record made under the old one. That, and erasing the
//! sectors (the factory-reset UF2, or [`LoginStore::erase`]), bring back the build login.
//!
//! Web handlers do not own the flash: [`change_login`] hands the new login to
//! [`serve_changes`], the one task that does, and waits until it is written.

use core::ops::Range;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

use crate::auth::Guard;
use crate::login::Login;
use crate::settings::build;

/// Flash given to the store: four 4 KiB sectors (a record is 58 bytes, so a sector holds
/// some 60 changes before the next is erased).
pub const STORE_BYTES: u32 = 16 * 1024;

/// The one key of the map.
const LOGIN_KEY: u8 = 1;
/// Record layout version.
const VERSION: u8 = 1;
const HAS_SHA256: u8 = 1;
const HAS_MD5: u8 = 2;
/// version, fingerprint (8), flags, SHA-256 HA1 (32), MD5 HA1 (16).
const RECORD_LEN: usize = 1 + 8 + 1 + 32 + 16;
/// Key, record and sequential-storage's word padding.
const BUFFER_LEN: usize = 128;

/// Why the store could not do what was asked (for logs; no secret in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError {
    /// The flash driver failed.
    Flash,
    /// The sectors hold something sequential-storage cannot repair.
    Corrupted,
    /// Anything else sequential-storage reported.
    Other,
}

impl StoreError {
    pub const fn message(self) -> &'static str {
        match self {
            StoreError::Flash => "flash error",
            StoreError::Corrupted => "store corrupted",
            StoreError::Other => "store error",
        }
    }
}

impl<E> From<sequential_storage::Error<E>> for StoreError {
    fn from(e: sequential_storage::Error<E>) -> Self {
        match e {
            sequential_storage::Error::Storage { .. } => StoreError::Flash,
            sequential_storage::Error::Corrupted { .. } => StoreError::Corrupted,
            _ => StoreError::Other,
        }
    }
}

/// What [`LoginStore::load`] found.
pub enum Stored {
    /// A login changed on the device under this build's login.
    Changed(Login),
    /// Nothing stored (a new or factory-reset device).
    Nothing,
    /// A record made under another build login (a new image was flashed): ignored.
    OtherBuild,
}

pub struct LoginStore<F: NorFlash> {
    map: MapStorage<u8, F, Cache<Uncached, Uncached, Uncached, u8>>,
}

impl<F: NorFlash> LoginStore<F> {
    /// `range` is in the flash driver's offsets, whole sectors, at least two of them.
    pub fn new(flash: F, range: Range<u32>) -> Self {
        LoginStore { map: MapStorage::new(flash, MapConfig::new(range), Cache::new_uncached()) }
    }

    pub async fn load(&mut self) -> Result<Stored, StoreError> {
        let mut buf = [0u8; BUFFER_LEN];
        let Some(record) = self.map.fetch_item::<&[u8]>(&mut buf, &LOGIN_KEY).await? else {
            return Ok(Stored::Nothing);
        };
        Ok(match decode(record) {
            Some((fingerprint, login)) if fingerprint == build::FINGERPRINT => Stored::Changed(login),
            Some(_) => Stored::OtherBuild,
            None => Stored::Nothing,
        })
    }

    pub async fn save(&mut self, login: &Login) -> Result<(), StoreError> {
        let record = encode(login);
        let mut buf = [0u8; BUFFER_LEN];
        self.map.store_item(&mut buf, &LOGIN_KEY, &&record[..]).await?;
        Ok(())
    }

    /// Forget the changed login (factory reset): erases the store's sectors.
    pub async fn erase(&mut self) -> Result<(), StoreError> {
        self.map.erase_all().await?;
        Ok(())
    }
}

fn encode(login: &Login) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[0] = VERSION;
    r[1..9].copy_from_slice(&build::FINGERPRINT);
    let (sha256, md5) = login.parts();
    if let Some(h) = sha256 {
        r[9] |= HAS_SHA256;
        r[10..42].copy_from_slice(h);
    }
    if let Some(h) = md5 {
        r[9] |= HAS_MD5;
        r[42..58].copy_from_slice(h);
    }
    r
}

fn decode(r: &[u8]) -> Option<([u8; 8], Login)> {
    if r.len() != RECORD_LEN || r[0] != VERSION {
        return None;
    }
    let fingerprint = r[1..9].try_into().ok()?;
    let sha256 = (r[9] & HAS_SHA256 != 0).then(|| &r[10..42]);
    let md5 = (r[9] & HAS_MD5 != 0).then(|| &r[42..58]);
    Some((fingerprint, Login::from_parts(sha256, md5)?))
}

/// The login to check against at boot: the one changed on the device if the store has one
/// made under this build's login, else the build's. Logs which (never the login itself).
pub async fn login_at_boot<F: NorFlash>(store: &mut LoginStore<F>) -> Login {
    match store.load().await {
        Ok(Stored::Changed(login)) => {
            info!("login: the password changed on the device (from flash)");
            return login;
        }
        Ok(Stored::OtherBuild) => {
            info!("login: from this image's build; the password changed under an earlier image is forgotten")
        }
        Ok(Stored::Nothing) => info!("login: from this image's build ({})", build::SOURCE),
        Err(e) => warn!("login store unreadable ({}): using this image's build login", e.message()),
    }
    if crate::settings::USING_DEMO_LOGIN {
        warn!("the demo login {}:authgate-demo is in use: change it (POST /api/password)", crate::settings::USER);
    }
    Login::from_build().expect("build.rs checked the build login")
}

/// New logins on their way to the flash, and the answers.
static REQUESTS: Channel<CriticalSectionRawMutex, Login, 1> = Channel::new();
static DONE: Signal<CriticalSectionRawMutex, Result<(), StoreError>> = Signal::new();
/// One change at a time, so that each caller gets its own answer.
static ONE_AT_A_TIME: Mutex<CriticalSectionRawMutex, ()> = Mutex::new(());

/// Write `login` to flash, then make it the one authgate checks against. The old password
/// works until the write succeeded and never after.
pub async fn change_login(login: Login) -> Result<(), StoreError> {
    let _turn = ONE_AT_A_TIME.lock().await;
    DONE.reset();
    REQUESTS.send(login).await;
    DONE.wait().await
}

/// The task that owns the store: writes each requested login, then installs it in `guard`.
/// Runs each write to completion (sequential-storage's futures must not be cancelled).
pub async fn serve_changes<F: NorFlash>(mut store: LoginStore<F>, guard: &'static Guard) -> ! {
    loop {
        let login = REQUESTS.receive().await;
        let result = store.save(&login).await;
        if result.is_ok() {
            guard.set_login(login);
        }
        DONE.signal(result);
    }
}
