//! Settings: the plain values a configuration file is parsed into, for the parts of citewatch
//! that are core code and may not depend on the parsing shell (`config`). `config` validates the
//! file into these; the core reads them. No I/O.

/// The link text of an inserted archived-copy link, unless configured.
pub const DEFAULT_LABEL: &str = "archived";
/// What is inserted after a dead citation, unless configured: `{link}` is the link to the copy.
pub const DEFAULT_NOTE: &str = " ({link})";

/// How a dead (or changed) citation gets its archived copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixMode {
    /// The citation is kept and a link to the copy is inserted after it.
    Annotate,
    /// The citation's URL is replaced by the copy's.
    Replace,
}

impl FixMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FixMode::Annotate => "annotate",
            FixMode::Replace => "replace",
        }
    }
}

/// The `[fix]` settings (what `citewatch fix` does), defined here with the configuration they
/// come from; `fix::plan` reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSettings {
    /// Replace confirmed permanent redirects by their new address.
    pub redirected: bool,
    /// What a dead or changed citation with an archived copy gets.
    pub dead: FixMode,
    /// The inserted link's text; `{date}` is the copy's date (YYYY-MM-DD).
    pub archived_label: String,
    /// What is inserted after the citation; `{link}` is the link to the copy, `{date}` its date.
    pub archived_note: String,
}

impl Default for FixSettings {
    fn default() -> Self {
        FixSettings {
            redirected: true,
            dead: FixMode::Annotate,
            archived_label: DEFAULT_LABEL.to_string(),
            archived_note: DEFAULT_NOTE.to_string(),
        }
    }
}
