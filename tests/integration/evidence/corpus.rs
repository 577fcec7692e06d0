//! The labelled corpus of the evidence test, composed at test time from small files in
//! `tests/fixtures/pages/`: site templates (`templates/*.html`), the strings of the sites'
//! languages (`lang/*.txt`) and sentence frames from which articles are generated
//! (`articles/a/*.txt` for the set the thresholds were chosen on, `articles/b/*.txt` for the
//! independent set). Deterministic: one seed gives the same pages, byte for byte.
//!
//! A [`Case`] is one cited page on one site: the page as cited (phase 0), optionally the same
//! page fetched again with nothing but its per-visit noise changed (phase 1, which is when
//! citewatch learns which lines vary), and the page after an edit of a known kind (phase 2),
//! labelled with the state a careful reader would give it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use citewatch::state::State;

/// A small deterministic generator (splitmix64).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::new();
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
    /// A generator for one purpose, independent of how much this one was used.
    pub fn fork(&self, salt: u64) -> Rng {
        let mut r = Rng(self.0 ^ salt.wrapping_mul(0xa076_1d64_78bd_642f));
        r.next();
        r
    }
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages")
}

/// Strings of a language: `key = value` lines.
pub struct Lang {
    pub code: &'static str,
    strings: HashMap<String, String>,
}

impl Lang {
    pub fn load(code: &'static str) -> Lang {
        let text = std::fs::read_to_string(fixtures().join(format!("lang/{code}.txt")))
            .unwrap_or_else(|e| panic!("lang/{code}.txt: {e}"));
        let strings = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .collect();
        Lang { code, strings }
    }
    pub fn get(&self, key: &str) -> &str {
        self.strings
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lang/{}.txt has no {key}", self.code))
    }
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key).split('|').map(str::to_string).collect()
    }
}

/// Sentence frames of one language and set.
pub struct Frames {
    slots: HashMap<String, Vec<String>>,
    frames: Vec<String>,
    titles: Vec<String>,
    neg: Vec<String>,
}

/// One generated sentence: which frame, and what filled it (so that an edit can render it again
/// with one thing changed).
#[derive(Clone, Debug)]
pub struct Sentence {
    pub frame: usize,
    pub fills: Vec<(String, String)>,
    pub negated: bool,
}

impl Frames {
    pub fn load(set: &str, code: &str) -> Frames {
        let text = std::fs::read_to_string(fixtures().join(format!("articles/{set}/{code}.txt")))
            .unwrap_or_else(|e| panic!("articles/{set}/{code}.txt: {e}"));
        let mut f = Frames {
            slots: HashMap::new(),
            frames: Vec::new(),
            titles: Vec::new(),
            neg: Vec::new(),
        };
        for line in text.lines() {
            if let Some(fr) = line.strip_prefix("> ") {
                f.frames.push(fr.to_string());
            } else if let Some(t) = line.strip_prefix("T> ") {
                f.titles.push(t.to_string());
            } else if let Some(rest) = line.strip_prefix('@') {
                if let Some((k, v)) = rest.split_once(" = ") {
                    f.slots.insert(
                        k.trim().to_string(),
                        v.split('|').map(str::to_string).collect(),
                    );
                }
            } else if let Some(v) = line.strip_prefix("neg = ") {
                f.neg = v.split('|').map(str::to_string).collect();
            }
        }
        assert!(
            f.frames.len() >= 20,
            "articles/{set}/{code}.txt: too few frames"
        );
        f
    }

    fn placeholders(frame: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = frame;
        while let Some(i) = rest.find('{') {
            let Some(j) = rest[i..].find('}') else { break };
            out.push(rest[i + 1..i + j].to_string());
            rest = &rest[i + j + 1..];
        }
        out
    }

    fn fill(&self, name: &str, rng: &mut Rng) -> String {
        match name {
            "n" | "n2" => rng.range(3, 480).to_string(),
            "m" => rng.range(2, 95).to_string(),
            "pct" => rng.range(4, 96).to_string(),
            "year" => rng.range(2009, 2023).to_string(),
            "not" | "ne" | "pas" => String::new(),
            other => {
                let base = other.trim_end_matches("_lc").trim_end_matches("_uc");
                let v = self
                    .slots
                    .get(base)
                    .unwrap_or_else(|| panic!("no slot {base}"));
                rng.pick(v).clone()
            }
        }
    }

    pub fn sentence(&self, frame: usize, rng: &mut Rng) -> Sentence {
        let fills = Self::placeholders(&self.frames[frame])
            .into_iter()
            .map(|p| {
                let v = self.fill(&p, rng);
                (p, v)
            })
            .collect();
        Sentence {
            frame,
            fills,
            negated: rng.chance(0.3),
        }
    }

    pub fn has_number(&self, s: &Sentence) -> bool {
        s.fills
            .iter()
            .any(|(k, _)| matches!(k.as_str(), "n" | "n2" | "m" | "pct" | "year"))
    }

    pub fn has_negation(&self, s: &Sentence) -> bool {
        s.fills.iter().any(|(k, _)| k == "not" || k == "ne")
    }

    pub fn has_words(&self, s: &Sentence) -> bool {
        s.fills.iter().any(|(k, _)| {
            !matches!(
                k.as_str(),
                "n" | "n2" | "m" | "pct" | "year" | "not" | "ne" | "pas"
            )
        })
    }

    /// The sentence with its word slots filled anew (numbers and negation kept): reworded.
    pub fn reword(&self, s: &Sentence, rng: &mut Rng) -> Sentence {
        let mut out = s.clone();
        for _ in 0..8 {
            for (k, v) in out.fills.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "n" | "n2" | "m" | "pct" | "year" | "not" | "ne" | "pas"
                ) {
                    *v = self.fill(k, rng);
                }
            }
            if self.render(&out) != self.render(s) {
                break;
            }
        }
        out
    }

    pub fn render(&self, s: &Sentence) -> String {
        render_frame(&self.frames[s.frame], &s.fills, s.negated, &self.neg)
    }

    pub fn title(&self, rng: &mut Rng) -> String {
        let t = rng.pick(&self.titles).clone();
        let fills: Vec<(String, String)> = Self::placeholders(&t)
            .into_iter()
            .map(|p| {
                let v = self.fill(&p, rng);
                (p, v)
            })
            .collect();
        render_frame(&t, &fills, false, &self.neg)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }
}

