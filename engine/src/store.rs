//! The in-memory store. (Being written: see the engine issue.)

use crate::value::Labels;

/// Limits of a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Samples older than the newest sample minus this are dropped with their chunks.
    pub retention_ms: i64,
    /// At most this many series; appending a new series beyond it is an error.
    pub max_series: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention_ms: 60 * 60 * 1000,
            max_series: 1_000_000,
        }
    }
}

/// Why a sample was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("too many series: the store holds at most {limit}")]
    TooManySeries { limit: usize },
    #[error("out of order sample for {labels}: {t} is older than the newest sample {newest}")]
    OutOfOrder { labels: String, t: i64, newest: i64 },
}

/// Series and their samples.
#[derive(Debug, Default)]
pub struct Store {
    config: StoreConfig,
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        Store { config }
    }

    /// Appends one sample (`t` in ms) to the series `labels` (which includes `__name__`).
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), StoreError> {
        let _ = (labels, t, v, &self.config);
        Ok(())
    }
}
