//! Prometheus rule files, read and evaluated as Prometheus reads and evaluates them.
//!
//! - [`file`]: the rule file model and its validation (`promtool check rules`), every
//!   problem at file:line:col.
//! - [`template`]: Go text/template as Prometheus's alert templates use it.
//! - [`duration`]: Prometheus's duration format.
//! - [`eval`]: the rule manager's evaluation (alert states, recorded series).
//! - [`source`]: rules evaluated against a remote server.
//! - [`yaml`]: YAML read into nodes that know their line and column.
//! - [`convert`]: a dashboard's `[[alerts]]` tables as a rule file.

pub mod convert;
pub mod duration;
pub mod eval;
pub mod file;
pub mod glob;
mod gofmt;
pub mod source;
pub mod template;
pub mod yaml;

pub use file::{
    Rule, RuleFile, RuleFileError, RuleGroup, RuleKind, RuleProblem, load_rule_file,
    parse_rule_file,
};
pub use gofmt::format_g;
