//! Links the extension with a GNU build ID (a hash of the linked output) on Linux: the
//! shared-memory replay store names its segments after it, so that only processes running
//! the very same build share a table (src/shared_store.rs).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,--build-id=sha1");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
