//! Servers for the connection tests (issue 6): Prometheus behind TLS and basic auth, an
//! nginx gateway demanding a bearer token and a tenant header, a fault-injecting proxy,
//! and VictoriaMetrics with its default latency offset.
//!
//! Everything listens on 127.0.0.1, keeps its files in a temp dir and is killed by pid
//! when its handle is dropped.

pub mod cli;
pub mod fault_proxy;
pub mod gateway;
pub mod tls;
pub mod victoria;

pub use cli::promdash_binary;
pub use fault_proxy::{FaultMode, FaultProxy, PARTIAL_WARNING};
pub use gateway::Gateway;
pub use tls::{Pki, TlsPrometheus, TlsSettings, bcrypt_hash};
pub use victoria::VictoriaDefaultOffset;