fn render_frame(frame: &str, fills: &[(String, String)], negated: bool, neg: &[String]) -> String {
    let mut out = frame.to_string();
    for (k, v) in fills {
        let val = match k.as_str() {
            "not" | "ne" if negated => neg.first().cloned().unwrap_or_default(),
            "pas" if negated => neg.get(1).cloned().unwrap_or_default(),
            _ if k.ends_with("_lc") => lower_first(v),
            _ if k.ends_with("_uc") => upper_first(v),
            _ => v.clone(),
        };
        out = out.replacen(&format!("{{{k}}}"), &val, 1);
    }
    upper_first(&out)
}

pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A generated article: a title and paragraphs of sentences.
#[derive(Clone, Debug)]
pub struct Article {
    pub title: String,
    pub paras: Vec<Vec<Sentence>>,
    /// Extra blocks after the text: (section, text) such as a notice or an update.
    pub tail: Vec<(String, String)>,
    /// A line at the very top (a "last updated" line).
    pub head: Option<String>,
    /// One word misspelt: (paragraph, sentence, the misspelt rendering).
    pub typo: Option<(usize, usize, String)>,
    /// Cut after this many paragraphs, followed by the template's paywall box.
    pub paywall_after: Option<usize>,
    /// A page whose text is this one paragraph, not generated sentences (a short note).
    pub raw: Option<String>,
}

impl Article {
    pub fn generate(f: &Frames, rng: &mut Rng) -> Article {
        let mut order: Vec<usize> = (0..f.len()).collect();
        rng.shuffle(&mut order);
        let mut next = order.into_iter();
        let n_paras = rng.range(6, 8) as usize;
        let mut paras = Vec::new();
        for _ in 0..n_paras {
            let n = rng.range(2, 3) as usize;
            let p: Vec<Sentence> = (0..n)
                .filter_map(|_| next.next())
                .map(|fr| f.sentence(fr, rng))
                .collect();
            if !p.is_empty() {
                paras.push(p);
            }
        }
        Article {
            title: f.title(rng),
            paras,
            tail: Vec::new(),
            head: None,
            typo: None,
            paywall_after: None,
            raw: None,
        }
    }

    pub fn sentences(&self) -> Vec<(usize, usize)> {
        self.paras
            .iter()
            .enumerate()
            .flat_map(|(p, s)| (0..s.len()).map(move |i| (p, i)))
            .collect()
    }

    pub fn render_sentence(&self, f: &Frames, p: usize, i: usize) -> String {
        match &self.typo {
            Some((tp, ti, text)) if *tp == p && *ti == i => text.clone(),
            _ => f.render(&self.paras[p][i]),
        }
    }

    pub fn paragraph(&self, f: &Frames, p: usize) -> String {
        (0..self.paras[p].len())
            .map(|i| self.render_sentence(f, p, i))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn used_frames(&self) -> Vec<usize> {
        self.paras.iter().flatten().map(|s| s.frame).collect()
    }

    /// A fresh sentence from a frame the article does not use yet (or, when all are used, the
    /// same frame filled anew).
    pub fn fresh(&self, f: &Frames, old: &Sentence, rng: &mut Rng) -> Sentence {
        let used = self.used_frames();
        let free: Vec<usize> = (0..f.len()).filter(|i| !used.contains(i)).collect();
        if free.is_empty() {
            let mut s = f.sentence(old.frame, rng);
            s = f.reword(&s, rng);
            s
        } else {
            f.sentence(*rng.pick(&free), rng)
        }
    }
}

/// Swaps two letters inside the longest word of a sentence: the author's (or the page's) typo.
pub fn misspell(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let Some((i, w)) = words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.chars().all(char::is_alphabetic))
        .max_by_key(|(_, w)| w.chars().count())
    else {
        return s.to_string();
    };
    let mut c: Vec<char> = w.chars().collect();
    if c.len() < 5 {
        return s.to_string();
    }
    let k = c.len() / 2;
    c.swap(k, k + 1);
    if c[k] == c[k + 1] {
        c.remove(k);
    }
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out[i] = c.into_iter().collect();
    out.join(" ")
}

/// A site template: its sections, over the common ones.
pub struct Template {
    pub name: &'static str,
    sections: HashMap<String, String>,
}

impl Template {
    pub fn load(name: &'static str) -> Template {
        let mut sections = parse_sections(&read_template("common"));
        sections.extend(parse_sections(&read_template(name)));
        Template { name, sections }
    }
    pub fn section(&self, s: &str) -> &str {
        self.sections
            .get(s)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("template {} has no section {s}", self.name))
    }
    pub fn has(&self, s: &str) -> bool {
        self.sections.contains_key(s)
    }
}

fn read_template(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("templates/{name}.html")))
        .unwrap_or_else(|e| panic!("templates/{name}.html: {e}"))
}

fn parse_sections(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut cur: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            if let Some((k, v)) = cur.take() {
                out.insert(k, v);
            }
            cur = Some((name.trim().to_string(), String::new()));
        } else if let Some((_, v)) = cur.as_mut() {
            if !v.is_empty() {
                v.push('\n');
            }
            v.push_str(line);
        }
    }
    if let Some((k, v)) = cur {
        out.insert(k, v);
    }
    out
}

/// Fills `{{key}}` from `vars`, `{{t:key}}` from the language (whose `{name}` parts are filled
/// from `vars` too), and any other `{{hN}}` with a fresh hash (a hashed class name).
pub fn fill(tpl: &str, vars: &HashMap<String, String>, lang: &Lang, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(tpl.len() + 1024);
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut rest = tpl;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let key = &rest[i + 2..i + j];
        let val = if let Some(t) = key.strip_prefix("t:") {
            let mut s = lang.get(t).to_string();
            for (k, v) in vars {
                let pat = format!("{{{k}}}");
                if s.contains(&pat) {
                    s = s.replace(&pat, v);
                }
            }
            esc(&s)
        } else if let Some(v) = vars.get(key) {
            v.clone()
        } else if key.starts_with('h') && key.len() <= 3 {
            hashes
                .entry(key.to_string())
                .or_insert_with(|| rng.hex(6))
                .clone()
        } else {
            panic!("no value for {{{{{key}}}}}")
        };
        out.push_str(&val);
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL-path slug from a title.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let m = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ó' | 'ò' | 'ô' | 'õ' => "o",
            'ú' | 'ù' | 'û' => "u",
            'ç' => "c",
            'ñ' => "n",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        out.push_str(m);
    }
    let words: Vec<&str> = out.split('-').filter(|w| !w.is_empty()).take(6).collect();
    words.join("-")
}

