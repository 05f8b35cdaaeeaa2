//! Gives the shared library its SONAME, so programs linked against it record the installed
//! name, not the build path. While the crate is 0.x, a minor version may break the ABI, so
//! the SONAME carries major and minor (`libauthgate.so.0.1`); from 1.0 on, the major alone;
//! for 0.0.x, every part. This is cargo-c's default rule (`LibraryCApiConfig::sover`).
//! `make install` reads the SONAME back from the built library: this is its one definition.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let part = |name| std::env::var(name).expect("set by cargo");
        let (major, minor, patch) =
            (part("CARGO_PKG_VERSION_MAJOR"), part("CARGO_PKG_VERSION_MINOR"), part("CARGO_PKG_VERSION_PATCH"));
        let abi = match (major.as_str(), minor.as_str()) {
            ("0", "0") => format!("0.0.{patch}"),
            ("0", _) => format!("0.{minor}"),
            _ => major,
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libauthgate.so.{abi}");
    }
}
