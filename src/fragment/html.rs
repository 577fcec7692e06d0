//! One streaming pass of html5ever's tokenizer (no tree) over a page: its anchors, and the
//! text a text directive is matched in, block by block.
//!
//! Invariant: bounded on any input. The tokenizer is linear; the open-element stack is capped
//! at [`MAX_STACK`] (deeper elements are counted, not kept) and an end tag looks for its start
//! among the [`END_TAG_LOOKBACK`] innermost open elements only; ids are capped by
//! [`super::MAX_IDS`] and the text by [`MAX_TEXT`]. Nothing recurses.

use std::cell::RefCell;
use std::ops::Range;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::text::fold_into;
use super::AnchorSet;

/// Open elements kept at most; deeper ones are only counted.
const MAX_STACK: usize = 1024;

/// An end tag closes the nearest open element of its name among this many innermost ones;
/// farther, it is a stray end tag and ignored (keeps a page of stray end tags linear).
const END_TAG_LOOKBACK: usize = 64;

/// Folded page text kept at most (bytes); past it the text is [`PageText::limited`].
const MAX_TEXT: usize = 32 * 1024 * 1024;

/// Visible characters counted at most (enough to tell a page from a script shell).
const TEXT_COUNT_CAP: usize = 4096;

/// A page's visible text, folded for primary-strength comparison (see `text::fold_into`),
/// one range per block; blocks are trimmed and never empty, and follow each other without a
/// separator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageText {
    pub(crate) folded: String,
    pub(crate) blocks: Vec<Range<usize>>,
    /// The page's text went past [`MAX_TEXT`]: what is past it was not kept.
    pub limited: bool,
}

impl PageText {
    /// The blocks as text (for tests and diagnostics).
    pub fn blocks(&self) -> impl Iterator<Item = &str> {
        self.blocks
            .iter()
            .map(|r| self.folded.get(r.clone()).unwrap_or_default())
    }
}

/// Elements whose content is never searched (the spec's "search invisible" elements and the
/// document's head).
const INVISIBLE: &[&str] = &[
    "head", "script", "style", "template", "iframe", "img", "meter", "object", "progress", "video",
    "audio", "noscript", "title", "textarea", "canvas", "embed", "desc",
];

/// Elements with block-level display by default: text is collected per block between them.
/// Table cells and rows count too (their texts are never one run in a rendering).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "plaintext",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "xmp",
    "option",
    "optgroup",
];

/// Elements that never have content (no end tag): not pushed on the stack.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];

/// Elements a start tag of the same name closes when it is the innermost open one.
const SELF_CLOSING_SIBLINGS: &[&str] = &["p", "li", "dt", "dd", "option", "tr", "td", "th"];

struct Open {
    name: String,
    hidden: bool,
}

#[derive(Default)]
struct State {
    anchors: AnchorSet,
    collect_text: bool,
    stack: Vec<Open>,
    /// Elements deeper than [`MAX_STACK`], open and not kept.
    overflow: usize,
    /// Hidden elements among the open ones.
    hidden: usize,
    block: String,
    pending_space: bool,
    page: PageText,
    /// The text of the `h1`–`h6` being read, when it has no id.
    heading: Option<String>,
}

/// Headings without an id remembered at most, and the characters kept of each.
const MAX_HEADINGS: usize = 1000;
const HEADING_CHARS: usize = 256;

impl State {
    fn flush(&mut self) {
        if self.block.is_empty() {
            return;
        }
        if self.collect_text && !self.page.limited {
            let start = self.page.folded.len();
            fold_into(&self.block, &mut self.page.folded);
            // Trim the folded block (folding may turn a leading mark into a space).
            let trimmed_end = self.page.folded.trim_end().len();
            self.page.folded.truncate(trimmed_end.max(start));
            let lead = self
                .page
                .folded
                .get(start..)
                .map_or(0, |s| s.len() - s.trim_start().len());
            if lead > 0 {
                self.page.folded.replace_range(start..start + lead, "");
            }
            let end = self.page.folded.len();
            if end > start {
                self.page.blocks.push(start..end);
            }
            if end > MAX_TEXT {
                self.page.limited = true;
            }
        }
        self.block.clear();
        self.pending_space = false;
    }

