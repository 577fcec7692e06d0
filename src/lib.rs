//! citewatch keeps a blog's citations alive: it finds every cited URL in a blog's posts, checks each
//! one on a schedule, archives what it fetched and records every verdict.
//!
//! The data flow, and the module that owns each stage:
//! posts ([`source`], [`post`]) → citations ([`extract`]) → links ([`normalize`]) → checks
//! ([`checker`]) → verdicts ([`classify`]) → states ([`state`]) → snapshots and history ([`store`]).
//! [`pipeline`] sequences them. See ARCHITECTURE.md.

pub mod checker;
pub mod classify;
pub mod config;
pub mod extract;
pub mod normalize;
pub mod post;
pub mod schedule;
pub mod state;
pub mod store;
