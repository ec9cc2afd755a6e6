//! zeropipe: a ZeroMQ stream-processing engine. Messages come in on ZeroMQ sockets (ingest),
//! are decoded (process), feed derived metrics (collect) and are written out (export), while
//! one [`monitor::Monitor`] accounts for every message and every stage.
//!
//! The daemon (`zeropipe run`) and the library are the same engine: build a
//! [`config::Config`], hand it to [`orchestrator::Pipeline`], start it, and shut it down.

#![warn(missing_docs)]

pub mod admin;
pub mod collect;
pub mod config;
pub mod demo;
pub mod domain;
pub mod event;
pub mod export;
pub mod ingest;
pub mod monitor;
pub mod orchestrator;
pub mod process;
