//! Micro-benchmarks: extraction throughput (MB/s of Markdown and HTML), classification, and
//! preparing a fetched page for the archive. `cargo bench --bench micro`. Reports only.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use citewatch::checker::{Fetched, Response};
use citewatch::classify::{classify, Context};
use citewatch::extract::{extract, Format, Options};

/// About 1 MB of Markdown shaped like a blog post: prose, links, code, lists.
fn markdown() -> String {
    let mut s =
        String::from("---\ntitle: \"A post\"\ndate: 2020-01-01T00:00:00Z\ntags: [a, b]\n---\n\n");
    let mut i = 0;
    while s.len() < 1_000_000 {
        s.push_str(&format!(
            "## Section {i}\n\nSome prose with a [link to a page](https://example{}.org/path/{i}?q=1) and a bare URL https://bare.example.org/{i}.\n\
             More words follow, *emphasis*, `inline code`, and an image ![alt](img/{i}.png).\n\n\
             - a list item with <https://auto.example.org/{i}>\n- another item\n\n\
             ```\nlet code = \"https://not-a-citation.example.org/\";\n```\n\n",
            i % 50
        ));
        i += 1;
    }
    s
}

/// About 1 MB of Markdown shaped like the posts of a real blog (the corpus the README's
/// extraction figure comes from has a citation per KB): paragraphs of prose, now and then a link,
/// a heading, a list, a quote, a code block, an image.
fn typical_markdown() -> String {
    let prose = "Replication lag is not a property of the primary but of what the replica has to \
                 apply, and in which order; a long transaction holds everything behind it. ";
    let mut s = String::from(
        "---\nauthor: someone\ndate: \"2020-07-29T09:00:00Z\"\ntags:\n  - lang_en\n  - mysql\ntitle: 'A post'\naliases:\n  - /2020/07/29/a-post.html\n---\n\n",
    );
    let mut i = 0;
    while s.len() < 1_000_000 {
        s.push_str(&format!("## Part {i}\n\n"));
        s.push_str(&prose.repeat(3));
        s.push_str(&format!(
            "As [the manual explains](https://dev.example{}.com/doc/refman/8.0/en/page-{i}.html), *this* matters.\n\n",
            i % 40
        ));
        s.push_str(&prose.repeat(2));
        s.push_str("\n\n- one point\n- another point, with `inline code`\n\n> A quoted remark from elsewhere, ");
        s.push_str(prose);
        s.push_str("\n\n```sql\nSELECT * FROM t WHERE id = 1; -- https://not.a.citation/\n```\n\n");
        s.push_str(&prose.repeat(2));
        if i % 3 == 0 {
            s.push_str(&format!("\n\n![A diagram](/images/diagram-{i}.png)"));
        }
        s.push_str("\n\n");
        i += 1;
    }
    s
}

fn html() -> String {
    let mut s = String::from("<html><head><title>Post</title></head><body><article>");
    let mut i = 0;
    while s.len() < 1_000_000 {
        s.push_str(&format!(
            "<p>Prose with <a href=\"https://example.org/{i}\" rel=\"nofollow\">a link</a> and <img src=\"/i/{i}.png\" alt=\"x\">.</p>\n"
        ));
        i += 1;
    }
    s.push_str("</article></body></html>");
    s
}

fn extraction(c: &mut Criterion) {
    let md = markdown();
    let typical = typical_markdown();
    let h = html();
    let mut g = c.benchmark_group("extract");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(typical.len() as u64));
    g.bench_function("markdown, typical post", |b| {
        b.iter(|| extract(Format::Markdown, &typical, &Options::default()))
    });
    g.throughput(Throughput::Bytes(md.len() as u64));
    g.bench_function("markdown, a link every 60 bytes", |b| {
        b.iter(|| extract(Format::Markdown, &md, &Options::default()))
    });
    g.throughput(Throughput::Bytes(h.len() as u64));
    g.bench_function("html", |b| {
        b.iter(|| extract(Format::Html, &h, &Options::default()))
    });
    g.finish();
}

fn classification(c: &mut Criterion) {
    let body = format!(
        "<html><head><title>A page</title></head><body>{}</body></html>",
        "<p>text</p>".repeat(300)
    );
    let f = Fetched {
        url: url::Url::parse("https://example.org/a/b").expect("constant URL"),
        hops: Vec::new(),
        outcome: Ok(Response {
            url: url::Url::parse("https://example.org/a/b").expect("constant URL"),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.into_bytes(),
            truncated: false,
        }),
        elapsed: Duration::from_millis(10),
        attempts: 1,
    };
    let ctx = Context {
        similarity: Some(0.97),
        ..Default::default()
    };
    c.bench_function("classify 200 page", |b| b.iter(|| classify(&f, &ctx)));
}

/// Hashing and compressing a small page for the archive: done once per fetched page.
fn archiving(c: &mut Criterion) {
    let body = format!(
        "<html><head><title>Page 7</title></head><body><article><h1>Page 7</h1>{}</article></body></html>",
        "<p>Paragraph of page 7: citations decay, archives remember, and checkers keep an eye on both. </p>"
            .repeat(12)
    );
    let resp = Response {
        url: url::Url::parse("https://example.org/p/7").expect("constant URL"),
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: body.into_bytes(),
        truncated: false,
    };
    let mut g = c.benchmark_group("snapshot");
    g.throughput(Throughput::Bytes(resp.body.len() as u64));
    g.bench_function("prepare new 1.5 KiB page", |b| {
        b.iter(|| citewatch::snapshot::prepare(&resp, &[], |_| false))
    });
    let hash = citewatch::snapshot::content_hash(&resp.body);
    g.bench_function("prepare new 1.5 KiB page with its text", |b| {
        b.iter(|| citewatch::snapshot::prepare(&resp, &[], |_| true))
    });
    g.bench_function("readable text of a 1.5 KiB page", |b| {
        b.iter(|| citewatch::readable::readable(&resp.body, Some("text/html")))
    });
    g.bench_function("prepare unchanged 1.5 KiB page", |b| {
        b.iter(|| citewatch::snapshot::prepare(&resp, &[Some(hash.as_str())], |_| false))
    });
    g.finish();
}

criterion_group!(benches, extraction, classification, archiving);
criterion_main!(benches);
