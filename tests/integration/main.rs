//! The one integration-test binary (linked once): modules by subject, a shared loopback server.

// Tests drive real processes and servers and poll them with short sleeps; the wall-clock rules
// in clippy.toml are for the library.
#![allow(clippy::disallowed_methods)]

mod alert_sinks;
mod checker;
mod cli;
mod contract;
mod daemon;
mod durability;
mod evidence;
mod fix;
mod fragments;
mod hostile;
mod one_rule;
mod probe;
mod queries;
mod serve;
mod server;
mod service;
mod soak;
mod support;
mod tidy;
mod tidy_shape;
mod upgrade;
mod warc;
