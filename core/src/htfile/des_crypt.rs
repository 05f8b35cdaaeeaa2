//! Traditional DES-based `crypt(3)` (Unix V7): 25 DES encryptions of a zero block under the
//! first 8 password characters, with the 12-bit salt swapping bits of the E expansion.
//!
//! Hand-written: the salt changes DES inside its round function, which a block-cipher API
//! (RustCrypto's `des`) cannot express, and pwhash, which has it, needs std. The S-boxes
//! are read without secret-dependent addresses (each box is four words, all read, one
//! kept by mask), so the key does not show in cache timing.

/// Initial permutation (FIPS 46-3), 1-based bit numbers, most significant bit first.
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32,
    24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47,
    39, 31, 23, 15, 7,
];
/// Final permutation (the inverse of IP).
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21,
    61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9,
    49, 17, 57, 25,
];
/// Expansion of the 32-bit half to 48 bits.
const E: [u8; 48] = [
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21,
    22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];
/// Permutation of the S-box outputs.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4,
    25,
];
/// Key permutation 1 (64 to 56 bits).
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 63, 55,
    47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
/// Key permutation 2 (56 to 48 bits).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30,
    40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
/// Left rotations of the key halves per round.
const SHIFTS: [u8; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
/// The S-boxes, row-major (row = outer bits, column = inner four bits).
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, 4,
        1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, 0,
        14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, 13,
        6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, 10,
        6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, 4,
        2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, 9,
        14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, 1,
        4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, 7,
        11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Each S-box as 64 nibbles in four words, indexed by the raw 6-bit input (the row and
/// column are folded in here, once, at compile time).
const S_PACKED: [[u64; 4]; 8] = {
    let mut out = [[0u64; 4]; 8];
    let mut b = 0;
    while b < 8 {
        let mut x = 0;
        while x < 64 {
            let row = ((x >> 4) & 2) | (x & 1);
            let col = (x >> 1) & 0xf;
            out[b][x / 16] |= (S[b][row * 16 + col] as u64) << (4 * (x % 16));
            x += 1;
        }
        b += 1;
    }
    out
};

/// `table` applied to the `width`-bit `input`: output bit k (most significant first) is
/// input bit `table[k]` (1-based, most significant first).
fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    let mut out = 0u64;
    for &from in table {
        out = (out << 1) | ((input >> (width - u32::from(from))) & 1);
    }
    out
}

/// S-box `b` at `x` (6 bits), reading every word of the box.
fn sbox(b: usize, x: u64) -> u64 {
    let mut word = 0u64;
    for (i, w) in S_PACKED[b].iter().enumerate() {
        // All ones when `i` is the word `x` is in, else zero: no branch, no indexed read.
        let hit = ((x >> 4) ^ i as u64).wrapping_sub(1) >> 63;
        word |= w & hit.wrapping_neg();
    }
    (word >> (4 * (x & 15))) & 0xf
}

/// The 16 round keys of `key` (64 bits, parity bits ignored).
fn key_schedule(key: u64) -> [u64; 16] {
    let cd = permute(key, 64, &PC1);
    let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0fff_ffff) as u32);
    let mut keys = [0u64; 16];
    for (k, &s) in keys.iter_mut().zip(SHIFTS.iter()) {
        c = ((c << s) | (c >> (28 - s))) & 0x0fff_ffff;
        d = ((d << s) | (d >> (28 - s))) & 0x0fff_ffff;
        *k = permute((u64::from(c) << 28) | u64::from(d), 56, &PC2);
    }
    keys
}

/// One DES encryption of `block` whose E expansion is perturbed by `salt_mask` (bits
/// 23..12 of the 48-bit expansion are swapped with bits 47..36 where it has ones).
fn encrypt(block: u64, keys: &[u64; 16], salt_mask: u64) -> u64 {
    let lr = permute(block, 64, &IP);
    let (mut l, mut r) = (lr >> 32, lr & 0xffff_ffff);
    for k in keys {
        let mut e = permute(r, 32, &E);
        let t = ((e >> 24) ^ e) & salt_mask;
        e ^= t | (t << 24);
        let x = e ^ k;
        let mut s = 0u64;
        for b in 0..8 {
            s = (s << 4) | sbox(b, (x >> (42 - 6 * b)) & 0x3f);
        }
        let f = permute(s, 32, &P);
        (l, r) = (r, l ^ f);
    }
    permute((r << 32) | l, 64, &FP)
}

/// The 64-bit result of `crypt(password, salt)`; `salt` holds the two salt characters'
/// 6-bit values. Only the first 8 password bytes count (the format's own limit).
pub(crate) fn des_crypt(password: &[u8], salt: [u8; 2]) -> u64 {
    let mut key = 0u64;
    for i in 0..8 {
        key = (key << 8) | u64::from(password.get(i).copied().unwrap_or(0) << 1);
    }
    let keys = key_schedule(key);
    // Salt bit j of character i swaps expansion positions 6i+j and 6i+j+24.
    let bits = u64::from(salt[0]) | (u64::from(salt[1]) << 6);
    let mut salt_mask = 0u64;
    for j in 0..12 {
        salt_mask |= ((bits >> j) & 1) << (23 - j);
    }
    let mut block = 0u64;
    for _ in 0..25 {
        block = encrypt(block, &keys, salt_mask);
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_81_known_answer() {
        // FIPS 81 / the classic DES test: key 0123456789ABCDEF, "Now is t" -> 3FA40E8A984D4815.
        let keys = key_schedule(0x0123_4567_89ab_cdef);
        assert_eq!(encrypt(0x4e6f_7720_6973_2074, &keys, 0), 0x3fa4_0e8a_984d_4815);
    }

    #[test]
    fn sbox_reads_match_the_table() {
        for (b, table) in S.iter().enumerate() {
            for x in 0..64u64 {
                let row = (((x >> 4) & 2) | (x & 1)) as usize;
                let col = ((x >> 1) & 0xf) as usize;
                assert_eq!(sbox(b, x), u64::from(table[row * 16 + col]));
            }
        }
    }
}