    fn text(&mut self, s: &str) {
        if self.hidden > 0 {
            return;
        }
        if let Some(h) = self.heading.as_mut() {
            if h.len() < HEADING_CHARS {
                h.extend(s.chars().take(HEADING_CHARS));
            }
        }
        if !self.collect_text && self.anchors.text_chars >= TEXT_COUNT_CAP {
            return;
        }
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.anchors.text_chars < TEXT_COUNT_CAP {
                self.anchors.text_chars += 1;
            }
            if !self.collect_text {
                continue;
            }
            if self.pending_space && !self.block.is_empty() {
                self.block.push(' ');
            }
            self.pending_space = false;
            self.block.push(c);
        }
    }

    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        for a in &tag.attrs {
            let n: &str = &a.name.local;
            if n == "id" || (n == "name" && name == "a") {
                let v: &str = &a.value;
                if !v.is_empty() {
                    self.anchors.insert(v);
                }
            }
        }
        if name == "script" {
            self.anchors.scripts += 1;
        }
        if is_heading(name)
            && self.anchors.untitled_headings.len() < MAX_HEADINGS
            && !tag.attrs.iter().any(|a| &*a.name.local == "id")
        {
            self.heading = Some(String::new());
        }
        if name == "br" {
            self.pending_space = true;
        }
        if BLOCKS.contains(&name) {
            self.flush();
        }
        if SELF_CLOSING_SIBLINGS.contains(&name)
            && self.overflow == 0
            && self.stack.last().is_some_and(|o| o.name == name)
        {
            self.pop_to(self.stack.len() - 1);
        }
        let raw = match name {
            "script" => Some(TokenSinkResult::RawData(RawKind::ScriptData)),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                Some(TokenSinkResult::RawData(RawKind::Rawtext))
            }
            "title" | "textarea" => Some(TokenSinkResult::RawData(RawKind::Rcdata)),
            "plaintext" => Some(TokenSinkResult::Plaintext),
            _ => None,
        };
        // `<path/>` in SVG opens nothing; an HTML element ignores the slash (`<div/>` opens).
        let leaf = tag.self_closing && raw.is_none() && !BLOCKS.contains(&name);
        if !VOID.contains(&name) && !leaf {
            let hidden = INVISIBLE.contains(&name)
                || tag.attrs.iter().any(|a| {
                    let n: &str = &a.name.local;
                    match n {
                        "hidden" => true,
                        "style" => display_none(&a.value),
                        _ => false,
                    }
                })
                || (name == "select" && !tag.attrs.iter().any(|a| &*a.name.local == "multiple"));
            if self.stack.len() >= MAX_STACK {
                self.overflow += 1;
            } else {
                self.hidden += usize::from(hidden);
                self.stack.push(Open {
                    name: name.to_string(),
                    hidden,
                });
            }
        }
        raw.unwrap_or(TokenSinkResult::Continue)
    }

    fn end(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        if is_heading(name) {
            if let Some(h) = self.heading.take() {
                let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
                if !h.is_empty() {
                    self.anchors.untitled_headings.push(h);
                }
            }
        }
        if BLOCKS.contains(&name) || name == "br" {
            self.flush();
        }
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        let len = self.stack.len();
        let lo = len.saturating_sub(END_TAG_LOOKBACK);
        if let Some(i) = (lo..len).rev().find(|&i| self.stack[i].name == name) {
            self.pop_to(i);
        }
    }

    fn pop_to(&mut self, i: usize) {
        for o in self.stack.drain(i..) {
            self.hidden -= usize::from(o.hidden);
        }
    }
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// `style="display: none"` (inline only; stylesheets are not read).
fn display_none(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    compact.split(';').any(|d| d.starts_with("display:none"))
}

struct Sink(RefCell<State>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut st = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return st.start(&tag),
                TagKind::EndTag => st.end(&tag),
            },
            Token::CharacterTokens(t) => st.text(&t),
            Token::EOFToken => st.flush(),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn run(html: &str, collect_text: bool) -> State {
    let sink = Sink(RefCell::new(State {
        collect_text,
        ..State::default()
    }));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks for a script to run, so one feed reads everything.
    let _ = tok.feed(&input);
    tok.end();
    let mut st = tok.sink.0.into_inner();
    st.flush();
    st
}

/// The ids and `<a name>`s of an HTML page, and the signs of a page that builds its anchors by
/// script (how many scripts, how much visible text).
pub fn anchors_of(html: &str) -> AnchorSet {
    run(html, false).anchors
}

/// The visible text of an HTML page, block by block, folded for matching text directives:
/// script, style, hidden (`hidden`, inline `display:none`) and replaced elements skipped.
pub fn page_text(html: &str) -> PageText {
    run(html, true).page
}
