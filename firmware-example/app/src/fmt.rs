//! The app's log lines go to two places: the text log ([`crate::textlog`]: USB serial on the
//! boards, stderr on Linux), which a user reads without a debug probe, and defmt over RTT on
//! the boards, beside the drivers' own defmt output, for a developer with a probe.
//!
//! Format strings use only `{}`, with arguments that are both `Display` and `defmt::Format`.

#[allow(unused_macros)]
macro_rules! info {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::info!($($arg)*);
        $crate::textlog::line($crate::textlog::Level::Info, format_args!($($arg)*));
    }};
}

#[allow(unused_macros)]
macro_rules! warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
        $crate::textlog::line($crate::textlog::Level::Warn, format_args!($($arg)*));
    }};
}
