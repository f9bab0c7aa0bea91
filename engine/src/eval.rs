//! The PromQL evaluator. (Being written: see the engine issue.)

use std::time::Duration;

use crate::store::Store;
use crate::value::Value;

/// Which Prometheus the engine answers like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    /// Prometheus 2.x (e.g. Debian's 2.42): closed range windows, pre-2.51 extrapolation.
    V2,
    /// Prometheus 3.x: left-open windows and lookback, the post-2.51 `rate` extrapolation.
    #[default]
    V3,
}

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub lookback: Duration,
    pub compat: Compat,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback: Duration::from_secs(300),
            compat: Compat::V3,
        }
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The expression does not parse.
    #[error("parse error: {0}")]
    Parse(String),
    /// Valid PromQL this engine does not evaluate (native histograms, experimental syntax):
    /// never answered with a plausible wrong number.
    #[error("{0} is not supported by the embedded engine; use --url with a real Prometheus")]
    Unsupported(String),
    /// An error Prometheus would also give (many-to-many matching, duplicate series, ...).
    #[error("{0}")]
    Execution(String),
}

/// Evaluates PromQL over a [`Store`].
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    pub fn new(options: EngineOptions) -> Self {
        Engine { options }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// An instant query at `t` (ms).
    pub fn instant(&self, store: &Store, expr: &str, t: i64) -> Result<Value, EvalError> {
        let _ = (store, t);
        Err(EvalError::Unsupported(format!("evaluating {expr:?}")))
    }

    /// A range query from `start` to `end` (ms, inclusive) every `step` ms; answers a matrix.
    pub fn range(
        &self,
        store: &Store,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, EvalError> {
        let _ = (store, start, end, step);
        Err(EvalError::Unsupported(format!("evaluating {expr:?}")))
    }
}
