//! One file per subcommand whose implementation outgrew `main.rs`.

pub mod fetch;
