//! Gives the shared library a SONAME, so programs linked against it record
//! `libauthgate.so.0` (the installed name), not the build path.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libauthgate.so.0");
    }
}
