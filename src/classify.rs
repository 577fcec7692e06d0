//! Classification: what one fetch means. Pure: a [`crate::checker::Fetched`] and what is known
//! about the link's baseline in, a [`Verdict`] out.
