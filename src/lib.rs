//! `moderato`: a self-hosted comment moderation and spam filter service.
//!
//! Websites call the gRPC API (`grpc`) when a reader submits a comment; the
//! `engine` scores it with the naive-Bayes `classifier` (over `text`
//! tokens), combines the evidence into a verdict (`verdict`) and stores the
//! decision durably (`store`). `server` wires these into a running service;
//! `cli` holds the commands of the `moderato` binary. See ARCHITECTURE.md.

pub mod address_places;
pub mod admission;
pub mod allocator;
pub mod auth;
pub mod classifier;
pub mod cli;
pub mod config;
pub mod connection_limit;
pub mod console;
pub mod domain;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod grpc;
pub mod learning;
pub mod limits;
pub mod metrics;
pub mod plot;
pub mod recent_comments;
pub mod retention;
pub mod review;
pub mod review_operations;
pub mod rules;
pub mod server;
pub mod stats;
pub mod store;
pub mod text;
pub mod verdict;
