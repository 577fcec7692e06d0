//! Classification: what one fetch means. Pure: a [`Fetched`] and what is known about the link's
//! baseline and its site (a [`Context`], built by [`crate::verdict`]) in, a [`Verdict`] out.
//!
//! Invariant: every fetch gets exactly one state, by the rules in the README's state table. A
//! phrase ("not found", "log in", "subscribe to continue") never decides alone: each rule that
//! reads one also needs a structural sign (a redirect, a thin page, the text the cited article
//! lost), and a page that still matches its baseline is never a not-found page.

use url::Url;

use crate::fetch::{Failure, Fetched, Response};
use crate::state::State;

/// Similarity to the baseline (of the article's core, see [`crate::drift`]) below which a page
/// counts as `changed`. Chosen on set A of the labelled corpus (`tests/integration/evidence.rs`):
/// every page under a cosmetic edit (dates, counters, ads, banners, comments added or removed,
/// nonces, rotating widgets, newsletter boxes, a redesign, a paragraph added, a typo fixed, one
/// sentence reworded) scores 0.94 or more; a quarter of the sentences rewritten scores 0.75–0.89
/// (median 0.81), more rewriting, a cut or another article less. 0.88 sits in that gap, nearer
/// the rewrites than the middle would: real pages are noisier than the corpus, and a false alarm
/// costs more trust than a light rewrite found one check later (or by its quoted passage) costs.
pub const CHANGED_BELOW: f64 = 0.88;

/// Pages shorter than this (in bytes of body) are "thin": with a not-found title, a soft 404.
const THIN_BODY: usize = 4096;

/// What is known besides the fetch. Every field has a neutral default, so a context built by
/// hand with only `similarity` still classifies as it always did.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Similarity of the page's text to the link's baseline (1.0 = same), when both are known.
    pub similarity: Option<f64>,
    /// The page looks like what the host answers for a path that cannot exist (a probe).
    pub looks_like_probe: Option<bool>,
    /// A passage the post quotes from this page is no longer on it.
    pub quote_missing: bool,
    /// Why (which passage); shown as the verdict's error.
    pub quote_reason: Option<String>,
    /// The page itself says it is a not-found page (a removal notice, a login form, an index, a
    /// search page) and shows a structural sign of it: why.
    pub not_found: Option<String>,
    /// The content changed in a way the similarity alone does not show (a correction or
    /// retraction replacing the conclusion, a cut behind a subscription wall, another article):
    /// why.
    pub changed: Option<String>,
    /// The page cannot be judged although its baseline was an article (a script shell with no
    /// text, a region wall): what it is. Reported as `blocked`.
    pub unjudgeable: Option<String>,
    /// The page reads like an index (teaser cards, little prose): with a redirect to a parent
    /// path, a section or archive page.
    pub index_like: bool,
}

/// The verdict on one fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub http_status: Option<u16>,
    /// Where the redirect chain ended, when it ended somewhere else.
    pub final_url: Option<Url>,
    pub error: Option<String>,
    pub similarity: Option<f64>,
}

/// A page that still answers as cited (`ok`, or `redirected` to such a page) but lost the place a
/// citation points at, an anchor seen before or a text fragment (see [`crate::fragment::judge`]),
/// is `changed`, with that reason. Any other verdict already says more and stands.
pub fn with_fragment_gone(mut v: Verdict, reason: &str) -> Verdict {
    if matches!(v.state, State::Ok | State::Redirected) {
        v.state = State::Changed;
        v.error = Some(reason.to_string());
    }
    v
}

