//! The twin's flash: a file standing in for the boards' login-store sectors, with the same
//! geometry (4 KiB erase sectors, byte writes) and NOR rules: erasing sets bytes to 0xFF and
//! a write can only clear bits, so a store that relied on rewriting in place would fail here
//! as it would on the chip. Every write reaches the file before it returns, so killing the
//! twin is a power cut.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use embedded_storage_async::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

/// The boards' sector and page sizes (embassy-rp's `ERASE_SIZE`, `WRITE_SIZE`).
pub const ERASE_SIZE: usize = 4096;

pub struct FileFlash {
    file: File,
    size: u32,
}

#[derive(Debug)]
pub enum FlashError {
    Io,
    Nor(NorFlashErrorKind),
}

/// An I/O error on the file, logged here (the store only sees "flash error").
fn io(e: io::Error) -> FlashError {
    log::warn!("flash file: {e}");
    FlashError::Io
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::Io => NorFlashErrorKind::Other,
            FlashError::Nor(k) => *k,
        }
    }
}

impl FileFlash {
    /// Opens `path`, creating it erased (all 0xFF) at `size` bytes if it is missing or shorter.
    pub fn open(path: &Path, size: u32) -> io::Result<FileFlash> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let len = file.metadata()?.len();
        if len < u64::from(size) {
            file.write_all_at(&vec![0xFF; (u64::from(size) - len) as usize], len)?;
            file.sync_data()?;
        }
        Ok(FileFlash { file, size })
    }

    fn check(&self, offset: u32, len: usize) -> Result<(), FlashError> {
        if u64::from(offset) + len as u64 > u64::from(self.size) {
            return Err(FlashError::Nor(NorFlashErrorKind::OutOfBounds));
        }
        Ok(())
    }
}

impl ErrorType for FileFlash {
    type Error = FlashError;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.check(offset, bytes.len())?;
        self.file.read_exact_at(bytes, offset.into()).map_err(io)
    }

    fn capacity(&self) -> usize {
        self.size as usize
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        if !from.is_multiple_of(ERASE_SIZE as u32) || !to.is_multiple_of(ERASE_SIZE as u32) || from > to {
            return Err(FlashError::Nor(NorFlashErrorKind::NotAligned));
        }
        self.check(from, (to - from) as usize)?;
        self.file.write_all_at(&vec![0xFF; (to - from) as usize], from.into()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.check(offset, bytes.len())?;
        let mut current = vec![0u8; bytes.len()];
        self.file.read_exact_at(&mut current, offset.into()).map_err(io)?;
        // NOR programming only clears bits: a byte that needs a 0 turned into a 1 needs an erase.
        if current.iter().zip(bytes).any(|(old, new)| old & new != *new) {
            return Err(FlashError::Nor(NorFlashErrorKind::Other));
        }
        self.file.write_all_at(bytes, offset.into()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}
