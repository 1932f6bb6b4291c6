//! One file per subcommand that lives outside `main.rs`.

pub mod aggregate;
pub mod report;
pub mod site;