/// How a site answers for a page it does not have.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Missing {
    /// Its not-found page, with 200.
    Page200,
    /// A redirect to /404.html, which answers 200.
    RedirectTo404,
    /// A redirect to its front page.
    ToFront,
    /// Its front page, with 200, at the missing address.
    Front200,
    /// A page of latest stories under the site's own title, with 200: nothing on it says
    /// "not found" (only the probe tells).
    Catchall200,
    /// A real 404.
    Proper404,
}

/// One site of the corpus.
pub struct Site {
    pub label: String,
    pub template: Template,
    pub lang: Lang,
    pub frames: Frames,
    pub name: String,
    pub tagline: String,
    pub missing: Missing,
    pub cat: String,
    pub catname: String,
    pub authors: Vec<String>,
    /// Titles of the site's other pages (for lists and teasers).
    pub others: Vec<String>,
    pub seed: u64,
}

/// What a careful reader would call the page after the edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Cosmetic,
    Changed,
    Soft404,
    Unjudgeable,
    Negative,
}

/// The kinds of edit between the page as cited and the page checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    // Cosmetic: the cited content is still there.
    NoiseOnly,
    CookieAndAd,
    Comments,
    CommentsRemoved,
    WidgetsAndNewsletter,
    Redesign,
    ParagraphAdded,
    TypoFixed,
    SentenceReworded,
    Republished,
    // Changed.
    Rewrite25,
    Rewrite40,
    Rewrite60,
    AnotherArticle,
    PaywallCut,
    Correction,
    Retraction,
    Parked,
    QuoteNumber,
    QuoteNegation,
    QuoteRemoved,
    QuoteReworded,
    // Cannot be judged.
    ScriptShell,
    RegionWall,
    // Not found.
    FrontRedirect,
    FrontDirect,
    IndexRedirect,
    TagRedirect,
    LoginRedirect,
    SignupRedirect,
    SearchRedirect,
    Removed200,
    NotFound200,
    NotFoundRedirect,
    LoginDirect,
    IndexDirect,
    // Hard negatives: real pages that look like something else.
    Moved301,
    About404,
    ShortNote,
    CitedIndex,
}

impl Kind {
    pub fn family(self) -> Family {
        use Kind::*;
        match self {
            NoiseOnly | CookieAndAd | Comments | CommentsRemoved | WidgetsAndNewsletter
            | Redesign | ParagraphAdded | TypoFixed | SentenceReworded | Republished => {
                Family::Cosmetic
            }
            Rewrite25 | Rewrite40 | Rewrite60 | AnotherArticle | PaywallCut | Correction
            | Retraction | Parked | QuoteNumber | QuoteNegation | QuoteRemoved | QuoteReworded => {
                Family::Changed
            }
            ScriptShell | RegionWall => Family::Unjudgeable,
            FrontRedirect | FrontDirect | IndexRedirect | TagRedirect | LoginRedirect
            | SignupRedirect | SearchRedirect | Removed200 | NotFound200 | NotFoundRedirect
            | LoginDirect | IndexDirect => Family::Soft404,
            Moved301 | About404 | ShortNote | CitedIndex => Family::Negative,
        }
    }

    pub fn expected(self) -> State {
        match self.family() {
            Family::Cosmetic => State::Ok,
            Family::Changed => State::Changed,
            Family::Soft404 => State::Soft404,
            Family::Unjudgeable => State::Blocked,
            Family::Negative if self == Kind::Moved301 => State::Redirected,
            Family::Negative => State::Ok,
        }
    }

    pub fn name(self) -> String {
        let s = format!("{self:?}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('-');
            }
            out.extend(c.to_lowercase());
        }
        out
    }

    pub fn quoted(self) -> bool {
        matches!(
            self,
            Kind::QuoteNumber | Kind::QuoteNegation | Kind::QuoteRemoved | Kind::QuoteReworded
        )
    }
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn redirect(code: u16, to: &str) -> Reply {
        Reply {
            status: code,
            headers: vec![("location".into(), to.into())],
            body: Vec::new(),
        }
    }
}

/// One labelled case.
pub struct Case {
    pub site: usize,
    pub kind: Kind,
    pub path: String,
    pub quotes: Vec<String>,
    /// Fetched once more between citing and the edit (when the volatile lines are learned).
    pub recheck: bool,
    /// Phase 0, 1, 2: what the cited address answers.
    pub replies: [Reply; 3],
    /// Other addresses of the case (a moved article's new address).
    pub extra: Vec<(String, [Reply; 3])>,
}

pub struct Corpus {
    pub sites: Vec<Site>,
    pub cases: Vec<Case>,
}

/// One page being composed: its values.
struct Vars(HashMap<String, String>);

impl Vars {
    fn set(&mut self, k: &str, v: impl Into<String>) {
        self.0.insert(k.to_string(), v.into());
    }
}

impl Site {
    pub fn new(
        label: &str,
        template: &'static str,
        lang: &'static str,
        set: &str,
        missing: Missing,
        seed: u64,
    ) -> Site {
        let lang = Lang::load(lang);
        let frames = Frames::load(set, lang.code);
        let mut rng = Rng::new(seed);
        let nav = lang.list("nav");
        let catname = nav[1 + rng.below(3)].clone();
        let others = (0..24).map(|_| frames.title(&mut rng)).collect();
        let names = [
            "Harbour Chronicle",
            "Riverside Post",
            "Notes from the Valley",
            "Metropolitan Review",
            "The Daily Circuit",
            "Civic Ledger",
        ];
        Site {
            label: label.to_string(),
            template: Template::load(template),
            name: format!("{} {}", rng.pick(&names), label.to_uppercase()),
            tagline: frames.title(&mut rng),
            missing,
            cat: slug(&catname),
            catname,
            authors: vec![
                "Jana Novak".into(),
                "Pieter de Vries".into(),
                "Lucía Ortega".into(),
                "Marco Bellini".into(),
                "Claire Dubois".into(),
            ],
            others,
            lang,
            frames,
            seed,
        }
    }