/// The verdict on a fetch.
pub fn classify(f: &Fetched, ctx: &Context) -> Verdict {
    let final_url = f.hops.last().map(|_| match &f.outcome {
        Ok(r) => r.url.clone(),
        Err(_) => f.url.clone(),
    });
    let final_url = final_url.filter(|u| u != &f.url);
    let mut v = Verdict {
        state: State::Ok,
        http_status: None,
        final_url,
        error: None,
        similarity: ctx.similarity,
    };
    let r = match &f.outcome {
        Err(failure) => {
            v.state = match failure {
                Failure::PrivateAddress(_) => State::Skipped,
                Failure::NoSuchHost(_)
                | Failure::RedirectLoop
                | Failure::TooManyRedirects(_)
                | Failure::BadRedirect(_)
                | Failure::InvalidUrl(_) => State::Broken,
                Failure::Timeout
                | Failure::Unreachable(_)
                | Failure::ConnectionRefused(_)
                | Failure::ConnectionReset(_)
                | Failure::Tls(_)
                | Failure::Other(_)
                | Failure::Internal(_) => State::Error,
            };
            v.error = Some(match failure {
                Failure::Timeout if f.attempts > 1 => {
                    format!("timed out ({} attempts)", f.attempts)
                }
                other => other.describe(),
            });
            return v;
        }
        Ok(r) => r,
    };
    v.http_status = Some(r.status);
    let status = r.status;
    if let Some(reason) = challenge(r) {
        v.state = State::Blocked;
        v.error = Some(reason);
        return v;
    }
    v.state = match status {
        200..=299 => State::Ok,
        // 451: unavailable for legal reasons, a wall rather than a missing page.
        401 | 403 | 429 | 451 | 999 => State::Blocked,
        400..=499 => State::Broken,
        500..=599 => State::Error,
        _ => State::Error,
    };
    match v.state {
        State::Blocked => {
            v.error = Some(if status == 451 {
                "HTTP 451: unavailable here for legal reasons (a region wall)".into()
            } else {
                format!("HTTP {status}: the site refuses checkers")
            });
            return v;
        }
        State::Broken => {
            v.error = Some(format!("HTTP {status}"));
            return v;
        }
        State::Error => {
            v.error = Some(if f.attempts > 1 {
                format!("HTTP {status} after {} attempts", f.attempts)
            } else {
                format!("HTTP {status}")
            });
            return v;
        }
        _ => {}
    }
    // A 2xx answer: is it what was cited?
    if let Some((state, reason)) = not_what_was_cited(f, r, ctx) {
        v.state = state;
        v.error = Some(reason);
        return v;
    }
    if ctx.quote_missing {
        v.state = State::Changed;
        v.error = Some(
            ctx.quote_reason
                .clone()
                .unwrap_or_else(|| "a passage the post quotes is no longer on the page".into()),
        );
        return v;
    }
    if let Some(reason) = &ctx.changed {
        v.state = State::Changed;
        v.error = Some(reason.clone());
        return v;
    }
    if let Some(sim) = ctx.similarity {
        if sim < CHANGED_BELOW {
            v.state = State::Changed;
            v.error = Some(format!(
                "content drifted from the archived baseline (similarity {sim:.2})"
            ));
            return v;
        }
    }
    let permanent = f.hops.iter().any(|h| matches!(h.status, 301 | 308));
    if permanent && v.final_url.is_some() {
        v.state = State::Redirected;
    }
    v
}

/// A 2xx answer that is not the cited page: a not-found page of some kind (`soft_404`), or a wall
/// that keeps the page from being judged (`blocked`).
fn not_what_was_cited(f: &Fetched, r: &Response, ctx: &Context) -> Option<(State, String)> {
    let deep = is_deep(&f.url);
    // Matching its own baseline: a real page, whatever its address or title says.
    let matches = ctx.similarity.is_some_and(|s| s >= CHANGED_BELOW);
    if !matches && deep && !f.hops.is_empty() {
        if let Some(hint) = url_hint(&f.url, &r.url) {
            let soft = |why: String| Some((State::Soft404, why));
            match hint {
                UrlHint::ConsentWall => {
                    return Some((
                        State::Blocked,
                        format!("redirected to a consent wall {}", r.url),
                    ))
                }
                UrlHint::FrontPage => {
                    return soft(format!(
                        "a deep link redirected to the site's front page {}",
                        r.url
                    ))
                }
                UrlHint::Login => {
                    return soft(format!(
                        "a deep link redirected to a login or sign-up page {}",
                        r.url
                    ))
                }
                UrlHint::Search => {
                    return soft(format!("a deep link redirected to a search page {}", r.url))
                }
                UrlHint::NotFoundPath => {
                    return soft(format!(
                        "a deep link redirected to the site's not-found page {}",
                        r.url
                    ))
                }
                UrlHint::Index { keyword: true } => {
                    return soft(format!(
                        "a deep link redirected to a section, tag or archive index {}",
                        r.url
                    ))
                }
                UrlHint::Index { keyword: false } if ctx.similarity.is_some() || ctx.index_like => {
                    return soft(format!(
                        "a deep link redirected to the index above it {}",
                        r.url
                    ))
                }
                UrlHint::Index { .. } => {}
            }
        }
    }
    if let Some(what) = &ctx.unjudgeable {
        return Some((State::Blocked, what.clone()));
    }
    if matches || !deep {
        return None;
    }
    match ctx.looks_like_probe {
        Some(true) => {
            return Some((
                State::Soft404,
                "the page looks like what the site answers for a path that does not exist".into(),
            ))
        }
        Some(false) if ctx.not_found.is_none() => return None,
        _ => {}
    }
    if let Some(why) = &ctx.not_found {
        return Some((State::Soft404, why.clone()));
    }
    if ctx.looks_like_probe == Some(false) {
        return None;
    }
    // Without a probe, a not-found title counts only together with a thin page.
    let title_says = crate::readable::title_of(&r.body, r.header("content-type"))
        .is_some_and(|t| says_not_found(&t));
    if title_says && r.body.len() < THIN_BODY {
        return Some((
            State::Soft404,
            "a short page whose title says it was not found".into(),
        ));
    }
    None
}

/// A URL below the site's front page (or with a query): what a "deep link" is.
pub fn is_deep(url: &Url) -> bool {
    !is_front_path(url.path()) || url.query().is_some()
}

