//! The changed login in flash, and how a web request gets it written.
//!
//! [`LoginStore`] keeps the login in a ring of flash sectors (four 4 KiB sectors at the end
//! of the boards' flash; a file on the Linux twin). Each change is appended as a new record
//! with the next sequence number; the newest record whose checksum holds is the login. When a
//! sector is full the next one in the ring is erased and used, so every sector is erased in
//! turn (wear-levelled: one erase per 32 changes, spread over four sectors), and the sector
//! erased never holds the newest record. A write cut short by power loss fails its checksum
//! and the previous record stands.
//!
//! A record carries the build login's fingerprint ([`build::FINGERPRINT`]): an image built
//! with a different login ignores a record made under the old one. That, and erasing the
//! sectors (the factory-reset UF2, or [`LoginStore::erase`]), bring back the build login.
//!
//! Hand-written rather than sequential-storage (a general key-value map), which with the
//! flash driver cost 17.6 KiB of the Pico W's 448 KiB flash budget for this one record; the
//! checksum is authgate's SHA-256, already in the image.
//!
//! Web handlers do not own the flash: [`change_login`] hands the new login to
//! [`serve_changes`], the one task that does, and waits until it is written.

use core::ops::Range;

use authgate::HashAlgorithm;
use authgate::hash::Hasher;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use embedded_storage_async::nor_flash::NorFlash;

use crate::auth::Guard;
use crate::login::Login;
use crate::settings::build;

/// Flash given to the store: four 4 KiB sectors.
pub const STORE_BYTES: u32 = 16 * 1024;
/// The sector size the store is laid out in (the RP2040/RP2350 erase size).
pub const SECTOR: u32 = 4096;
/// One record slot: magic, sequence number, payload, checksum, padding.
const SLOT: u32 = 128;
const MAGIC: [u8; 4] = *b"AGL1";
/// version, fingerprint (8), flags, SHA-256 HA1 (32), MD5 HA1 (16).
const PAYLOAD: usize = 1 + 8 + 1 + 32 + 16;
/// magic (4) + sequence (4) + payload + checksum (8).
const RECORD: usize = 8 + PAYLOAD + 8;
const VERSION: u8 = 1;
const HAS_SHA256: u8 = 1;
const HAS_MD5: u8 = 2;

/// Why the store could not do what was asked (for logs; no secret in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError {
    /// The flash driver failed.
    Flash,
}

impl StoreError {
    pub const fn message(self) -> &'static str {
        match self {
            StoreError::Flash => "flash error",
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
    flash: F,
    range: Range<u32>,
}

/// The newest valid record found by a scan, and where it is.
struct Newest {
    sequence: u32,
    offset: u32,
    payload: [u8; PAYLOAD],
}

impl<F: NorFlash> LoginStore<F> {
    /// `range` is in the flash driver's offsets: whole sectors, at least two of them.
    pub fn new(flash: F, range: Range<u32>) -> Self {
        assert!(
            range.start.is_multiple_of(SECTOR)
                && range.end.is_multiple_of(SECTOR)
                && range.end - range.start >= 2 * SECTOR,
            "the login store needs two or more whole sectors"
        );
        LoginStore { flash, range }
    }

    pub async fn load(&mut self) -> Result<Stored, StoreError> {
        let Some(newest) = self.newest().await? else { return Ok(Stored::Nothing) };
        Ok(match decode(&newest.payload) {
            Some((fingerprint, login)) if fingerprint == build::FINGERPRINT => Stored::Changed(login),
            Some(_) => Stored::OtherBuild,
            None => Stored::Nothing,
        })
    }