    fn months(&self) -> Vec<String> {
        self.lang.list("months")
    }

    fn date(&self, rng: &mut Rng) -> (String, String) {
        let (y, m, d) = (rng.range(2016, 2023), rng.range(1, 12), rng.range(1, 28));
        let month = &self.months()[m as usize - 1];
        let text = match self.lang.code {
            "en" => format!("{month} {d}, {y}"),
            "de" => format!("{d}. {month} {y}"),
            _ => format!("{d} {month} {y}"),
        };
        (text, format!("{y}-{m:02}-{d:02}T09:00:00Z"))
    }

    fn teasers(&self, rng: &mut Rng, n: usize, section: &str) -> String {
        let mut out = String::new();
        for _ in 0..n {
            let title = rng.pick(&self.others).clone();
            let mut v = Vars(HashMap::new());
            v.set("href", format!("/{}/{}", self.cat, slug(&title)));
            v.set("title", esc(&title));
            let s = self.frames.sentence(rng.below(self.frames.len()), rng);
            v.set("text", esc(&self.frames.render(&s)));
            v.set(
                "views",
                self.lang
                    .get("views")
                    .replace("{n}", &rng.range(200, 90_000).to_string()),
            );
            v.set("rank", (out.matches("<").count() % 9 + 1).to_string());
            out.push_str(&fill(self.template.section(section), &v.0, &self.lang, rng));
        }
        out
    }

    /// The values every page of the site has, with this visit's noise.
    fn base_vars(&self, rng: &mut Rng, host: &str) -> Vars {
        let mut v = Vars(HashMap::new());
        let l = &self.lang;
        v.set("lang", l.code);
        v.set("site", esc(&self.name));
        v.set("tagline", esc(&self.tagline));
        v.set("host", host);
        v.set("year", "2024");
        v.set("nonce", rng.hex(22));
        v.set("hash", rng.hex(12));
        v.set("ver", format!("6.{}.{}", rng.range(1, 5), rng.range(0, 9)));
        v.set("today", self.date(rng).0);
        v.set(
            "updated",
            l.get("updated")
                .replace("{n}", &rng.range(1, 23).to_string()),
        );
        let views = rng.range(100, 250_000);
        v.set("views", l.get("views").replace("{n}", &views.to_string()));
        v.set("views_n", views.to_string());
        v.set(
            "likes",
            l.get("likes")
                .replace("{n}", &rng.range(3, 900).to_string()),
        );
        v.set(
            "readtime",
            l.get("readtime")
                .replace("{n}", &rng.range(3, 9).to_string()),
        );
        v.set("version", format!("3.{}", rng.range(1, 4)));
        let nav: String = l
            .list("nav")
            .iter()
            .map(|n| {
                let mut nv = Vars(HashMap::new());
                nv.set("slug", slug(n));
                nv.set("name", esc(n));
                fill(self.template.section("navitem"), &nv.0, l, rng)
            })
            .collect();
        v.set("nav", nav);
        let recent: String = self.others[..5]
            .iter()
            .map(|t| {
                let mut nv = Vars(HashMap::new());
                nv.set("href", format!("/{}/{}", self.cat, slug(t)));
                nv.set("title", esc(t));
                fill(self.template.section("listlink"), &nv.0, l, rng)
            })
            .collect();
        v.set("recent", recent);
        let archives: String = self.months()[..6]
            .iter()
            .map(|m| {
                format!(
                    "<li><a href=\"/2023/{}/\">{} 2023</a></li>",
                    slug(m),
                    esc(m)
                )
            })
            .collect();
        v.set("archives", archives);
        v.set("trending", self.teasers(rng, 5, "trend"));
        v.set("related", self.teasers(rng, 3, "teaser"));
        v.set("latest", self.teasers(rng, 6, "teaser"));
        v.set("teasers", self.teasers(rng, 8, "teaser"));
        let ads = l.list("ads");
        let (ad, ad2) = (rng.pick(&ads).clone(), rng.pick(&ads).clone());
        v.set("ad", esc(&ad));
        v.set("ad2", esc(&ad2));
        let ticker = rng.pick(&self.others).clone();
        v.set("ticker", esc(&ticker));
        let docnav: String = self
            .others
            .iter()
            .map(|t| format!("<li class=\"menu__list-item\"><a class=\"menu__link\" href=\"/docs/{}/{}\">{}</a></li>", self.cat, slug(t), esc(t)))
            .collect();
        v.set("docnav", docnav);
        v.set("cookie", "");
        v.set("comments", "");
        v.set("ncomments", "0");
        v.set("cat", self.cat.clone());
        v.set("catname", esc(&self.catname));
        v
    }

