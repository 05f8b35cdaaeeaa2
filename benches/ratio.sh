#!/usr/bin/env bash
# Engine / raw-hashing ratio in instructions (callgrind: repeatable whatever the machine's load).
# 2000 full Digest checks vs. the same hash blocks done directly with RustCrypto.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p authgate-benches --examples
out=$(mktemp -d)
printf '%-12s %14s %14s %8s\n' algorithm "engine instr" "raw instr" ratio
for alg in MD5 SHA-256 SHA-512-256; do
  valgrind --tool=callgrind --toggle-collect='*one_check*' --callgrind-out-file="$out/e" target/release/examples/profile_digest "$alg" 2>"$out/e.log"
  valgrind --tool=callgrind --toggle-collect='*raw_digest_work*' --callgrind-out-file="$out/r" target/release/examples/profile_raw "$alg" 2>"$out/r.log"
  e=$(grep -oP 'Collected : \K[0-9]+' "$out/e.log"); r=$(grep -oP 'Collected : \K[0-9]+' "$out/r.log")
  printf '%-12s %14d %14d %8.2f\n' "$alg" $((e / 2000)) $((r / 2000)) "$(echo "$e / $r" | bc -l)"
done
# NTLM: the AUTHENTICATE check of a handshake (NTLMv2 with MIC) vs. its hash work done
# directly (NT hash, NTOWFv2, NTProofStr, session key, MIC).
valgrind --tool=callgrind --toggle-collect='*one_check*' --callgrind-out-file="$out/e" target/release/examples/profile_ntlm 2>"$out/e.log"
valgrind --tool=callgrind --toggle-collect='*raw_ntlm_work*' --callgrind-out-file="$out/r" target/release/examples/profile_ntlm_raw 2>"$out/r.log"
e=$(grep -oP 'Collected : \K[0-9]+' "$out/e.log"); r=$(grep -oP 'Collected : \K[0-9]+' "$out/r.log")
printf '%-12s %14d %14d %8.2f\n' "NTLMv2" $((e / 2000)) $((r / 2000)) "$(echo "$e / $r" | bc -l)"
rm -rf "$out"
