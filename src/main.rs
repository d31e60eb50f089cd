//! The `moderato` binary: parses the command line and hands over to `cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    moderato::cli::run(moderato::cli::Cli::parse())
}