/// What the end of a redirect chain says about the page it reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlHint {
    FrontPage,
    /// A section, category, tag or archive page: named so (`keyword`), or a parent of the path.
    Index {
        keyword: bool,
    },
    Login,
    Search,
    NotFoundPath,
    ConsentWall,
}

/// What a redirect from `asked` to `reached` says, if anything.
pub fn url_hint(asked: &Url, reached: &Url) -> Option<UrlHint> {
    let path = reached.path().to_lowercase();
    let segs: Vec<String> = segments(&path);
    let bases: Vec<String> = segs.iter().map(|s| strip_ext(s).to_string()).collect();
    let has = |list: &[&str]| {
        segs.iter()
            .chain(bases.iter())
            .any(|s| list.contains(&s.as_str()))
    };
    if has(CONSENT_SEGMENTS) {
        return Some(UrlHint::ConsentWall);
    }
    if has(LOGIN_SEGMENTS) || returns_to(asked, reached) {
        return Some(UrlHint::Login);
    }
    if has(SEARCH_SEGMENTS) || searches_for(asked, reached) {
        return Some(UrlHint::Search);
    }
    if bases
        .last()
        .is_some_and(|l| NOT_FOUND_SEGMENTS.contains(&l.as_str()))
        || reached.query_pairs().any(|(_, v)| v == "404")
    {
        return Some(UrlHint::NotFoundPath);
    }
    if is_front_path(reached.path()) {
        return Some(UrlHint::FrontPage);
    }
    let asked_segs = segments(&asked.path().to_lowercase());
    if segs == asked_segs {
        return None;
    }
    if has(INDEX_SEGMENTS) && segs.len() <= asked_segs.len() {
        return Some(UrlHint::Index { keyword: true });
    }
    let parent = segs.len() < asked_segs.len() && asked_segs.starts_with(&segs);
    let dropped_only_variants = asked_segs
        .get(segs.len()..)
        .unwrap_or_default()
        .iter()
        .all(|s| VARIANT_SEGMENTS.contains(&s.as_str()) || s.chars().all(|c| c.is_ascii_digit()));
    if parent && !dropped_only_variants {
        return Some(UrlHint::Index { keyword: false });
    }
    None
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path segment without a script or page extension (`wp-login.php` → `wp-login`).
fn strip_ext(s: &str) -> &str {
    for ext in [
        ".php", ".aspx", ".asp", ".jsp", ".html", ".htm", ".cgi", ".do", ".action",
    ] {
        if let Some(b) = s.strip_suffix(ext) {
            return b;
        }
    }
    s
}

/// The site's front page: `/`, an index file, a home alias, or a lone language root (`/en/`).
fn is_front_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [] => true,
        [one] => {
            FRONT_SEGMENTS.contains(one)
                || FRONT_SEGMENTS.contains(&strip_ext(one))
                || is_language(one)
        }
        _ => false,
    }
}

/// `en`, `de`, `pt-br`, `en_us`: a language root. Only real language codes: `/ok` or `/go` is
/// a page, not a front page.
fn is_language(s: &str) -> bool {
    let code = s.split(['-', '_']).next().unwrap_or("");
    let region = s.get(code.len() + 1..).unwrap_or("");
    let region_ok = s.len() == code.len()
        || (region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()));
    LANGUAGES.contains(&code) && region_ok
}

/// ISO 639-1 codes of languages sites are commonly published in.
const LANGUAGES: &[&str] = &[
    "ar", "bg", "bn", "ca", "cs", "cy", "da", "de", "el", "en", "eo", "es", "et", "eu", "fa", "fi",
    "fr", "ga", "gl", "he", "hi", "hr", "hu", "id", "is", "it", "ja", "ko", "lt", "lv", "ms", "nb",
    "nl", "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "th", "tr", "uk", "ur",
    "vi", "zh",
];

/// The reached URL carries the asked path in a return parameter (`?next=/the/article`): a gate
/// (login, sign-up, paywall) that would send the reader back after.
fn returns_to(asked: &Url, reached: &Url) -> bool {
    let path = asked.path().trim_end_matches('/');
    if path.len() < 2 {
        return false;
    }
    reached.query_pairs().any(|(k, v)| {
        RETURN_PARAMS.contains(&k.to_ascii_lowercase().as_str())
            && (v.contains(path) || v.contains(asked.as_str()))
    })
}

/// The reached URL searches for words of the asked path (`/?s=old+article`, `/search?q=…`).
fn searches_for(asked: &Url, reached: &Url) -> bool {
    let words: Vec<String> = asked
        .path()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_string)
        .collect();
    reached.query_pairs().any(|(k, v)| {
        SEARCH_PARAMS.contains(&k.to_ascii_lowercase().as_str())
            && (is_front_path(reached.path())
                || v.to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| words.iter().any(|x| x == w)))
    })
}

/// Path segments of a front page besides `/`.
const FRONT_SEGMENTS: &[&str] = &[
    "index",
    "default",
    "home",
    "start",
    "startseite",
    "accueil",
    "inicio",
    "home-page",
    "homepage",
    "portada",
    "voorpagina",
    "pagina-inicial",
];

