//! Normalization: a raw citation target plus where it was written becomes a [`Target`]: a normalized
//! HTTP(S) URL to fetch, a citation of another post, or a reason it is not checked.
//!
//! Pure: the url crate does parsing, IDNA and default ports; no DNS, no network.
