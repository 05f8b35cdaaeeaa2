//! NVRAM (board calibration) for the CYW43439 on the Raspberry Pi Pico W.
//!
//! cyw43 0.7 takes the NVRAM image as an argument, and no crate on crates.io ships the Pico W
//! one, so it is embedded here. Source: the board file `cyw943439wlpth_rev1_0` as published in
//! Raspberry Pi's / George Robotics' `cyw43-driver` (`firmware/wifi_nvram_43439.h`) and, in
//! the same form, as `cyw43-firmware/nvram_rp2040.txt` → `nvram_rp2040.bin` in the embassy
//! repository: one `key=value` per line, each line NUL-terminated, the image closed by two more
//! NULs — 742 bytes. It is board data (crystal frequency, PA calibration, board flags), not
//! code; the MAC address in it is a placeholder that the chip's OTP overrides.

use cyw43::{A4, Aligned};

macro_rules! nvram {
    ($($line:literal)*) => {
        concat!($($line, "\0",)* "\0\0")
    };
}

const TEXT: &str = nvram!(
    "NVRAMRev=$Rev$"
    "manfid=0x2d0"
    "prodid=0x0727"
    "vendid=0x14e4"
    "devid=0x43e2"
    "boardtype=0x0887"
    "boardrev=0x1100"
    "boardnum=22"
    "macaddr=00:A0:50:b5:59:5e"
    "sromrev=11"
    "boardflags=0x00404001"
    "boardflags3=0x04000000"
    "xtalfreq=37400"
    "nocrc=1"
    "ag0=255"
    "aa2g=1"
    "ccode=ALL"
    "pa0itssit=0x20"
    "extpagain2g=0"
    "pa2ga0=-168,6649,-778"
    "AvVmid_c0=0x0,0xc8"
    "cckpwroffset0=5"
    "maxp2ga0=84"
    "txpwrbckof=6"
    "cckbw202gpo=0"
    "legofdmbw202gpo=0x66111111"
    "mcsbw202gpo=0x77711111"
    "propbw202gpo=0xdd"
    "ofdmdigfilttype=18"
    "ofdmdigfilttypebe=18"
    "papdmode=1"
    "papdvalidtest=1"
    "pacalidx2g=45"
    "papdepsoffset=-30"
    "papdendidx=58"
    "ltecxmux=0"
    "ltecxpadnum=0x0102"
    "ltecxfnsel=0x44"
    "ltecxgcigpio=0x01"
    "il0macaddr=00:90:4c:c5:12:38"
    "wl0id=0x431b"
    "deadman_to=0xffffffff"
    "muxenab=0x100"
    "spurconfig=0x3"
    "glitch_based_crsmin=1"
    "btc_mode=1"
);

/// The length of embassy's `nvram_rp2040.bin`.
pub const LEN: usize = 742;
const _: () = assert!(TEXT.len() == LEN);

const fn bytes() -> [u8; LEN] {
    let src = TEXT.as_bytes();
    let mut out = [0u8; LEN];
    let mut i = 0;
    while i < LEN {
        out[i] = src[i];
        i += 1;
    }
    out
}

/// The image, 4-byte aligned as the driver requires.
pub static NVRAM: &Aligned<A4, [u8]> = &Aligned(bytes());
