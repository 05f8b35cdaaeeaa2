//! Compact MD5 compression: the 64 steps as one rolled loop (authgate patch).
//!
//! The unrolled `soft` backend is the fastest on desktop CPUs but is about 2 KiB of code on
//! a Cortex-M0+; this loop is a few hundred bytes and computes the same function (checked
//! against `soft` by the tests in `compress.rs`). Selected with
//! `--cfg md5_backend="compact"`, like sha2's `sha2_backend_soft="compact"`.
//!
//! No branch or table index depends on the data: the round selection and the message-word
//! index follow the public step counter only.
use crate::consts::RC;

/// Left-rotation amounts: four per round, repeated over the round's 16 steps (RFC 1321 §3.4).
const SHIFTS: [u8; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

fn compress_block(state: &mut [u32; 4], input: &[u8; 64]) {
    let [mut a, mut b, mut c, mut d] = *state;
    for (i, &rc) in RC.iter().enumerate() {
        let round = i >> 4;
        // The round function of b, c, d and the message word this step adds (RFC 1321 §3.4).
        let (f, m) = match round {
            0 => ((b & c) | (!b & d), i),
            1 => ((b & d) | (c & !d), 5 * i + 1),
            2 => (b ^ c ^ d, 3 * i + 5),
            _ => (c ^ (b | !d), 7 * i),
        };
        // Read from the block in place: no 64-byte copy of the message words on the stack.
        let k = (m & 15) * 4;
        let word = u32::from_le_bytes([input[k], input[k + 1], input[k + 2], input[k + 3]]);
        let s = u32::from(SHIFTS[(round << 2) | (i & 3)]);
        let t = f
            .wrapping_add(a)
            .wrapping_add(word)
            .wrapping_add(rc)
            .rotate_left(s)
            .wrapping_add(b);
        (a, b, c, d) = (d, t, b, c);
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

pub(super) fn compress(state: &mut [u32; 4], blocks: &[[u8; 64]]) {
    for block in blocks {
        compress_block(state, block)
    }
}
