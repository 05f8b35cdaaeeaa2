cfg_if::cfg_if! {
    if #[cfg(md5_backend = "soft")] {
        mod soft;
        use soft::compress as compress_inner;
    } else if #[cfg(md5_backend = "compact")] {
        // authgate patch: a rolled loop for flash-constrained targets (compress/compact.rs).
        mod compact;
        use compact::compress as compress_inner;
    } else if #[cfg(target_arch = "loongarch64")] {
        mod loongarch64_asm;
        use loongarch64_asm::compress as compress_inner;
    } else {
        mod soft;
        use soft::compress as compress_inner;
    }
}

// authgate patch: the tests below compare the compact backend with the unrolled one, so
// both are compiled into the test build whichever one the cfg selects.
#[cfg(all(test, not(md5_backend = "compact")))]
mod compact;
#[cfg(all(test, md5_backend = "compact"))]
mod soft;

/// MD5 compression function
pub fn compress(state: &mut [u32; 4], blocks: &[[u8; 64]]) {
    compress_inner(state, blocks)
}

/// authgate patch: the compact backend computes exactly what the unrolled one does.
#[cfg(test)]
mod tests {
    use super::{compact, soft};
    use crate::consts::STATE_INIT;

    /// xorshift64*: deterministic test data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                *b = self.next() as u8;
            }
        }
    }

    /// MD5 of `msg` (RFC 1321 §3.1-3.5 padding) with the given compression function.
    fn md5_with(compress: fn(&mut [u32; 4], &[[u8; 64]]), msg: &[u8]) -> [u8; 16] {
        let mut state = STATE_INIT;
        let mut blocks = msg.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut state, &[block.try_into().unwrap()]);
        }
        let rest = blocks.remainder();
        let mut tail = [[0u8; 64]; 2];
        let flat = tail.as_flattened_mut();
        flat[..rest.len()].copy_from_slice(rest);
        flat[rest.len()] = 0x80;
        let n = if rest.len() < 56 { 1 } else { 2 };
        let bits = (msg.len() as u64).wrapping_mul(8).to_le_bytes();
        flat[n * 64 - 8..n * 64].copy_from_slice(&bits);
        compress(&mut state, &tail[..n]);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn hex(bytes: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, b) in out.chunks_exact_mut(2).zip(bytes) {
            o[0] = b"0123456789abcdef"[usize::from(b >> 4)];
            o[1] = b"0123456789abcdef"[usize::from(b & 15)];
        }
        out
    }

    /// The test suite of RFC 1321 §A.5, through both backends.
    #[test]
    fn rfc1321_test_suite() {
        let suite: [(&[u8], &str); 7] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"a", "0cc175b9c0f1b6a831c399e269772661"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (msg, expected) in suite {
            for (name, f) in [
                ("compact", compact::compress as fn(&mut _, &_)),
                ("soft", soft::compress),
            ] {
                let got = hex(&md5_with(f, msg));
                assert_eq!(&got[..], expected.as_bytes(), "{name} on {msg:?}");
            }
        }
    }

    /// Random states and blocks, one to four blocks per call (the multi-block path chains
    /// the state), and random messages of every length across the padding boundaries.
    #[test]
    fn compact_equals_soft_on_random_input() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..20_000 {
            let mut state = [0u32; 4];
            for w in &mut state {
                *w = rng.next() as u32;
            }
            let mut blocks = [[0u8; 64]; 4];
            rng.fill(blocks.as_flattened_mut());
            let n = 1 + (rng.next() % 4) as usize;
            let (mut x, mut y) = (state, state);
            compact::compress(&mut x, &blocks[..n]);
            soft::compress(&mut y, &blocks[..n]);
            assert_eq!(x, y, "state {state:08x?}, {n} blocks {blocks:02x?}");
            assert_ne!(x, state);
        }
        let mut msg = [0u8; 300];
        for len in 0..=msg.len() {
            rng.fill(&mut msg[..len]);
            assert_eq!(
                md5_with(compact::compress, &msg[..len]),
                md5_with(soft::compress, &msg[..len]),
                "length {len}"
            );
        }
    }

    /// Every single-bit flip of one block changes the compact output exactly as it changes
    /// the unrolled one (each message word and bit position reaches every step it feeds).
    #[test]
    fn compact_equals_soft_on_every_bit_flip() {
        let mut rng = Rng(0xfeed_face_cafe_beef);
        let mut block = [0u8; 64];
        rng.fill(&mut block);
        for bit in 0..512 {
            let mut flipped = block;
            flipped[bit / 8] ^= 1 << (bit % 8);
            let (mut x, mut y) = (STATE_INIT, STATE_INIT);
            compact::compress(&mut x, &[flipped]);
            soft::compress(&mut y, &[flipped]);
            assert_eq!(x, y, "bit {bit}");
        }
    }
}