/// Path segments (or their base without an extension) of login and sign-up pages, whatever the
/// software names them.
const LOGIN_SEGMENTS: &[&str] = &[
    "login",
    "log-in",
    "log_in",
    "logon",
    "signin",
    "sign-in",
    "sign_in",
    "wp-login",
    "wp-signup",
    "signup",
    "sign-up",
    "sign_up",
    "register",
    "registration",
    "join",
    "sso",
    "auth",
    "authenticate",
    "oauth",
    "anmelden",
    "anmeldung",
    "einloggen",
    "registrieren",
    "registrierung",
    "connexion",
    "se-connecter",
    "identification",
    "inscription",
    "iniciar-sesion",
    "acceder",
    "registro",
    "accedi",
    "registrazione",
    "inloggen",
    "aanmelden",
    "registreren",
    "entrar",
    "cadastro",
    "subscribe",
];

/// Query parameters that carry where to go back to after a gate.
const RETURN_PARAMS: &[&str] = &[
    "next",
    "return_to",
    "returnto",
    "return",
    "returnurl",
    "return_url",
    "redirect",
    "redirect_to",
    "redirect_uri",
    "redirecturl",
    "continue",
    "came_from",
    "destination",
    "goto",
    "target",
    "service",
    "back",
    "backurl",
];

/// Path segments of search pages.
const SEARCH_SEGMENTS: &[&str] = &[
    "search",
    "suche",
    "recherche",
    "buscar",
    "busqueda",
    "búsqueda",
    "zoeken",
    "cerca",
    "ricerca",
    "pesquisa",
    "busca",
    "rechercher",
];

/// Query parameters holding a search.
const SEARCH_PARAMS: &[&str] = &[
    "s",
    "q",
    "query",
    "search",
    "keyword",
    "keywords",
    "term",
    "k",
    "suche",
    "search_query",
    "searchterm",
];

/// Last path segments of not-found and removed pages.
const NOT_FOUND_SEGMENTS: &[&str] = &[
    "404",
    "410",
    "not-found",
    "notfound",
    "not_found",
    "page-not-found",
    "pagenotfound",
    "error",
    "error404",
    "error-404",
    "404-error",
    "errors",
    "fehler",
    "seite-nicht-gefunden",
    "introuvable",
    "page-introuvable",
    "no-encontrada",
    "niet-gevonden",
    "non-trovata",
    "nao-encontrada",
    "gone",
    "removed",
    "deleted",
    "unavailable",
    "content-removed",
];

/// Path segments of section, category, tag and archive indexes.
const INDEX_SEGMENTS: &[&str] = &[
    "category",
    "categories",
    "tag",
    "tags",
    "topic",
    "topics",
    "section",
    "sections",
    "archive",
    "archives",
    "author",
    "authors",
    "label",
    "labels",
    "rubrik",
    "rubriken",
    "ressort",
    "thema",
    "themen",
    "kategorie",
    "kategorien",
    "schlagwort",
    "schlagworte",
    "autor",
    "categorie",
    "catégorie",
    "rubrique",
    "rubriques",
    "auteur",
    "etiquette",
    "etiqueta",
    "etiquetas",
    "categoria",
    "categorias",
    "categorías",
    "seccion",
    "sección",
    "tema",
    "temas",
    "sezione",
    "argomenti",
    "archivio",
    "archief",
    "onderwerp",
    "onderwerpen",
    "trefwoord",
    "arquivo",
];

/// Path segments whose removal leaves the same page (an AMP or print version, a page number).
const VARIANT_SEGMENTS: &[&str] = &[
    "amp",
    "print",
    "index.html",
    "index.htm",
    "index.php",
    "feed",
    "comments",
    "all",
    "full",
    "single",
    "view",
];

/// Path segments of consent and cookie walls.
const CONSENT_SEGMENTS: &[&str] = &[
    "consent",
    "cookie-consent",
    "cookies",
    "gdpr",
    "privacy-gate",
];

/// A bot challenge or block page served instead of the content.
fn challenge(r: &Response) -> Option<String> {
    if r.header("cf-mitigated")
        .is_some_and(|v| v.eq_ignore_ascii_case("challenge"))
    {
        return Some("Cloudflare bot challenge".into());
    }
    if !matches!(r.status, 200 | 403 | 429 | 503) {
        return None;
    }
    let head = head_text(&r.body, 16 * 1024);
    let server = r.header("server").unwrap_or("").to_ascii_lowercase();
    let markers: [(&str, &str); 6] = [
        (
            "<title>just a moment...</title>",
            "Cloudflare bot challenge",
        ),
        ("cf-browser-verification", "Cloudflare bot challenge"),
        ("captcha-delivery.com", "DataDome bot challenge"),
        ("<title>access denied</title>", "access denied page"),
        ("g-recaptcha", "captcha page"),
        ("hcaptcha.com", "captcha page"),
    ];
    for (m, why) in markers {
        if head.contains(m) && (r.status != 200 || r.body.len() < 64 * 1024) {
            // A captcha widget on a big 200 page is a comment form, not a wall.
            if r.status == 200 && m.contains("captcha") && r.body.len() > 16 * 1024 {
                continue;
            }
            return Some(why.into());
        }
    }
    if server.contains("akamaighost") && r.status == 403 {
        return Some("Akamai access denied".into());
    }
    None
}

