//! The integration tests: one binary, one module per capability. Every test
//! that needs the service starts a real one on 127.0.0.1:0 with its own
//! temporary data directory (see `util`).

mod util;

mod auth;
mod checking;
mod command_line;
mod console;
mod crash;
mod discovery;
mod forget;
mod learning;
mod operators;
mod overload;
mod persistence;
mod properties;
mod review;
mod rules;
mod startup;
mod tls;
mod validation;
