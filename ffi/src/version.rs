//! The library version as compile-time constants (`AUTHGATE_VERSION_*` in the header).
//!
//! cbindgen copies literals only, so the numbers are written out here, and the build fails
//! when they differ from the crate version: a version bump cannot leave the header behind.

/// Major version of the header (and of the library built with it). At run time,
/// `authgate_version()` gives the version of the library actually loaded.
pub const AUTHGATE_VERSION_MAJOR: u32 = 0;
/// Minor version. While the major version is 0, a new minor version may break the ABI, and
/// the shared library's SONAME carries it (`libauthgate.so.0.1`).
pub const AUTHGATE_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const AUTHGATE_VERSION_PATCH: u32 = 0;

const _: () = {
    assert!(AUTHGATE_VERSION_MAJOR == decimal(env!("CARGO_PKG_VERSION_MAJOR")), "AUTHGATE_VERSION_MAJOR");
    assert!(AUTHGATE_VERSION_MINOR == decimal(env!("CARGO_PKG_VERSION_MINOR")), "AUTHGATE_VERSION_MINOR");
    assert!(AUTHGATE_VERSION_PATCH == decimal(env!("CARGO_PKG_VERSION_PATCH")), "AUTHGATE_VERSION_PATCH");
};

/// A decimal number from its digits (Cargo's version parts are never empty or signed).
const fn decimal(digits: &str) -> u32 {
    let digits = digits.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < digits.len() {
        assert!(digits[i].is_ascii_digit());
        value = value * 10 + (digits[i] - b'0') as u32;
        i += 1;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_spell_the_version_string() {
        let header = format!("{AUTHGATE_VERSION_MAJOR}.{AUTHGATE_VERSION_MINOR}.{AUTHGATE_VERSION_PATCH}");
        assert_eq!(header, env!("CARGO_PKG_VERSION"));
        assert_eq!(decimal("0"), 0);
        assert_eq!(decimal("1024"), 1024);
    }
}
