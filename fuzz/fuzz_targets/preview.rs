//! The preview splitter: the paid part never reaches the free preview,
//! whatever comes before the divider (fences of every shape, HTML blocks,
//! lists, tables…). The oracle is an independent CommonMark parser
//! (markdown-rs): wherever it sees the divider as a top-level block, no
//! paid block after it may appear in our preview, excerpt or preview
//! markdown. The paid part has several blocks, so the automatic preview
//! (which keeps the last block back) would show the first ones if our
//! splitter missed a divider that CommonMark sees.
#![no_main]

use broadsheet::domain::markdown::{PAYWALL_DIVIDER, preview_part, render};
use libfuzzer_sys::fuzz_target;
use markdown::{ParseOptions, mdast::Node};

const MARKER: &str = "PAIDMARKERfz91";

/// Where CommonMark (GFM) puts the divider: the first top-level HTML node
/// that is exactly it.
fn independent_divider(markdown: &str) -> Option<usize> {
    let Ok(Node::Root(root)) = markdown::to_mdast(markdown, &ParseOptions::gfm()) else {
        return None;
    };
    root.children.iter().find_map(|node| match node {
        Node::Html(html) if html.value.trim() == PAYWALL_DIVIDER => html.position.as_ref().map(|p| p.start.offset),
        _ => None,
    })
}

fuzz_target!(|input: (&str, u16)| {
    let (before, preview_chars) = input;
    // The free part may spell the marker itself (or do once the sanitizer
    // drops its NULs): that is not a leak.
    let free_alone = render(before, usize::MAX, &Default::default());
    if before.contains(MARKER) || free_alone.body_html.contains(MARKER) || free_alone.excerpt.contains(MARKER)
    {
        return;
    }
    let markdown = format!(
        "{before}\n{PAYWALL_DIVIDER}\n\nThe {MARKER} part.\n\nMore of the {MARKER} part.\n\n- a {MARKER} list\n\nThe end."
    );
    let Some(divider) = independent_divider(&markdown) else {
        // CommonMark sees no divider here (the text before swallowed it into
        // a code block or an HTML block): nothing is promised.
        return;
    };
    assert!(
        markdown[..divider].find(MARKER).is_none(),
        "the oracle put the divider after paid text"
    );
    let preview_chars = usize::from(preview_chars).max(1);
    let preview = preview_part(&markdown, preview_chars);
    assert!(!preview.contains(MARKER), "the paid part leaked into {preview:?}");
    let rendered = render(&markdown, preview_chars, &Default::default());
    assert!(!rendered.preview_html.contains(MARKER), "{}", rendered.preview_html);
    assert!(!rendered.excerpt.contains(MARKER), "{}", rendered.excerpt);
});