/// The lowercased start of a body, for marker searches.
fn head_text(body: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&body[..body.len().min(n)]).to_ascii_lowercase()
}

/// Phrases of not-found pages (titles, headings, their short text), in the languages citewatch
/// reads. Lowercase.
pub const NOT_FOUND_PHRASES: &[&str] = &[
    "404",
    "not found",
    "page does not exist",
    "page doesn't exist",
    "page can't be found",
    "page can\u{2019}t be found",
    "page cannot be found",
    "couldn't find",
    "could not find",
    "nothing was found",
    "seite nicht gefunden",
    "nicht gefunden",
    "existiert nicht",
    "konnte nicht gefunden werden",
    "page introuvable",
    "page non trouvée",
    "introuvable",
    "n'existe pas",
    "n\u{2019}existe pas",
    "página no encontrada",
    "no se encontró",
    "no se ha encontrado",
    "no existe",
    "pagina non trovata",
    "non è stata trovata",
    "non esiste",
    "pagina niet gevonden",
    "niet gevonden",
    "bestaat niet",
    "página não encontrada",
    "não encontrada",
    "não foi encontrada",
    "não existe",
    "strona nie została znaleziona",
];

/// Phrases of "this content was removed" pages served with 200.
pub const REMOVED_PHRASES: &[&str] = &[
    "no longer available",
    "has been removed",
    "has been deleted",
    "was removed",
    "was deleted",
    "content removed",
    "410 gone",
    "has been taken down",
    "nicht mehr verfügbar",
    "wurde entfernt",
    "wurde gelöscht",
    "nicht mehr online",
    "nicht mehr vorhanden",
    "n'est plus disponible",
    "n\u{2019}est plus disponible",
    "a été supprimé",
    "a été retiré",
    "ya no está disponible",
    "ha sido eliminad",
    "fue eliminad",
    "ha sido retirad",
    "non è più disponibile",
    "è stato rimosso",
    "è stata rimossa",
    "è stato eliminato",
    "è stata eliminata",
    "niet meer beschikbaar",
    "niet langer beschikbaar",
    "is verwijderd",
    "werd verwijderd",
    "não está mais disponível",
    "já não está disponível",
    "foi removid",
    "foi excluíd",
];

/// Phrases of region and legal walls.
pub const REGION_PHRASES: &[&str] = &[
    "not available in your region",
    "not available in your country",
    "unavailable in your region",
    "unavailable in your country",
    "not available in your location",
    "unavailable for legal reasons",
    "users in the european economic area",
    "in ihrem land nicht verfügbar",
    "in ihrer region nicht verfügbar",
    "in deinem land nicht verfügbar",
    "pas disponible dans votre pays",
    "pas disponible dans votre région",
    "indisponible dans votre pays",
    "indisponible dans votre région",
    "no está disponible en tu país",
    "no está disponible en su país",
    "no está disponible en tu región",
    "no está disponible en su región",
    "non è disponibile nel tuo paese",
    "non è disponibile nella tua regione",
    "non disponibile nel tuo paese",
    "niet beschikbaar in uw land",
    "niet beschikbaar in jouw land",
    "niet beschikbaar in uw regio",
    "niet beschikbaar in jouw regio",
    "não está disponível no seu país",
    "não está disponível na sua região",
    "indisponível no seu país",
    "indisponível na sua região",
];

/// Phrases of subscription walls that cut an article short.
pub const PAYWALL_PHRASES: &[&str] = &[
    "subscribe to continue",
    "subscribe to keep reading",
    "subscribe to read",
    "to continue reading",
    "continue reading with",
    "keep reading with",
    "is for paid subscribers",
    "for subscribers only",
    "subscribers only",
    "already a subscriber",
    "become a member to read",
    "unlock this article",
    "to read the full article",
    "weiterlesen mit",
    "um weiterzulesen",
    "jetzt weiterlesen",
    "nur für abonnenten",
    "exklusiv für abonnenten",
    "pour lire la suite",
    "réservé aux abonnés",
    "la suite est réservée",
    "para seguir leyendo",
    "para continuar leyendo",
    "exclusivo para suscriptores",
    "solo para suscriptores",
    "per continuare a leggere",
    "riservato agli abbonati",
    "lees verder met",
    "om verder te lezen",
    "alleen voor abonnees",
    "para continuar lendo",
    "para continuar a ler",
    "exclusivo para assinantes",
];

