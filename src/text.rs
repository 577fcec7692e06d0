//! Text helpers shared by every renderer (reports, alerts, logs): scraped text is data, so control
//! characters are neutralised before it reaches a terminal or a log line. Pure.

/// Makes scraped or user text safe to print on a terminal: control characters (including ESC,
/// which starts terminal escape sequences) are shown escaped, not sent.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Like [`sanitize`] but keeps line breaks: for multi-line text such as a snapshot's text.
pub fn sanitize_block(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}
