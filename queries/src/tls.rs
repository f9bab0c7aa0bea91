//! TLS set-up shared by every HTTP client of the workspace.
//!
//! reqwest is built with `rustls-no-provider`: rustls with the `ring` crypto provider,
//! which compiles in seconds where aws-lc-rs's C build took minutes. reqwest then takes the
//! process-wide default provider and panics if none is installed, so every place that
//! builds a `reqwest::Client` calls [`install_crypto_provider`] first ([`crate::PromClient`]
//! does it itself).

use std::sync::Once;

/// Installs rustls's `ring` provider as the process default, once. Harmless to call again,
/// and harmless if another provider was installed first (that one is kept).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: reqwest will use that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `reqwest::ClientBuilder` with the crypto provider installed: the way to start any
/// client outside [`crate::PromClient`].
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}