    pub async fn save(&mut self, login: &Login) -> Result<(), StoreError> {
        let (sequence, mut offset) = match self.newest().await? {
            Some(n) => (n.sequence.wrapping_add(1), n.offset + SLOT),
            None => (1, self.range.start),
        };
        // The first blank slot from there on; entering a sector erases it first (it holds
        // only records older than the newest).
        for _ in 0..(self.range.end - self.range.start) / SLOT {
            if offset >= self.range.end {
                offset = self.range.start;
            }
            if offset.is_multiple_of(SECTOR) {
                self.flash.erase(offset, offset + SECTOR).await.map_err(|_| StoreError::Flash)?;
            }
            if self.is_blank(offset).await? {
                let record = encode(sequence, login);
                return self.flash.write(offset, &record).await.map_err(|_| StoreError::Flash);
            }
            offset += SLOT;
        }
        Err(StoreError::Flash)
    }

    /// Forget the changed login (factory reset): erases the store's sectors.
    pub async fn erase(&mut self) -> Result<(), StoreError> {
        self.flash.erase(self.range.start, self.range.end).await.map_err(|_| StoreError::Flash)
    }

    async fn is_blank(&mut self, offset: u32) -> Result<bool, StoreError> {
        let mut slot = [0u8; RECORD];
        self.flash.read(offset, &mut slot).await.map_err(|_| StoreError::Flash)?;
        Ok(slot.iter().all(|&b| b == 0xFF))
    }

    async fn newest(&mut self) -> Result<Option<Newest>, StoreError> {
        let mut best: Option<Newest> = None;
        let mut record = [0u8; RECORD];
        let mut offset = self.range.start;
        while offset < self.range.end {
            self.flash.read(offset, &mut record).await.map_err(|_| StoreError::Flash)?;
            if let Some((sequence, payload)) = check(&record) {
                // Sequence numbers grow by one per change; wrapping_sub keeps the order
                // across the (theoretical) wrap at 2^32.
                if best.as_ref().is_none_or(|b| sequence.wrapping_sub(b.sequence) as i32 > 0) {
                    best = Some(Newest { sequence, offset, payload: *payload });
                }
            }
            offset += SLOT;
        }
        Ok(best)
    }
}

fn checksum(body: &[u8]) -> [u8; 8] {
    let mut h = Hasher::new(HashAlgorithm::Sha256).expect("sha256 is enabled");
    h.update(body);
    h.finalize().as_bytes()[..8].try_into().unwrap_or([0; 8])
}

fn encode(sequence: u32, login: &Login) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..4].copy_from_slice(&MAGIC);
    r[4..8].copy_from_slice(&sequence.to_le_bytes());
    let p = &mut r[8..8 + PAYLOAD];
    p[0] = VERSION;
    p[1..9].copy_from_slice(&build::FINGERPRINT);
    let (sha256, md5) = login.parts();
    if let Some(h) = sha256 {
        p[9] |= HAS_SHA256;
        p[10..42].copy_from_slice(h);
    }
    if let Some(h) = md5 {
        p[9] |= HAS_MD5;
        p[42..58].copy_from_slice(h);
    }
    let sum = checksum(&r[..8 + PAYLOAD]);
    r[8 + PAYLOAD..].copy_from_slice(&sum);
    r
}

/// A slot's sequence number and payload, if it holds a whole record.
fn check(r: &[u8; RECORD]) -> Option<(u32, &[u8; PAYLOAD])> {
    if r[..4] != MAGIC || r[8 + PAYLOAD..] != checksum(&r[..8 + PAYLOAD]) {
        return None;
    }
    let sequence = u32::from_le_bytes(r[4..8].try_into().ok()?);
    Some((sequence, r[8..8 + PAYLOAD].try_into().ok()?))
}

