//! The promdash binary: parse the command line, hand over to the library.
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    promdash::run::main(promdash::cli::Cli::parse())
}
