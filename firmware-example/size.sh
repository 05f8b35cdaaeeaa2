#!/usr/bin/env bash
# Flash and static RAM of a Pico W / Pico 2 W image, and authgate's share of the flash.
#
#   firmware-example/size.sh                      # builds the Pico W release image first (cargo build -j1)
#   firmware-example/size.sh ELF                  # reports on a given ELF (either board)
#   firmware-example/size.sh --max-flash N ELF    # and fails if the flash exceeds N bytes
#
# Flash = every allocated section stored in flash (.boot2 / .start_block, .vector_table,
# .text, .rodata, and .data's initial values); static RAM = .data + .bss + .uninit (the stack
# gets the rest). Section sizes come from `readelf -S` (binutils), symbol sizes from `nm -S -C`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MAX_FLASH=0
if [ "${1:-}" = --max-flash ]; then
    MAX_FLASH=$2
    shift 2
fi
ELF=${1:-}
if [ -z "$ELF" ]; then
    (cd "$HERE/pico-w" && cargo build --release -j1 --quiet)
    ELF="$HERE/target/thumbv6m-none-eabi/release/authgate-pico-w"
fi
NM=nm
command -v "$NM" >/dev/null || NM=llvm-nm

readelf -S -W "$ELF" >"${TMPDIR:-/tmp}/authgate-size-sections.$$"
"$NM" -S -C --size-sort "$ELF" >"${TMPDIR:-/tmp}/authgate-size-symbols.$$"
trap 'rm -f "${TMPDIR:-/tmp}"/authgate-size-*.$$' EXIT

python3 - "$ELF" "${TMPDIR:-/tmp}/authgate-size-sections.$$" "${TMPDIR:-/tmp}/authgate-size-symbols.$$" "$MAX_FLASH" <<'PY'
import os, re, sys
elf, sections_file, symbols_file, max_flash = sys.argv[1:5]
max_flash = int(max_flash)

sec = {}
for line in open(sections_file):
    m = re.match(r'\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)', line)
    if m:
        sec[m.group(1)] = int(m.group(2), 16)
g = lambda n: sec.get(n, 0)
pico2 = '.start_block' in sec
board, ram_total = ('Pico 2 W (RP2350)', 520) if pico2 else ('Pico W (RP2040)', 264)
flash_parts = ['.boot2', '.vector_table', '.start_block', '.text', '.bi_entries', '.rodata', '.data', '.end_block']
flash_parts = [n for n in flash_parts if n in sec]
ram_parts = ['.data', '.bss', '.uninit']
flash = sum(g(n) for n in flash_parts)
ram = sum(g(n) for n in ram_parts)

def crate_of(name):
    """The crate a (demangled) symbol belongs to: the impl's self type, else its trait."""
    if name.startswith('<'):
        depth, i = 0, 0
        for i, c in enumerate(name):
            depth += c == '<'
            depth -= c == '>'
            if depth == 1 and name.startswith(' as ', i):
                break
        self_ty = name[1:i]
        m = re.match(r'([A-Za-z_][A-Za-z0-9_]*)::', self_ty)
        if m:
            return m.group(1)
        m = re.match(r'([A-Za-z_][A-Za-z0-9_]*)::', name[i + 4:])
        return m.group(1) if m else '?'
    m = re.match(r'([A-Za-z_][A-Za-z0-9_]*)::', name)
    return m.group(1) if m else '?'

CRYPTO = {'sha2', 'md5', 'hmac', 'base64', 'subtle', 'digest', 'block_buffer', 'crypto_common'}
core_b = crypto_b = glue_b = 0
blob = 0
for line in open(symbols_file):
    parts = line.rstrip('\n').split(' ', 3)
    if len(parts) < 4 or parts[2] not in 'tTrR':
        continue  # flash only: code and read-only data
    size, name = int(parts[1], 16), parts[3]
    crate = crate_of(name)
    if crate == 'authgate':
        core_b += size
    elif crate in CRYPTO:
        crypto_b += size
    elif name.startswith('authgate_fw_app::auth::') or name.startswith('<authgate_fw_app::auth::'):
        glue_b += size
    elif name.startswith('authgate_fw_rp::wifi::FIRMWARE'):
        blob += size

kib = lambda b: f'{b:>7} B {b / 1024:7.1f} KiB'
pct = lambda b, of: f'{100 * b / of:4.1f} %'
print(f'{board} image: {os.path.relpath(elf)}')
print(f'  flash         {kib(flash)}  = ' + ' + '.join(f'{n} {g(n)}' for n in flash_parts))
print(f'    of which the CYW43439 Wi-Fi firmware blob {kib(blob)}')
print(f'  static RAM    {kib(ram)}  = ' + ' + '.join(f'{n} {g(n)}' for n in ram_parts) + f'  (of {ram_total} KiB)')
print(f'  authgate share of flash:')
print(f'    authgate core crate (symbols authgate::*)       {kib(core_b)}  {pct(core_b, flash)} of flash, {pct(core_b, flash - blob)} without the Wi-Fi blob')
print(f'    + crypto crates only authgate uses              {kib(crypto_b)}  (sha2, md-5, hmac, base64, subtle)')
print(f'    = authgate as linked                            {kib(core_b + crypto_b)}  {pct(core_b + crypto_b, flash)} of flash, {pct(core_b + crypto_b, flash - blob)} without the Wi-Fi blob')
print(f'    + the example\'s glue (app::auth; LTO inlines Engine::check into Guard::check) {kib(glue_b)}')
print(f'    = authgate + glue                               {kib(core_b + crypto_b + glue_b)}  {pct(core_b + crypto_b + glue_b, flash - blob)} without the Wi-Fi blob')
if max_flash and flash > max_flash:
    print(f'  FAIL: flash {flash} B is over the budget of {max_flash} B ({max_flash / 1024:.0f} KiB)')
    sys.exit(1)
if max_flash:
    print(f'  within the flash budget of {max_flash / 1024:.0f} KiB ({max_flash - flash} B to spare)')
PY
