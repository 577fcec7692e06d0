//! Micro-benchmarks: extraction throughput (MB/s of Markdown and HTML) and classification.
//! `cargo bench --bench micro`. Reports only.

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
    let h = html();
    let mut g = c.benchmark_group("extract");
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(md.len() as u64));
    g.bench_function("markdown", |b| {
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

criterion_group!(benches, extraction, classification);
criterion_main!(benches);
