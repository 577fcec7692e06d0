//! citewatch keeps a blog's citations alive: it finds every cited URL in a blog's posts, checks each
//! one on a schedule, archives what it fetched and records every verdict.
//!
//! The data flow, and the module that owns each stage:
//! posts ([`source`], [`post`]) → citations ([`extract`]) → links ([`normalize`]) → checks
//! ([`checker`]) → verdicts ([`classify`]) → states ([`state`], [`confirm`]) → snapshots and history
//! ([`store`]) → alerts. [`pipeline`] sequences them. See ARCHITECTURE.md.

pub mod alert;
pub mod archived;
pub mod checker;
pub mod classify;
pub mod clock;
pub mod config;
pub mod confirm;
pub mod daemon;
pub mod diff;
pub mod drift;
pub mod extract;
pub mod fetch;
pub mod fix;
pub mod fragment;
pub mod guard;
pub mod normalize;
pub mod pipeline;
pub mod politeness;
pub mod post;
pub mod quote;
pub mod readable;
pub mod report;
pub mod rows;
pub mod schedule;
pub mod serve;
pub mod settings;
pub mod site;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod store;
pub mod systemd;
pub mod text;
pub mod verdict;
pub mod view;
pub mod warc;
pub mod watch;
pub mod wayback;
pub mod wiring;
