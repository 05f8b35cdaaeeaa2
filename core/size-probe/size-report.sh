#!/usr/bin/env bash
# Flash and RAM authgate adds to a thumbv6m image at opt-level "s" (Basic + Digest MD5/SHA-256 + nonces).
# .cargo/config.toml selects the compact SHA-256 (sha2) and MD5 (vendor/md-5) code.
set -euo pipefail
cd "$(dirname "$0")"
elf=target/thumbv6m-none-eabi/release/authgate-size-probe
sizes() { # prints: flash ram (vector_table+text+rodata+data, data+bss+uninit)
  size -A -d "$1" | awk '
    $1 ~ /^\.(vector_table|text|rodata)$/ { flash += $2 }
    $1 == ".data" { flash += $2; ram += $2 }
    $1 ~ /^\.(bss|uninit)$/ { ram += $2 }
    END { print flash + 0, ram + 0 }'
}
cargo build --release --no-default-features -q
cp "$elf" target/baseline.elf
cargo build --release -q
read -r base_flash base_ram < <(sizes target/baseline.elf)
read -r flash ram < <(sizes "$elf")
delta=$((flash - base_flash))
printf 'thumbv6m-none-eabi, opt-level "s", LTO; features md5,sha256,basic (off: sha512-256, bearer, pbkdf2,\n'
printf '  userhash, username-star, auth-int, rfc2069)\n'
printf '  image with one authgate check : flash %6d B, static RAM %5d B\n' "$flash" "$ram"
printf '  same image without authgate   : flash %6d B, static RAM %5d B\n' "$base_flash" "$base_ram"
printf '  authgate core                 : flash %6d B (%.1f KiB), static RAM %d B (goal: 16 KiB = 16384 B)\n' "$delta" "$(echo "$delta/1024" | bc -l)" $((ram - base_ram))

# Where the bytes are (symbol sizes; the probe's main is the inlined engine check).
echo "  by origin (symbol sizes):"
nm --size-sort -S -C "$elf" | awk '
  function hex(s,  n, i) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1; return n }
  { size = hex($2); name = $4; for (i = 5; i <= NF; i++) name = name " " $i
    if (name ~ /^(authgate|<authgate|<&T as authgate|authgate_size_probe)/ || name ~ /authgate::/) g = "authgate (engine, parser, nonces, rendering)"
    else if (name ~ /(sha2|md5|hmac|digest|block_buffer)::/) g = "RustCrypto (SHA-256 and MD5, compact loops)"
    else if (name ~ /base64ct::/) g = "base64ct (where not inlined)"
    else if (name ~ /(compiler_builtins|__aeabi|memcpy|memmove|memset|memclr)/) g = "compiler builtins (memcpy, memset)"
    else if (name ~ /^(core::|<core::|<&)/) g = "core library (utf-8 checks, iterators)"
    else g = "cortex-m-rt and the rest"
    sum[g] += size }
  END { for (g in sum) printf "    %6d B  %s\n", sum[g], g }' | sort -n

# The request-origin check (core/src/origin.rs): Fetch Metadata, Origin, Referer, a Host list.
cargo build --release -q --features origin
read -r origin_flash origin_ram < <(sizes "$elf")
printf '  + origin check (CSRF, Host list): flash %+d B, static RAM %+d B\n' $((origin_flash - flash)) $((origin_ram - ram))

# JWT (core/src/jwt): the flash each feature adds to the image above with Bearer offered
# (JWT comes with the Bearer scheme, so Bearer alone is the reference).
echo "  JWT features (flash added to the image with Bearer offered; keys: one per family):"
cargo build --release -q --features bearer
read -r bearer_flash _ < <(sizes "$elf")
printf '    %-32s %6d B (Bearer itself: %+d B over the image above)\n' "bearer (reference)" "$bearer_flash" $((bearer_flash - flash))
for f in jwt jwt-hs512 jwt-es256 jwt-eddsa jwt-hs512,jwt-es256,jwt-eddsa; do
  cargo build --release -q --features "$f"
  read -r f_flash _ < <(sizes "$elf")
  printf '    %-32s %6d B (%+d B)\n' "+ $f" "$f_flash" $((f_flash - bearer_flash))
done
cargo build --release -q

# NTLM (core/src/ntlm, core/src/connection.rs): the flash the `ntlm` feature adds to the
# image above, NTLM offered before Digest and Basic and checked with check_connection.
echo "  NTLM (flash added to the image above; check_connection, a 4-connection table):"
for f in ntlm ntlm-unicode-names; do
  cargo build --release -q --features "$f"
  read -r f_flash f_ram < <(sizes "$elf")
  printf '    %-32s %6d B (%+d B), static RAM %+d B\n' "+ $f" "$f_flash" $((f_flash - flash)) $((f_ram - ram))
done
cargo build --release -q