fn decode(p: &[u8; PAYLOAD]) -> Option<([u8; 8], Login)> {
    if p[0] != VERSION {
        return None;
    }
    let fingerprint = p[1..9].try_into().ok()?;
    let sha256 = (p[9] & HAS_SHA256 != 0).then(|| &p[10..42]);
    let md5 = (p[9] & HAS_MD5 != 0).then(|| &p[42..58]);
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
    Login::from_build()
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

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_storage_async::nor_flash::{ErrorType, NorFlashErrorKind, ReadNorFlash};

    /// NOR flash in RAM: erase sets 0xFF, a write only clears bits; `cut` makes the next
    /// write stop after that many bytes (a power cut).
    struct RamFlash {
        bytes: [u8; 4 * SECTOR as usize],
        erases: [u32; 4],
        cut: Option<usize>,
    }

    impl ErrorType for RamFlash {
        type Error = NorFlashErrorKind;
    }

    impl ReadNorFlash for RamFlash {
        const READ_SIZE: usize = 1;
        async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
            bytes.copy_from_slice(&self.bytes[offset as usize..offset as usize + bytes.len()]);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.bytes.len()
        }
    }

    impl NorFlash for RamFlash {
        const WRITE_SIZE: usize = 1;
        const ERASE_SIZE: usize = SECTOR as usize;
        async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
            for s in from / SECTOR..to / SECTOR {
                self.erases[s as usize] += 1;
            }
            self.bytes[from as usize..to as usize].fill(0xFF);
            Ok(())
        }
        async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
            let n = self.cut.take().unwrap_or(bytes.len());
            for (i, b) in bytes[..n].iter().enumerate() {
                let old = &mut self.bytes[offset as usize + i];
                if *old & b != *b {
                    return Err(NorFlashErrorKind::Other);
                }
                *old = *b;
            }
            Ok(())
        }
    }

    fn store() -> LoginStore<RamFlash> {
        LoginStore::new(RamFlash { bytes: [0xFF; 4 * SECTOR as usize], erases: [0; 4], cut: None }, 0..4 * SECTOR)
    }

    fn login(password: &str) -> Login {
        Login::from_password(build::REALM, password).unwrap()
    }

    fn loaded(s: &mut LoginStore<RamFlash>) -> Option<Login> {
        match embassy_futures::block_on(s.load()).unwrap() {
            Stored::Changed(l) => Some(l),
            _ => None,
        }
    }

    #[test]
    fn empty_then_saved_then_erased() {
        let mut s = store();
        assert!(loaded(&mut s).is_none());
        embassy_futures::block_on(s.save(&login("first password"))).unwrap();
        assert_eq!(loaded(&mut s), Some(login("first password")));
        embassy_futures::block_on(s.erase()).unwrap();
        assert!(loaded(&mut s).is_none());
    }

    #[test]
    fn many_changes_wrap_the_ring_and_wear_every_sector_evenly() {
        let mut s = store();
        for i in 0..1000 {
            let pw = heapless::format!(32; "password {i}").unwrap();
            embassy_futures::block_on(s.save(&login(&pw))).unwrap();
            assert_eq!(loaded(&mut s), Some(login(&pw)), "after change {i}");
        }
        // 32 records a sector: 1000 changes erase each of the four sectors 7 or 8 times.
        let e = s.flash.erases;
        assert!(e.iter().all(|&n| (7..=8).contains(&n)), "{e:?}");
    }

    #[test]
    fn a_write_cut_short_leaves_the_previous_login() {
        let mut s = store();
        embassy_futures::block_on(s.save(&login("old password"))).unwrap();
        for cut in [0, 1, 8, 40, RECORD - 1] {
            s.flash.cut = Some(cut);
            embassy_futures::block_on(s.save(&login("new password"))).unwrap();
            assert_eq!(loaded(&mut s), Some(login("old password")), "cut after {cut} bytes");
        }
        // The slots holding torn writes are skipped, not rewritten.
        embassy_futures::block_on(s.save(&login("new password"))).unwrap();
        assert_eq!(loaded(&mut s), Some(login("new password")));
    }

    #[test]
    fn a_record_from_another_build_login_is_ignored() {
        let mut s = store();
        let mut r = encode(1, &login("some password"));
        r[9] ^= 1; // the fingerprint's first byte
        let sum = checksum(&r[..8 + PAYLOAD]);
        r[8 + PAYLOAD..].copy_from_slice(&sum);
        embassy_futures::block_on(s.flash.write(0, &r)).unwrap();
        assert!(matches!(embassy_futures::block_on(s.load()).unwrap(), Stored::OtherBuild));
    }
}