    /// An article page (or its redesign) with this visit's noise.
    #[allow(clippy::too_many_arguments)]
    fn article_page(
        &self,
        a: &Article,
        page: &PageOpts,
        rng: &mut Rng,
        host: &str,
        path: &str,
        postid: usize,
    ) -> Reply {
        let mut v = self.base_vars(rng, host);
        let l = &self.lang;
        v.set("title", esc(&a.title));
        v.set("title_json", a.title.replace('"', "\\\""));
        v.set("postid", postid.to_string());
        v.set("path", path);
        let author = self.authors[postid % self.authors.len()].clone();
        v.set("author_slug", slug(&author));
        v.set("author", author);
        v.set("date", page.date.0.clone());
        v.set("iso_date", page.date.1.clone());
        v.set("caption", esc(&format!("{} ({})", a.title, v.0["author"])));
        let first = if a.paras.is_empty() {
            a.raw.clone().unwrap_or_default()
        } else {
            a.paragraph(&self.frames, 0)
        };
        v.set("excerpt", esc(&first.chars().take(120).collect::<String>()));
        if page.cookie {
            v.set(
                "cookie",
                fill(self.template.section("cookie"), &v.0, l, rng),
            );
        }
        let commenters = l.list("commenters");
        let texts = l.list("comments");
        let mut comments = String::new();
        for i in 0..page.comments {
            let mut cv = Vars(v.0.clone());
            cv.set("author", esc(&commenters[(postid + i) % commenters.len()]));
            cv.set("text", esc(&texts[(postid * 3 + i) % texts.len()]));
            cv.set("date", self.date(&mut rng.fork(i as u64)).0);
            cv.set("n", i.to_string());
            comments.push_str(&fill(self.template.section("comment"), &cv.0, l, rng));
        }
        v.set("comments", comments);
        v.set("ncomments", page.comments.to_string());
        // The article body.
        let t = &self.template;
        let mut blocks: Vec<String> = Vec::new();
        if let Some(h) = &a.head {
            let mut bv = Vars(v.0.clone());
            bv.set("text", esc(h));
            blocks.push(fill(t.section("updated_line"), &bv.0, l, rng));
        }
        let headings = matches!(t.name, "docs" | "spa");
        let mut toc = String::new();
        if let Some(raw) = &a.raw {
            let mut bv = Vars(v.0.clone());
            bv.set("text", esc(raw));
            blocks.push(fill(t.section("para"), &bv.0, l, rng));
        }
        let keep = a.paywall_after.unwrap_or(a.paras.len()).min(a.paras.len());
        for p in 0..keep {
            if headings && p % 3 == 0 && p > 0 {
                let text: String = a
                    .paragraph(&self.frames, p)
                    .split_whitespace()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .trim_end_matches([',', '.', ':'])
                    .to_string();
                let anchor = slug(&text);
                let mut bv = Vars(v.0.clone());
                bv.set("text", esc(&text));
                bv.set("anchor", anchor.clone());
                blocks.push(fill(t.section("heading"), &bv.0, l, rng));
                let _ = write!(
                    toc,
                    "<li><a href=\"#{anchor}\" class=\"table-of-contents__link\">{}</a></li>",
                    esc(&text)
                );
            }
            let mut bv = Vars(v.0.clone());
            bv.set("text", esc(&a.paragraph(&self.frames, p)));
            blocks.push(fill(t.section("para"), &bv.0, l, rng));
            if p == 1 && page.ad_inside {
                blocks.push(fill(t.section("adslot"), &v.0, l, rng));
            }
            if p == 2 && page.newsletter_inside {
                blocks.push(fill(t.section("newsletter"), &v.0, l, rng));
                // And a "read also" line linking another story, inside the text.
                let other = rng.pick(&self.others).clone();
                let mut bv = Vars(v.0.clone());
                bv.set(
                    "text",
                    format!(
                        "<b>{}:</b> <a href=\"/{}/{}\">{}</a>",
                        esc(l.get("related.title")),
                        self.cat,
                        slug(&other),
                        esc(&other)
                    ),
                );
                blocks.push(
                    fill(t.section("para"), &bv.0, l, rng)
                        .replace("&lt;", "<")
                        .replace("&gt;", ">"),
                );
            }
        }
        if a.paywall_after.is_some() {
            blocks.push(fill(t.section("paywall"), &v.0, l, rng));
        }
        for (section, text) in &a.tail {
            let mut bv = Vars(v.0.clone());
            bv.set("text", esc(text));
            blocks.push(fill(t.section(section), &bv.0, l, rng));
        }
        let body = if t.has("chunk") {
            // The news site splits the story over containers, ads and a newsletter box between.
            let mut out = String::new();
            for (i, group) in blocks.chunks(3).enumerate() {
                if i > 0 {
                    out.push_str(&fill(t.section("adslot"), &v.0, l, rng));
                }
                if i == 1 {
                    out.push_str(&fill(t.section("newsletter"), &v.0, l, rng));
                }
                let mut cv = Vars(v.0.clone());
                cv.set("text", group.join("\n"));
                out.push_str(&fill(t.section("chunk"), &cv.0, l, rng));
            }
            out
        } else {
            blocks.join("\n")
        };
        v.set("article", body);
        v.set("toc", toc);
        v.set(
            "prev_href",
            format!("/docs/{}/{}", self.cat, slug(&self.others[6])),
        );
        v.set("prev_title", esc(&self.others[6]));
        v.set(
            "next_href",
            format!("/docs/{}/{}", self.cat, slug(&self.others[7])),
        );
        v.set("next_title", esc(&self.others[7]));
        let skeleton = if page.redesign { "redesign" } else { "page" };
        let html = fill(t.section(skeleton), &v.0, l, rng);
        self.reply(200, html)
    }

    /// A page of the site's chrome around a body section (not-found, login, index...).
    pub fn plain_page(
        &self,
        body: &str,
        title: &str,
        rng: &mut Rng,
        host: &str,
        extra: &[(&str, String)],
    ) -> Reply {
        let mut v = self.base_vars(rng, host);
        v.set("title", esc(title));
        v.set("body_class", slug(body));
        for (k, val) in extra {
            v.set(k, val.clone());
        }
        let inner = fill(self.template.section(body), &v.0, &self.lang, rng);
        v.set("body", inner);
        let html = fill(self.template.section("plain"), &v.0, &self.lang, rng);
        self.reply(200, html)
    }

