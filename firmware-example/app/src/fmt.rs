//! Logging that goes to defmt on the Pico W and to `log` on Linux (and nowhere without either).

#[allow(unused_macros)]
macro_rules! info {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::info!($($arg)*);
        #[cfg(all(feature = "log", not(feature = "defmt")))]
        ::log::info!($($arg)*);
    }};
}

#[allow(unused_macros)]
macro_rules! warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
        #[cfg(all(feature = "log", not(feature = "defmt")))]
        ::log::warn!($($arg)*);
    }};
}
