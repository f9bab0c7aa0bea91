//! The promdash binary: parse the command line, hand over to the library.
use std::process::ExitCode;

fn main() -> ExitCode {
    promdash::run::main(promdash::cli::Cli::from_env_args())
}