/// Phrases of correction and retraction notices.
pub const NOTICE_PHRASES: &[&str] = &[
    "correction:",
    "corrections:",
    "clarification:",
    "editor's note",
    "editor\u{2019}s note",
    "editors' note",
    "this article has been corrected",
    "an earlier version of this",
    "korrektur:",
    "berichtigung",
    "richtigstellung",
    "anmerkung der redaktion",
    "in einer früheren version",
    "rectificatif",
    "correction :",
    "erratum",
    "note de la rédaction",
    "une version précédente de cet article",
    "fe de errores",
    "fe de erratas",
    "corrección:",
    "rectificación",
    "nota del editor",
    "nota de la redacción",
    "una versión anterior de este artículo",
    "rettifica",
    "correzione:",
    "errata corrige",
    "nota della redazione",
    "una versione precedente di questo articolo",
    "correctie:",
    "rectificatie",
    "noot van de redactie",
    "een eerdere versie van dit artikel",
    "correção:",
    "errata",
    "nota do editor",
    "nota da redação",
    "uma versão anterior deste artigo",
];

/// Phrases of retractions: the claims are withdrawn, a change whatever is left of the text.
pub const RETRACTION_PHRASES: &[&str] = &[
    "retraction",
    "retracted",
    "has been withdrawn",
    "have withdrawn this",
    "zurückgezogen",
    "rétractation",
    "retractación",
    "ritrattazione",
    "ritirato dall",
    "ingetrokken",
    "herroepen",
    "retratação",
];

/// Words of login and sign-up pages (titles, headings).
pub const LOGIN_PHRASES: &[&str] = &[
    "log in",
    "login",
    "sign in",
    "sign up",
    "signin",
    "register",
    "create an account",
    "anmelden",
    "einloggen",
    "registrieren",
    "connexion",
    "se connecter",
    "iniciar sesión",
    "inicia sesión",
    "accedi",
    "inloggen",
    "entrar",
    "registe",
];

/// Phrases of a text asking to log in to read on (a login wall in place of the article). Longer
/// than [`LOGIN_PHRASES`]: they are looked for in text, where "sign in" alone is a menu link.
pub const LOGIN_WALL_PHRASES: &[&str] = &[
    "log in to continue",
    "login to continue",
    "sign in to continue",
    "log in to read",
    "sign in to read",
    "only available to registered users",
    "available to subscribers only",
    "available only to subscribers",
    "bitte melden sie sich an",
    "melden sie sich an, um",
    "nur für registrierte",
    "connectez-vous pour",
    "inicia sesión para",
    "accedi per continuare",
    "faça login para",
    "zaloguj się, aby",
];

/// Phrases of search result pages (titles, headings).
pub const SEARCH_PHRASES: &[&str] = &[
    "search results",
    "you searched for",
    "results for",
    "suchergebnisse",
    "ergebnisse für",
    "résultats de recherche",
    "résultats pour",
    "resultados de búsqueda",
    "resultados para",
    "zoekresultaten",
    "resultaten voor",
    "risultati della ricerca",
    "risultati per",
    "resultados da pesquisa",
    "resultados da busca",
];