    /// A page served instead of the site (a region wall, a parking page, a script shell): in
    /// UTF-8 whatever the site's own encoding.
    fn full_page(&self, section: &str, rng: &mut Rng, host: &str) -> Reply {
        let v = self.base_vars(rng, host);
        let html = fill(self.template.section(section), &v.0, &self.lang, rng);
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: html.into_bytes(),
        }
    }

    fn reply(&self, status: u16, html: String) -> Reply {
        if self.template.name == "legacy" {
            // Served as windows-1252, the charset only in the page's <meta>.
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&html);
            Reply {
                status,
                headers: vec![("content-type".into(), "text/html".into())],
                body: bytes.into_owned(),
            }
        } else {
            Reply {
                status,
                headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                body: html.into_bytes(),
            }
        }
    }

    /// Where the site's login, sign-up and search pages are, and its indexes.
    pub fn login_path(&self, back: &str) -> String {
        let b = url_encode(back);
        match self.template.name {
            "wordpress" => format!("/wp-login.php?redirect_to={b}"),
            "news" => format!("/login.php?return={b}"),
            "docs" => format!("/signin?next={b}"),
            "newsletter" => format!("/account/login?redirect={b}"),
            "legacy" => format!("/members/login.asp?back={b}"),
            "spa" => format!("/auth/signin?callbackUrl={b}"),
            _ => format!("/members/signin/?next={b}"),
        }
    }

    pub fn signup_path(&self, back: &str) -> String {
        let b = url_encode(back);
        match self.template.name {
            "newsletter" => format!("/subscribe?next={b}"),
            "wordpress" => format!("/wp-signup.php?redirect_to={b}"),
            _ => format!("/register?return_to={b}"),
        }
    }

    pub fn search_path(&self, words: &str) -> String {
        let q = words.replace('-', "+");
        match self.template.name {
            "wordpress" => format!("/?s={q}"),
            "legacy" => format!("/suche.php?begriff={q}"),
            _ => format!("/search?q={q}"),
        }
    }

    pub fn index_path(&self, article_path: &str) -> String {
        match self.template.name {
            "wordpress" => format!("/category/{}/", self.cat),
            "news" | "docs" => {
                // The section above the article.
                let segs: Vec<&str> = article_path.split('/').filter(|s| !s.is_empty()).collect();
                format!("/{}/", segs[..segs.len() - 1].join("/"))
            }
            "newsletter" => "/archive".into(),
            "legacy" => "/archiv/".into(),
            "spa" => format!("/topics/{}", self.cat),
            _ => format!("/tag/{}/", self.cat),
        }
    }

    pub fn tag_path(&self) -> String {
        match self.template.name {
            "wordpress" | "magazine" => format!("/tag/{}/", self.cat),
            _ => format!("/tags/{}", self.cat),
        }
    }

    /// How the site answers an address it has no case for (probes, gates, indexes).
    pub fn answer(&self, path_and_query: &str, salt: u64, host: &str) -> Reply {
        let mut rng = Rng::new(self.seed ^ salt ^ hash_str(path_and_query));
        let l = &self.lang;
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let lower = path.to_ascii_lowercase();
        if path == "/" && query.is_empty() || lower == "/index.html" {
            return self.plain_page("front_body", l.get("front.title"), &mut rng, host, &[]);
        }
        if lower.contains("login") || lower.contains("signin") {
            let action = path.to_string();
            return self.plain_page(
                "login_body",
                l.get("login.title"),
                &mut rng,
                host,
                &[("action", action), ("return", esc(query))],
            );
        }
        if lower.contains("subscribe") || lower.contains("signup") || lower.contains("register") {
            return self.plain_page("signup_body", l.get("signup.title"), &mut rng, host, &[]);
        }
        if query.starts_with("s=")
            || query.starts_with("q=")
            || query.starts_with("begriff=")
            || lower.contains("search")
            || lower.contains("suche")
        {
            let q = query
                .split_once('=')
                .map(|(_, v)| v.replace('+', " "))
                .unwrap_or_default();
            let h1 = l.get("search.h1").replace("{q}", &q);
            return self.plain_page(
                "search_body",
                l.get("search.title"),
                &mut rng,
                host,
                &[("search_h1", esc(&h1)), ("q", esc(&q))],
            );
        }
        if lower == "/404.html" {
            return self.plain_page(
                "notfound_body",
                l.get("notfound.title"),
                &mut rng,
                host,
                &[("path", esc(path))],
            );
        }
        if lower.starts_with("/category/")
            || lower.starts_with("/tag")
            || lower.starts_with("/topics/")
            || lower == "/archive"
            || lower == "/archiv/"
            || (lower.ends_with('/')
                && lower.matches('/').count() <= 3
                && !lower.starts_with("/20"))
            || lower.starts_with("/20") && lower.matches('/').count() <= 3
        {
            let title = l.get("index.title").replace("{name}", &self.catname);
            return self.plain_page(
                "index_body",
                &title,
                &mut rng,
                host,
                &[("index_title", esc(&title)), ("name", esc(&self.catname))],
            );
        }
        match self.missing {
            Missing::Page200 => self.plain_page(
                "notfound_body",
                l.get("notfound.title"),
                &mut rng,
                host,
                &[("path", esc(path))],
            ),
            Missing::RedirectTo404 => Reply::redirect(302, "/404.html"),
            Missing::ToFront => Reply::redirect(301, "/"),
            Missing::Front200 => {
                self.plain_page("front_body", l.get("front.title"), &mut rng, host, &[])
            }
            Missing::Catchall200 => {
                self.plain_page("catchall_body", &self.name, &mut rng, host, &[])
            }
            Missing::Proper404 => {
                let mut r = self.plain_page(
                    "notfound_body",
                    l.get("notfound.title"),
                    &mut rng,
                    host,
                    &[("path", esc(path))],
                );
                r.status = 404;
                r
            }
        }
    }
}

pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How one visit of an article page looks.
#[derive(Clone)]
struct PageOpts {
    date: (String, String),
    cookie: bool,
    ad_inside: bool,
    newsletter_inside: bool,
    comments: usize,
    redesign: bool,
}

/// The kinds every site gets, and the not-found kinds that fit how it answers.
fn kinds_for(site: &Site, index: usize) -> Vec<Kind> {
    use Kind::*;
    let mut k = vec![
        NoiseOnly,
        CookieAndAd,
        Comments,
        CommentsRemoved,
        WidgetsAndNewsletter,
        Redesign,
        ParagraphAdded,
        TypoFixed,
        SentenceReworded,
        Republished,
        Rewrite25,
        Rewrite40,
        Rewrite60,
        AnotherArticle,
        PaywallCut,
        Correction,
        Retraction,
        Parked,
        QuoteNumber,
        QuoteNegation,
        QuoteRemoved,
        QuoteReworded,
    ];
    k.push(if site.template.name == "spa" || index % 2 == 0 {
        ScriptShell
    } else {
        RegionWall
    });
    k.extend([
        FrontRedirect,
        LoginRedirect,
        SearchRedirect,
        IndexRedirect,
        Removed200,
    ]);
    k.push(match site.missing {
        Missing::Page200 | Missing::Catchall200 => NotFound200,
        Missing::RedirectTo404 => NotFoundRedirect,
        Missing::ToFront => SignupRedirect,
        Missing::Front200 => FrontDirect,
        Missing::Proper404 => TagRedirect,
    });
    k.push(match index % 3 {
        0 => LoginDirect,
        1 => IndexDirect,
        _ => SignupRedirect,
    });
    k.push(Moved301);
    k.push(if index % 2 == 0 { About404 } else { ShortNote });
    if index % 3 == 0 {
        k.push(CitedIndex);
    }
    k.dedup();
    k
}

