//! Posts: front matter (YAML `---` or TOML `+++`) split from the body and read into the few facts
//! citewatch needs (title, date, draft, the post's published URL).
//!
//! Pure: takes the file's text, returns values.