/// The first of `phrases` that `text` contains (ignoring case).
pub fn phrase_in(text: &str, phrases: &[&'static str]) -> Option<&'static str> {
    let t = text.to_lowercase();
    phrases.iter().copied().find(|p| t.contains(p))
}

pub fn says_not_found(title: &str) -> bool {
    phrase_in(title, NOT_FOUND_PHRASES).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Hop;
    use std::time::Duration;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn resp(u: &str, status: u16, body: &str) -> Response {
        Response {
            url: url(u),
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    fn fetched(u: &str, hops: Vec<(&str, u16)>, outcome: Result<Response, Failure>) -> Fetched {
        Fetched {
            url: url(u),
            hops: hops
                .into_iter()
                .map(|(h, s)| Hop {
                    url: url(h),
                    status: s,
                    location: String::new(),
                })
                .collect(),
            outcome,
            elapsed: Duration::from_millis(5),
            attempts: 1,
        }
    }

    fn state(f: &Fetched) -> State {
        classify(f, &Context::default()).state
    }

    #[test]
    fn status_codes() {
        for (code, want) in [
            (200, State::Ok),
            (204, State::Ok),
            (404, State::Broken),
            (410, State::Broken),
            (400, State::Broken),
            (401, State::Blocked),
            (403, State::Blocked),
            (429, State::Blocked),
            (999, State::Blocked),
            (500, State::Error),
            (503, State::Error),
        ] {
            let f = fetched(
                "https://a.org/x",
                vec![],
                Ok(resp("https://a.org/x", code, "<p>hello</p>")),
            );
            assert_eq!(state(&f), want, "{code}");
            assert_eq!(classify(&f, &Context::default()).http_status, Some(code));
        }
    }

    #[test]
    fn failures() {
        for (fail, want) in [
            (Failure::NoSuchHost("x".into()), State::Broken),
            (Failure::RedirectLoop, State::Broken),
            (Failure::TooManyRedirects(10), State::Broken),
            (Failure::BadRedirect("x".into()), State::Broken),
            (Failure::InvalidUrl("x".into()), State::Broken),
            (Failure::Timeout, State::Error),
            (Failure::ConnectionRefused("x".into()), State::Error),
            (Failure::ConnectionReset("x".into()), State::Error),
            (Failure::Tls("x".into()), State::Error),
            (Failure::PrivateAddress("x".into()), State::Skipped),
        ] {
            let f = fetched("https://a.org/x", vec![], Err(fail.clone()));
            let v = classify(&f, &Context::default());
            assert_eq!(v.state, want, "{fail:?}");
            assert!(v.error.is_some());
        }
    }

    #[test]
    fn redirects() {
        let perm = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 301)],
            Ok(resp("https://a.org/y", 200, "<p>y</p>")),
        );
        let v = classify(&perm, &Context::default());
        assert_eq!(v.state, State::Redirected);
        assert_eq!(v.final_url.unwrap().as_str(), "https://a.org/y");
        let temp = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 302)],
            Ok(resp("https://a.org/y", 200, "y")),
        );
        assert_eq!(state(&temp), State::Ok);
        let chain = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 302), ("http://a.org/z", 308)],
            Ok(resp("https://a.org/y", 200, "y")),
        );
        assert_eq!(state(&chain), State::Redirected);
        let to_404 = fetched(
            "http://a.org/x",
            vec![("http://a.org/x", 301)],
            Ok(resp("https://a.org/y", 404, "")),
        );
        assert_eq!(state(&to_404), State::Broken);
    }

    #[test]
    fn soft_404_redirect_to_front_page_or_login() {
        let f = fetched(
            "https://a.org/deep/article",
            vec![("https://a.org/deep/article", 301)],
            Ok(resp("https://a.org/", 200, "home")),
        );
        assert_eq!(state(&f), State::Soft404);
        let f = fetched(
            "https://a.org/deep/article",
            vec![("https://a.org/deep/article", 302)],
            Ok(resp("https://a.org/account/login", 200, "login")),
        );
        assert_eq!(state(&f), State::Soft404);
        // The front page cited as the front page is fine.
        let f = fetched(
            "https://a.org/",
            vec![("https://a.org/", 301)],
            Ok(resp("https://www.a.org/", 200, "home")),
        );
        assert_eq!(state(&f), State::Redirected);
    }

    #[test]
    fn not_found_title_needs_another_signal() {
        let thin = "<html><title>Page not found</title><p>Sorry</p></html>";
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, thin)),
        );
        assert_eq!(state(&f), State::Soft404);
        // A long real article about 404 pages is not a soft 404.
        let article = format!(
            "<html><title>Why 404 pages matter</title>{}</html>",
            "<p>text text text</p>".repeat(400)
        );
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, &article)),
        );
        assert_eq!(state(&f), State::Ok);
        // Still matching its baseline: never a soft 404.
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, thin)),
        );
        let ctx = Context {
            similarity: Some(0.95),
            ..Default::default()
        };
        assert_eq!(classify(&f, &ctx).state, State::Ok);
        assert!(says_not_found("Seite nicht gefunden – Beispiel"));
    }

    #[test]
    fn changed_below_threshold() {
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, "<p>new</p>")),
        );
        let ctx = Context {
            similarity: Some(0.2),
            ..Default::default()
        };
        let v = classify(&f, &ctx);
        assert_eq!(v.state, State::Changed);
        assert_eq!(v.similarity, Some(0.2));
    }

    #[test]
    fn what_a_redirect_reached() {
        use UrlHint::*;
        let asked = "https://a.org/news/2019/03/the-old-article";
        for (reached, want) in [
            ("https://a.org/", Some(FrontPage)),
            ("https://www.b.org/index.php", Some(FrontPage)),
            ("https://a.org/en/", Some(FrontPage)),
            (
                "https://a.org/wp-login.php?redirect_to=%2Fnews",
                Some(Login),
            ),
            ("https://a.org/login.php", Some(Login)),
            ("https://a.org/users/sign_in", Some(Login)),
            (
                "https://a.org/gate?next=/news/2019/03/the-old-article",
                Some(Login),
            ),
            ("https://a.org/subscribe?next=%2Fnews", Some(Login)),
            ("https://a.org/?s=old+article", Some(Search)),
            ("https://a.org/search?q=anything", Some(Search)),
            ("https://a.org/suche.php?begriff=x", Some(Search)),
            ("https://a.org/404.html", Some(NotFoundPath)),
            ("https://a.org/error?code=404", Some(NotFoundPath)),
            (
                "https://a.org/category/news/",
                Some(Index { keyword: true }),
            ),
            ("https://a.org/tag/bridges", Some(Index { keyword: true })),
            ("https://a.org/news/2019/", Some(Index { keyword: false })),
            (
                "https://consent.a.org/consent?continue=x",
                Some(ConsentWall),
            ),
            // Moved, not gone.
            ("https://a.org/2019/the-old-article-explained", None),
            // Regression: two letters are not a language root.
            ("https://a.org/ok", None),
            ("https://a.org/pt-br/", Some(FrontPage)),
            ("https://a.org/news/2019/03/the-old-article/", None),
        ] {
            assert_eq!(url_hint(&url(asked), &url(reached)), want, "{reached}");
        }
        // An AMP or print page sent to its article is the same page.
        assert_eq!(
            url_hint(
                &url("https://a.org/news/story/amp"),
                &url("https://a.org/news/story")
            ),
            None
        );
        // A tag page cited as a tag page, with a slash added.
        assert_eq!(
            url_hint(
                &url("https://a.org/tag/rust"),
                &url("https://a.org/tag/rust/")
            ),
            None
        );
    }

    #[test]
    fn walls_and_the_context_findings() {
        let f = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 451, "")),
        );
        assert_eq!(state(&f), State::Blocked);
        let f = fetched(
            "https://a.org/x",
            vec![("https://a.org/x", 302)],
            Ok(resp(
                "https://a.org/consent?continue=https://a.org/x",
                200,
                "ok",
            )),
        );
        assert_eq!(state(&f), State::Blocked);
        let ok = fetched(
            "https://a.org/x",
            vec![],
            Ok(resp("https://a.org/x", 200, "<p>x</p>")),
        );
        let with = |ctx: Context| classify(&ok, &ctx);
        let v = with(Context {
            unjudgeable: Some("a script shell".into()),
            ..Default::default()
        });
        assert_eq!(
            (v.state, v.error.as_deref()),
            (State::Blocked, Some("a script shell"))
        );
        let v = with(Context {
            not_found: Some("a login form".into()),
            ..Default::default()
        });
        assert_eq!(v.state, State::Soft404);
        // A page that still matches its baseline is never a not-found page.
        let v = with(Context {
            not_found: Some("a login form".into()),
            similarity: Some(0.95),
            ..Default::default()
        });
        assert_eq!(v.state, State::Ok);
        let v = with(Context {
            quote_missing: true,
            quote_reason: Some("quoted passage no longer on the page: “x”".into()),
            similarity: Some(1.0),
            ..Default::default()
        });
        assert_eq!(
            (v.state, v.error.as_deref()),
            (
                State::Changed,
                Some("quoted passage no longer on the page: “x”")
            )
        );
        let v = with(Context {
            changed: Some("a retraction notice".into()),
            similarity: Some(0.95),
            ..Default::default()
        });
        assert_eq!(v.state, State::Changed);
        // A redirect to the index above, with a baseline it no longer matches.
        let f = fetched(
            "https://a.org/news/a",
            vec![("https://a.org/news/a", 301)],
            Ok(resp("https://a.org/news/", 200, "x")),
        );
        assert_eq!(
            classify(
                &f,
                &Context {
                    similarity: Some(0.1),
                    ..Default::default()
                }
            )
            .state,
            State::Soft404
        );
        // Without a baseline, the path above alone is not enough: the page must read like an index.
        assert_eq!(classify(&f, &Context::default()).state, State::Redirected);
        assert_eq!(
            classify(
                &f,
                &Context {
                    index_like: true,
                    ..Default::default()
                }
            )
            .state,
            State::Soft404
        );
        assert!(phrase_in("Diese Seite ist NICHT MEHR VERFÜGBAR", REMOVED_PHRASES).is_some());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any status, body, redirect target and context: one verdict, no panic.
            #[test]
            fn never_panics(status in 100u16..1000, body in proptest::collection::vec(any::<u8>(), 0..1024),
                            path in "[/a-z0-9%?=&._~-]{0,60}", sim in proptest::option::of(0.0f64..1.0),
                            probe in proptest::option::of(any::<bool>()), quote in any::<bool>(), index_like in any::<bool>()) {
                let target = format!("https://a.org/{path}");
                let Ok(target_url) = Url::parse(&target) else { return Ok(()) };
                let mut r = resp(target_url.as_str(), status, "");
                r.body = body;
                let f = fetched("https://a.org/deep/link", vec![("https://a.org/deep/link", 302)], Ok(r));
                let ctx = Context { similarity: sim, looks_like_probe: probe, quote_missing: quote, index_like, ..Default::default() };
                let _ = classify(&f, &ctx);
                let _ = url_hint(&url("https://a.org/deep/link"), &target_url);
            }
        }
    }

    #[test]
    fn bot_challenges_are_blocked() {
        let mut r = resp(
            "https://a.org/x",
            503,
            "<html><title>Just a moment...</title></html>",
        );
        let f = fetched("https://a.org/x", vec![], Ok(r.clone()));
        assert_eq!(state(&f), State::Blocked);
        r.status = 200;
        r.headers = vec![("cf-mitigated".into(), "challenge".into())];
        let f = fetched("https://a.org/x", vec![], Ok(r));
        assert_eq!(state(&f), State::Blocked);
    }
}
