//! Gives the shared library its SONAME, so programs linked against it record the installed
//! name, not the build path. While the crate is 0.x, a minor version may break the ABI, so
//! the SONAME carries major and minor (`libauthgate.so.0.1`); from 1.0 on, the major alone.
//! `make install` reads the SONAME back from the built library: this is its one definition.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
        let abi = if major == "0" { format!("0.{minor}") } else { major };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libauthgate.so.{abi}");
    }
}