impl Corpus {
    /// Builds the corpus of one set: `sites` are (label, template, language, how it answers
    /// for missing pages); `set` names the article frames ("a" or "b").
    pub fn build(
        set: &str,
        seed: u64,
        sites: &[(&str, &'static str, &'static str, Missing)],
    ) -> Corpus {
        let sites: Vec<Site> = sites
            .iter()
            .enumerate()
            .map(|(i, (label, tpl, lang, missing))| {
                Site::new(
                    label,
                    tpl,
                    lang,
                    set,
                    *missing,
                    seed.wrapping_add(i as u64 * 7919),
                )
            })
            .collect();
        let mut cases = Vec::new();
        let mut postid = 100;
        for (si, site) in sites.iter().enumerate() {
            let mut rng = Rng::new(site.seed ^ 0x5eed);
            for (ki, kind) in kinds_for(site, si).into_iter().enumerate() {
                postid += 1;
                let mut crng = rng.fork(ki as u64 + 1);
                cases.push(Self::case(site, si, kind, &mut crng, postid));
            }
            rng.next();
        }
        Corpus { sites, cases }
    }

    fn case(site: &Site, si: usize, kind: Kind, rng: &mut Rng, postid: usize) -> Case {
        use Kind::*;
        let f = &site.frames;
        let l = &site.lang;
        let mut base = Article::generate(f, rng);
        if kind == About404 {
            base.title = l.get("about404.title").to_string();
        }
        let slug_ = format!("{}-{}", slug(&base.title), postid);
        let path = match site.template.name {
            "wordpress" => format!(
                "/{}/{:02}/{}/",
                rng.range(2016, 2023),
                rng.range(1, 12),
                slug_
            ),
            "news" => format!("/{}/{}/{}", site.cat, rng.range(2016, 2023), slug_),
            "docs" => format!("/docs/{}/{}", site.cat, slug_),
            "newsletter" => format!("/p/{slug_}"),
            "legacy" => format!("/artikel/{}/{}.html", rng.range(1999, 2008), slug_),
            "spa" => format!("/{}/{}", site.cat, slug_),
            _ => format!("/{slug_}/"),
        };
        let host = "localhost";
        let date = site.date(rng);
        let mut opts = PageOpts {
            date: date.clone(),
            cookie: false,
            ad_inside: false,
            newsletter_inside: false,
            comments: if rng.chance(0.5) { rng.below(3) } else { 0 },
            redesign: false,
        };
        if kind == CommentsRemoved {
            opts.comments = 10;
        }
        if kind == TypoFixed {
            // The page as cited had a typo; the edit fixes it.
            let all = base.sentences();
            let (p, i) = *rng.pick(&all);
            base.typo = Some((p, i, misspell(&f.render(&base.paras[p][i]))));
        }
        // Sentences worth quoting: for quote edits, one the edit can change.
        let all = base.sentences();
        let target = match kind {
            QuoteNumber => all
                .iter()
                .copied()
                .find(|&(p, i)| f.has_number(&base.paras[p][i])),
            QuoteNegation => all
                .iter()
                .copied()
                .find(|&(p, i)| f.has_negation(&base.paras[p][i])),
            QuoteReworded => all
                .iter()
                .copied()
                .rev()
                .find(|&(p, i)| f.has_words(&base.paras[p][i])),
            QuoteRemoved => Some(all[all.len() / 2]),
            _ => None,
        };
        let target = target.or(if kind.quoted() {
            Some(all[all.len() / 3])
        } else {
            None
        });
        let mut edited = base.clone();
        edited.typo = None;
        let mut page = opts.clone();
        let mut quotes = Vec::new();
        let quote_share = if kind.quoted() { 1.0 } else { 0.4 };
        if rng.chance(quote_share) {
            let (p, i) = target.unwrap_or_else(|| *rng.pick(&all));
            // Not the sentence a cosmetic edit rewords, nor the typo.
            let text = base.render_sentence(f, p, i);
            quotes.push(quote_style(&text, rng, kind.quoted()));
            if rng.chance(0.3) && !kind.quoted() {
                let (p2, i2) = *rng.pick(&all);
                quotes.push(quote_style(&base.render_sentence(f, p2, i2), rng, false));
            }
        }
        let quoted_sentences: Vec<(usize, usize)> = target.into_iter().collect();
        let mut replies_edit: Option<Reply> = None;
        let mut extra = Vec::new();
        let mut edit_rng = rng.fork(99);
        match kind {
            NoiseOnly => {}
            CookieAndAd => {
                page.cookie = true;
                page.ad_inside = true;
            }
            Comments => page.comments += 8,
            CommentsRemoved => page.comments = 0,
            WidgetsAndNewsletter => page.newsletter_inside = true,
            Redesign => page.redesign = true,
            ParagraphAdded => edited.tail.push(("update".into(), l.get("update").into())),
            TypoFixed => {}
            SentenceReworded => {
                // A sentence no quote covers (a quoted one reworded is a quote edit).
                let free = all.iter().copied().find(|&(p, i)| {
                    f.has_words(&base.paras[p][i])
                        && !quotes
                            .iter()
                            .any(|q| overlaps(q, &f.render(&base.paras[p][i])))
                });
                if let Some((p, i)) = free {
                    edited.paras[p][i] = f.reword(&base.paras[p][i], &mut edit_rng);
                }
            }
            Republished => {
                page.date = site.date(&mut edit_rng);
                edited.head = Some(format!("{} {}", l.get("lastupdate"), page.date.0));
            }
            Rewrite25 | Rewrite40 | Rewrite60 => {
                let share = match kind {
                    Rewrite25 => 0.25,
                    Rewrite40 => 0.4,
                    _ => 0.6,
                };
                let mut idx = all.clone();
                edit_rng.shuffle(&mut idx);
                let n = (all.len() as f64 * share).round() as usize;
                for (k, &(p, i)) in idx.iter().take(n).enumerate() {
                    // Half the rewritten sentences say something new, half say the same
                    // thing with other words (the frame kept, its words changed).
                    let old = edited.paras[p][i].clone();
                    edited.paras[p][i] = if k % 2 == 0 {
                        edited.fresh(f, &old, &mut edit_rng)
                    } else {
                        f.reword(&old, &mut edit_rng)
                    };
                }
            }
            AnotherArticle => {
                edited = Article::generate(f, &mut edit_rng);
            }
            PaywallCut => {
                // Anywhere from the second paragraph to two before the end.
                let n = edited.paras.len();
                edited.paywall_after = Some(edit_rng.range(2, (n as u64 - 2).max(2)) as usize);
            }
            Correction | Retraction => {
                let last = edited.paras.len() - 1;
                edited.paras.truncate(last);
                let key = if kind == Correction {
                    "correction"
                } else {
                    "retraction"
                };
                edited.tail.push(("notice".into(), l.get(key).into()));
            }
            QuoteNumber => {
                let (p, i) = quoted_sentences[0];
                let s = &mut edited.paras[p][i];
                if let Some((_, v)) = s
                    .fills
                    .iter_mut()
                    .find(|(k, _)| matches!(k.as_str(), "n" | "n2" | "m" | "pct" | "year"))
                {
                    let n: u64 = v.parse().unwrap_or(7);
                    *v = (n + 1 + edit_rng.range(0, 8)).to_string();
                }
            }
            QuoteNegation => {
                let (p, i) = quoted_sentences[0];
                edited.paras[p][i].negated = !edited.paras[p][i].negated;
            }
            QuoteRemoved => {
                let (p, i) = quoted_sentences[0];
                edited.paras[p].remove(i);
                if edited.paras[p].is_empty() {
                    edited.paras.remove(p);
                }
            }
            QuoteReworded => {
                let (p, i) = quoted_sentences[0];
                edited.paras[p][i] = f.reword(&base.paras[p][i], &mut edit_rng);
            }
            Parked => {
                replies_edit = Some(site.full_page("parked_page", &mut edit_rng, host));
            }
            ScriptShell => replies_edit = Some(site.full_page("shell_page", &mut edit_rng, host)),
            RegionWall => replies_edit = Some(site.full_page("region_page", &mut edit_rng, host)),
            FrontRedirect => replies_edit = Some(Reply::redirect(301, "/")),
            FrontDirect => {
                replies_edit = Some(site.plain_page(
                    "front_body",
                    l.get("front.title"),
                    &mut edit_rng,
                    host,
                    &[],
                ))
            }
            IndexRedirect => replies_edit = Some(Reply::redirect(301, &site.index_path(&path))),
            TagRedirect => replies_edit = Some(Reply::redirect(301, &site.tag_path())),
            LoginRedirect => replies_edit = Some(Reply::redirect(302, &site.login_path(&path))),
            SignupRedirect => replies_edit = Some(Reply::redirect(302, &site.signup_path(&path))),
            SearchRedirect => {
                replies_edit = Some(Reply::redirect(302, &site.search_path(&slug(&base.title))))
            }
            Removed200 => {
                replies_edit = Some(site.plain_page(
                    "removed_body",
                    l.get("removed.title"),
                    &mut edit_rng,
                    host,
                    &[],
                ));
            }
            // What the site answers for any address it does not have.
            NotFound200 => replies_edit = Some(site.answer(&path, 3 * 7_777, host)),
            NotFoundRedirect => replies_edit = Some(Reply::redirect(302, "/404.html")),
            LoginDirect => {
                replies_edit = Some(site.plain_page(
                    "login_body",
                    l.get("login.title"),
                    &mut edit_rng,
                    host,
                    &[("action", "/login".into()), ("return", esc(&path))],
                ));
            }
            IndexDirect => {
                let title = l.get("index.title").replace("{name}", &site.catname);
                replies_edit = Some(site.plain_page(
                    "index_body",
                    &title,
                    &mut edit_rng,
                    host,
                    &[("index_title", esc(&title)), ("name", esc(&site.catname))],
                ));
            }
            Moved301 => {
                let new_path = format!("{}-moved", path.trim_end_matches('/'));
                replies_edit = Some(Reply::redirect(301, &new_path));
                let r = |salt: u64| {
                    let mut g = rng.fork(salt);
                    site.article_page(&base, &opts, &mut g, host, &new_path, postid)
                };
                extra.push((new_path.clone(), [r(11), r(12), r(13)]));
            }
            About404 => {}
            ShortNote => {
                base.title = l.get("note.title").into();
                base.paras = Vec::new();
                base.raw = Some(l.get("note.text").into());
                edited = base.clone();
                quotes.clear();
            }
            CitedIndex => quotes.clear(),
        }
        let visit = |a: &Article, o: &PageOpts, salt: u64, rng: &Rng| {
            let mut g = rng.fork(salt);
            if kind == CitedIndex {
                let title = l.get("index.title").replace("{name}", &site.catname);
                return site.plain_page(
                    "index_body",
                    &title,
                    &mut g,
                    host,
                    &[("index_title", esc(&title)), ("name", esc(&site.catname))],
                );
            }
            site.article_page(a, o, &mut g, host, &path, postid)
        };
        let r0 = visit(&base, &opts, 1, rng);
        let r1 = visit(&base, &opts, 2, rng);
        let r2 = replies_edit.unwrap_or_else(|| visit(&edited, &page, 3, rng));
        let path = if kind == CitedIndex {
            format!("/category/{}/", site.cat)
        } else {
            path
        };
        let _ = si;
        Case {
            site: si,
            kind,
            path,
            quotes,
            recheck: rng.chance(0.5),
            replies: [r0, r1, r2],
            extra,
        }
    }
}

/// Whether two texts share a run of five words.
fn overlaps(a: &str, b: &str) -> bool {
    let w = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|x| !x.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (x, y) = (w(a), w(b));
    x.windows(5).any(|g| y.windows(5).any(|h| g == h))
}

/// How an author writes down a quote: as on the page, in typographic quotes, with an ellipsis
/// for omitted words, with an entity, with their own typo. `strict`: never omit words (the quote
/// must cover what an edit changes).
fn quote_style(text: &str, rng: &mut Rng, strict: bool) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    match rng.below(6) {
        0 => format!("\u{201c}{text}\u{201d}"),
        1 if !strict && words.len() > 12 => {
            let k = words.len() / 3;
            format!(
                "{} \u{2026} {}",
                words[..k].join(" "),
                words[k + 4..].join(" ")
            )
        }
        2 => text.replace('\'', "&#8217;").replace(" - ", " &ndash; "),
        3 => misspell(text),
        4 if !strict && words.len() > 10 => words[..words.len() * 2 / 3].join(" "),
        _ => text.to_string(),
    }
}
