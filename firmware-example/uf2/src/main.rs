//! `make uf2`: writes a board's image as a UF2 file (drag it onto the `RPI-RP2` / `RP2350`
//! drive that appears when the board is plugged in with BOOTSEL held), and a factory-reset
//! UF2 that erases only the login store's sectors (the image stays; the build login is back
//! on the next boot).
//!
//! ```text
//! authgate-uf2 image BOARD ELF OUT.uf2
//! authgate-uf2 factory-reset BOARD OUT.uf2
//!   BOARD: pico-w (RP2040, 2 MiB) | pico2-w (RP2350, 4 MiB)
//! ```
//! The conversion is elf2flash-core's; this tool only adds the boards' facts and the
//! erase blocks (a UF2 block of 0xFF bytes is what an erased NOR sector reads as).

use std::process::exit;

use elf2flash_core::boards::{BoardInfo, RP2040, RP2350};
use elf2flash_core::uf2::{
    UF2_FLAG_FAMILY_ID_PRESENT, UF2_MAGIC_END, UF2_MAGIC_START0, UF2_MAGIC_START1, Uf2BlockFooter, Uf2BlockHeader,
};
use elf2flash_core::{NoProgress, elf2uf2};
use zerocopy::IntoBytes;

/// Must match `STORE_BYTES` in app/src/store.rs (and the 16K in each memory.x).
const STORE_BYTES: u32 = 16 * 1024;
const FLASH_BASE: u32 = 0x1000_0000;
const PAGE: u32 = 256;

struct Board {
    chip: Box<dyn BoardInfo>,
    flash_size: u32,
    /// The family a data-only UF2 (the factory reset) is written with: the RP2350's boot
    /// ROM writes `absolute`-family blocks where they say, whatever the partition table.
    data_family: u32,
}

fn board(name: &str) -> Board {
    match name {
        "pico-w" => Board { chip: Box::new(RP2040), flash_size: 2 << 20, data_family: 0xe48b_ff56 },
        "pico2-w" => Board { chip: Box::new(RP2350), flash_size: 4 << 20, data_family: 0xe48b_ff57 },
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: authgate-uf2 image (pico-w|pico2-w) ELF OUT.uf2\n       authgate-uf2 factory-reset (pico-w|pico2-w) OUT.uf2"
    );
    exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["image", b, elf, out] => image(&board(b), elf, out),
        ["factory-reset", b, out] => factory_reset(&board(b), out),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("authgate-uf2: {e}");
        exit(1);
    }
}

fn image(board: &Board, elf: &str, out: &str) -> Result<(), String> {
    let input = std::fs::read(elf).map_err(|e| format!("{elf}: {e}"))?;
    let mut uf2 = Vec::new();
    elf2uf2(&input, &mut uf2, board.chip.as_ref(), NoProgress).map_err(|e| format!("{elf}: {e}"))?;
    // The image must stay clear of the login store (memory.x makes sure; this says so).
    let store = FLASH_BASE + board.flash_size - STORE_BYTES;
    for block in uf2.chunks(512) {
        let addr = u32::from_le_bytes(block[12..16].try_into().unwrap());
        if addr + PAGE > store {
            return Err(format!("{elf}: a block at {addr:#010x} reaches into the login store at {store:#010x}"));
        }
    }
    std::fs::write(out, &uf2).map_err(|e| format!("{out}: {e}"))?;
    println!("{out}: {} blocks, {} bytes of image", uf2.len() / 512, uf2.len() / 2);
    Ok(())
}

fn factory_reset(board: &Board, out: &str) -> Result<(), String> {
    let store = FLASH_BASE + board.flash_size - STORE_BYTES;
    let blocks = STORE_BYTES / PAGE;
    let mut uf2 = Vec::new();
    for n in 0..blocks {
        let header = Uf2BlockHeader {
            magic_start0: UF2_MAGIC_START0,
            magic_start1: UF2_MAGIC_START1,
            flags: UF2_FLAG_FAMILY_ID_PRESENT,
            target_addr: store + n * PAGE,
            payload_size: PAGE,
            block_no: n,
            num_blocks: blocks,
            file_size: board.data_family,
        };
        let mut data = [0u8; 476];
        data[..PAGE as usize].fill(0xFF);
        uf2.extend_from_slice(header.as_bytes());
        uf2.extend_from_slice(&data);
        uf2.extend_from_slice(Uf2BlockFooter { magic_end: UF2_MAGIC_END }.as_bytes());
    }
    std::fs::write(out, &uf2).map_err(|e| format!("{out}: {e}"))?;
    println!("{out}: erases {STORE_BYTES} bytes at {store:#010x} (the login store)");
    Ok(())
}
