#!/usr/bin/env bash
# Flash each htpasswd format adds on thumbv6m (opt-level "s", LTO): the size probe with its
# store as one htpasswd line of that format (and one htdigest line), minus the probe with
# StaticUsers (a plaintext password). Each build enables that one format's feature only.
set -euo pipefail
cd "$(dirname "$0")"
elf=target/thumbv6m-none-eabi/release/authgate-size-probe
flash() {
  size -A -d "$elf" | awk '$1 ~ /^\.(vector_table|text|rodata|data)$/ { f += $2 } END { print f + 0 }'
}
cargo build --release -q
base=$(flash)
printf 'thumbv6m-none-eabi, opt-level "s", LTO; features md5,sha256,basic + the one named\n'
printf '  image with StaticUsers (plaintext) : flash %6d B\n' "$base"
for f in htdigest htpasswd-sha1 htpasswd-apr1 htpasswd-crypt htpasswd-sha-crypt htpasswd-bcrypt; do
  cargo build --release -q --features "$f"
  n=$(flash)
  printf '  %-34s : flash %6d B (%+d B)\n' "one $f line" "$n" $((n - base))
done
