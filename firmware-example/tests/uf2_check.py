#!/usr/bin/env python3
"""Reads the UF2 files `make uf2` wrote, independently of the tool that wrote them.

  uf2_check.py image BOARD ELF IMAGE.uf2     # every loadable byte of the ELF is in the UF2
                                             # at its flash address; nothing else, nothing in
                                             # the login store; the board's family id
  uf2_check.py factory-reset BOARD RESET.uf2 # 0xFF over exactly the login store
  uf2_check.py apply BOARD RESET.uf2 FLASH   # writes the blocks into the twin's flash file
                                             # (its store region), as the boot ROM would

Prints one line per file; exits 1 on the first problem.
"""
import struct
import sys

BOARDS = {  # flash size, image family, data family (see uf2/src/main.rs)
    "pico-w": (2 << 20, 0xE48BFF56, 0xE48BFF56),
    "pico2-w": (4 << 20, 0xE48BFF59, 0xE48BFF57),
}
FLASH_BASE = 0x10000000
STORE_BYTES = 16 * 1024
MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)


def fail(msg):
    print("uf2_check: " + msg)
    sys.exit(1)


def blocks(path, family):
    data = open(path, "rb").read()
    if not data or len(data) % 512:
        fail(f"{path}: not a whole number of 512-byte blocks")
    out, count = {}, len(data) // 512
    for i in range(count):
        b = data[i * 512 : (i + 1) * 512]
        m0, m1, flags, addr, size, no, num, fam = struct.unpack("<8I", b[:32])
        (m_end,) = struct.unpack("<I", b[508:])
        if (m0, m1, m_end) != MAGIC:
            fail(f"{path}: block {i}: bad magic")
        if not flags & 0x2000 or fam != family:
            fail(f"{path}: block {i}: family {fam:#x}, expected {family:#x}")
        if no != i or num != count or size != 256 or addr % 256:
            fail(f"{path}: block {i}: numbering/size/alignment wrong ({no}/{num}, {size} B at {addr:#x})")
        if addr in out:
            fail(f"{path}: two blocks for {addr:#x}")
        out[addr] = b[32 : 32 + 256]
    return out


def loadable(elf_path):
    """(address, bytes) of every PT_LOAD segment's file contents, at its load (physical) address."""
    elf = open(elf_path, "rb").read()
    if elf[:4] != b"\x7fELF" or elf[4] != 1:
        fail(f"{elf_path}: not a 32-bit ELF")
    phoff, = struct.unpack_from("<I", elf, 28)
    phentsize, phnum = struct.unpack_from("<HH", elf, 42)
    for i in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz, _memsz, _flags, _align = struct.unpack_from(
            "<8I", elf, phoff + i * phentsize
        )
        if p_type == 1 and p_filesz:
            yield p_paddr, elf[p_offset : p_offset + p_filesz]


def check_image(board, elf, uf2):
    flash_size, family, _ = BOARDS[board]
    store = FLASH_BASE + flash_size - STORE_BYTES
    got = blocks(uf2, family)
    for addr in got:
        if not FLASH_BASE <= addr < store:
            fail(f"{uf2}: block at {addr:#x} outside the image's flash [{FLASH_BASE:#x}, {store:#x})")
    total = 0
    for addr, data in loadable(elf):
        for off in range(0, len(data)):
            a = addr + off
            page = got.get(a & ~0xFF)
            if page is None or page[a & 0xFF] != data[off]:
                fail(f"{uf2}: byte at {a:#x} differs from the ELF")
        total += len(data)
    print(f"{uf2}: {len(got)} blocks, family {family:#x}; the ELF's {total} loadable bytes are all there, "
          f"none in the login store at {store:#x}")


def check_reset(board, uf2):
    flash_size, _, data_family = BOARDS[board]
    store = FLASH_BASE + flash_size - STORE_BYTES
    got = blocks(uf2, data_family)
    want = set(range(store, store + STORE_BYTES, 256))
    if set(got) != want or any(p != b"\xff" * 256 for p in got.values()):
        fail(f"{uf2}: does not cover exactly the login store [{store:#x}, {store + STORE_BYTES:#x}) with 0xFF")
    print(f"{uf2}: erases exactly the login store [{store:#x}, {store + STORE_BYTES:#x}), family {data_family:#x}")


def apply(board, uf2, flash):
    flash_size, _, data_family = BOARDS[board]
    store = FLASH_BASE + flash_size - STORE_BYTES
    with open(flash, "r+b") as f:
        for addr, page in sorted(blocks(uf2, data_family).items()):
            f.seek(addr - store)
            f.write(page)
    print(f"{flash}: {uf2} written over the login store")


def main():
    how, board, *rest = sys.argv[1:]
    {"image": check_image, "factory-reset": check_reset, "apply": apply}[how](board, *rest)


if __name__ == "__main__":
    main()
