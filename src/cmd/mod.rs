//! One module per `ksurf` subcommand that has outgrown `main.rs`: each
//! takes its parsed arguments and returns the exit code.

pub mod aggregate;
pub mod fetch;
pub mod manifest;
pub mod publish;
pub mod report;
pub mod site;
