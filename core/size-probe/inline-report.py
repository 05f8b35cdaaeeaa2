#!/usr/bin/env python3
"""Where the size probe's flash goes, down to inlined functions.

`size-report.sh` groups symbols; but with LTO most of the engine is inlined into the probe's
`main`, one symbol of ~6.5 KiB. This builds the same image with line tables (`debug = true`
changes no code: the section sizes are checked to be equal), then attributes every
instruction byte of every authgate-related symbol to the authgate function it was inlined
from, using the DWARF inline chains (`llvm-addr2line -i`).

Usage: core/size-probe/inline-report.py [N]   (top N rows per table, default 25)
Needs: llvm-objdump and llvm-addr2line (LLVM 14 or later; versioned `-N` names are found too).
"""
import collections
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = int(sys.argv[1]) if len(sys.argv) > 1 else 25
TARGET_DIR = os.path.join(HERE, "target", "inline-report")
ELF = os.path.join(TARGET_DIR, "thumbv6m-none-eabi", "release", "authgate-size-probe")
PLAIN = os.path.join(HERE, "target", "thumbv6m-none-eabi", "release", "authgate-size-probe")


def tool(name):
    """`name`, else the newest versioned `name-N` on PATH (Debian installs llvm-addr2line-14)."""
    if shutil.which(name):
        return name
    versioned = [
        os.path.basename(p)
        for d in os.environ.get("PATH", "").split(os.pathsep)
        for p in glob.glob(os.path.join(d, f"{name}-[0-9]*"))
    ]
    if not versioned:
        sys.exit(f"inline-report: {name} not found (apt-get install llvm)")
    return max(versioned, key=lambda n: int(re.sub(r"\D", "", n.rsplit("-", 1)[1]) or 0))


def text_sizes(elf):
    out = subprocess.run(["size", "-A", "-d", elf], check=True, capture_output=True, text=True).stdout
    return {m[0]: int(m[1]) for m in re.findall(r"^(\.text|\.rodata)\s+(\d+)", out, re.M)}


def demangle_frame(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$C$", ","), ("$u20$", " "), ("$u7b$", "{"), ("$u7d$", "}"), ("..", "::")):
        name = name.replace(a, b)
    return name.lstrip("_")


def main():
    env = dict(os.environ, CARGO_PROFILE_RELEASE_DEBUG="true")
    subprocess.run(["cargo", "build", "--release", "-q", "--target-dir", TARGET_DIR], cwd=HERE, env=env, check=True)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=HERE, check=True)
    if text_sizes(ELF) != text_sizes(PLAIN):
        sys.exit("inline-report: the build with line tables differs in code size; figures would not apply")

    # Instruction addresses and sizes of every function symbol worth attributing.
    dis = subprocess.run([tool("llvm-objdump"), "-d", "--no-show-raw-insn", ELF], check=True, capture_output=True, text=True).stdout
    symbols = collections.defaultdict(list)  # symbol -> [address]
    current = None
    for line in dis.splitlines():
        m = re.match(r"^([0-9a-f]{8}) <(.*)>:$", line)
        if m:
            # `$t`/`$d` mark code and literal pools inside a function, not a new function.
            if not m[2].startswith("$"):
                current = m[2]
            continue
        m = re.match(r"^\s*([0-9a-f]{8}):", line)
        if m and current:
            symbols[current].append(int(m[1], 16))
    nm = subprocess.run(["nm", "-S", ELF], check=True, capture_output=True, text=True).stdout
    ends = {}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] and parts[2] in "tT":
            ends[parts[3]] = (int(parts[0], 16) & ~1) + int(parts[1], 16)

    addresses, sizes = [], []
    for sym, addrs in symbols.items():
        if sym not in ends or not re.search(r"authgate", sym):
            continue
        for i, a in enumerate(addrs):
            addresses.append(a)
            sizes.append((addrs[i + 1] if i + 1 < len(addrs) else ends[sym]) - a)

    a2l = subprocess.run(
        [tool("llvm-addr2line"), "-e", ELF, "-i", "-f", "-C", "-a"],
        input="\n".join(hex(a) for a in addresses), check=True, capture_output=True, text=True,
    ).stdout
    # Per address: the address line, then (function, file:line) pairs, innermost first.
    chains, chain = [], None
    for line in a2l.splitlines():
        if re.match(r"^0x[0-9a-f]+$", line):
            chain = []
            chains.append(chain)
        elif line and chain is not None:
            chain.append(line)
    chains = [[demangle_frame(f) for f in c[0::2]] for c in chains]
    innermost, outermost = collections.Counter(), collections.Counter()
    for frames, size in zip(chains, sizes):
        ours = [f for f in frames if f.startswith(("authgate::", "<authgate::"))]
        innermost[ours[0] if ours else frames[0] if frames else "?"] += size
        outermost[ours[-1] if ours else frames[-1] if frames else "?"] += size

    total = sum(sizes)
    print(f"authgate code in the probe (symbols naming authgate, inlined callees included): {total} B")
    print(f"\nby entry point (outermost authgate function; top {TOP}):")
    for name, n in outermost.most_common(TOP):
        print(f"  {n:6d} B  {name}")
    print(f"\nby the authgate function the code comes from (innermost; std/crate code inlined into it is counted there; top {TOP}):")
    for name, n in innermost.most_common(TOP):
        print(f"  {n:6d} B  {name}")


if __name__ == "__main__":
    main()
