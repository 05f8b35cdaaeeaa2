//! The two base64 forms authgate uses (RFC 4648), without a general-purpose engine: strict,
//! canonical, padded standard base64 for Basic credentials, and the fixed-size unpadded
//! base64url of nonces. Both refuse anything a strict decoder refuses: bytes outside the
//! alphabet, misplaced or missing padding, and non-zero bits after the last byte.

/// Symbol values for ASCII: 0..=63, with `URL_ONLY` on `-_`, `STD_ONLY` on `+/`, and both
/// on every byte outside either alphabet.
static VALUES: [u8; 128] = {
    let mut t = [URL_ONLY | STD_ONLY; 128];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        if i < 10 {
            t[b'0' as usize + i] = 52 + i as u8;
        }
        i += 1;
    }
    t[b'+' as usize] = 62 | STD_ONLY;
    t[b'/' as usize] = 63 | STD_ONLY;
    t[b'-' as usize] = 62 | URL_ONLY;
    t[b'_' as usize] = 63 | URL_ONLY;
    t
};
const URL_ONLY: u8 = 0x40;
const STD_ONLY: u8 = 0x80;

/// The value of one symbol; `url` picks `-_` over `+/` for 62 and 63.
#[inline]
fn symbol_value(c: u8, url: bool) -> Option<u32> {
    let v = *VALUES.get(c as usize)?;
    let foreign = if url { STD_ONLY } else { URL_ONLY };
    (v & foreign == 0).then_some((v & 63) as u32)
}

/// Decodes unpadded symbols into `out`; `None` on a byte outside the alphabet (`=`
/// included), a lone final symbol, non-zero trailing bits or an `out` too small.
fn decode_symbols(text: &[u8], url: bool, out: &mut [u8]) -> Option<usize> {
    let full = text.len() / 4;
    let (groups, rest) = text.split_at(4 * full);
    let (dst, tail_out) = out.split_at_mut_checked(3 * full)?;
    for (g, d) in groups.chunks_exact(4).zip(dst.chunks_exact_mut(3)) {
        let acc = (symbol_value(g[0], url)? << 18)
            | (symbol_value(g[1], url)? << 12)
            | (symbol_value(g[2], url)? << 6)
            | symbol_value(g[3], url)?;
        d.copy_from_slice(&acc.to_be_bytes()[1..]);
    }
    // A final group of 2 or 3 symbols holds 1 or 2 bytes plus 4 or 2 bits that must be zero.
    let bytes = match rest.len() {
        0 => return Some(3 * full),
        1 => return None,
        n => n - 1,
    };
    let mut acc = 0u32;
    for &c in rest {
        acc = (acc << 6) | symbol_value(c, url)?;
    }
    let spare = 6 * rest.len() - 8 * bytes;
    if acc & ((1 << spare) - 1) != 0 {
        return None;
    }
    let acc = (acc >> spare) << (8 * (4 - bytes));
    tail_out.get_mut(..bytes)?.copy_from_slice(&acc.to_be_bytes()[..bytes]);
    Some(3 * full + bytes)
}

/// Strict, canonical, padded standard base64 into `out`: the length is a multiple of 4 and
/// `=` appears only as the one or two padding symbols a final partial group needs.
pub(crate) fn decode_padded(text: &[u8], out: &mut [u8]) -> Option<usize> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let pad = match text {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    decode_symbols(&text[..text.len() - pad], false, out)
}

/// Unpadded base64url of exactly `N` bytes.
pub(crate) fn decode_url<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != (4 * N).div_ceil(3) || decode_symbols(text, true, &mut out)? != N {
        return None;
    }
    Some(out)
}

/// Unpadded base64url of `raw` into `out` (which holds exactly `ceil(4 * len / 3)` bytes).
pub(crate) fn encode_url(raw: &[u8], out: &mut [u8]) {
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (group, dst) in raw.chunks(3).zip(out.chunks_mut(4)) {
        let mut acc = 0u32;
        for (i, &b) in group.iter().enumerate() {
            acc |= (b as u32) << (16 - 8 * i);
        }
        for (i, d) in dst.iter_mut().enumerate() {
            *d = URL[((acc >> (18 - 6 * i)) & 63) as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// Differential check against the `base64` crate's strict engines.
    #[test]
    fn matches_the_base64_crate() {
        const SYMBOLS: &[u8] = b"AQRwgB/+-_=9z!\x00 \xff\xc3";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..400_000 {
            let len = (next() % 14) as usize;
            let text: [u8; 14] = core::array::from_fn(|_| SYMBOLS[(next() % SYMBOLS.len() as u64) as usize]);
            let text = &text[..len];
            let mut ours = [0u8; 16];
            let mut theirs = [0u8; 16];
            let a = decode_padded(text, &mut ours);
            let b = base64::engine::general_purpose::STANDARD.decode_slice(text, &mut theirs).ok();
            assert_eq!(a, b, "{:?}", text.escape_ascii());
            if let Some(n) = a {
                assert_eq!(ours[..n], theirs[..n]);
            }
        }
        for _ in 0..20_000 {
            let raw: [u8; 32] = core::array::from_fn(|_| next() as u8);
            let mut ours = [0u8; 43];
            encode_url(&raw, &mut ours);
            let mut theirs = [0u8; 43];
            let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            assert_eq!(url.encode_slice(raw, &mut theirs), Ok(43));
            assert_eq!(ours, theirs);
            assert_eq!(decode_url::<32>(&ours), Some(raw));
            // Damage one symbol: both decoders agree on every outcome.
            let mut bad = ours;
            bad[(next() % 43) as usize] = SYMBOLS[(next() % SYMBOLS.len() as u64) as usize];
            let mut buf = [0u8; 35];
            let theirs = url.decode_slice(bad, &mut buf);
            match decode_url::<32>(&bad) {
                Some(d) => assert_eq!((theirs, &buf[..32]), (Ok(32), &d[..])),
                None => assert!(theirs != Ok(32)),
            }
        }
    }
}
