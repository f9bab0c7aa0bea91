//! `promdash-service`: serve the instrumented reference service, or `load` it.

fn main() -> anyhow::Result<()> {
    promdash_service::cli::main()
}
