//! The preview splitter: text after the paywall divider never reaches the
//! free preview, whatever comes before it (open code fences, HTML blocks,
//! lists, tables…).
#![no_main]

use broadsheet::domain::markdown::{PAYWALL_DIVIDER, preview_part, render};
use libfuzzer_sys::fuzz_target;

const MARKER: &str = "PAIDMARKERfz91";

fuzz_target!(|input: (&str, u16)| {
    let (before, preview_chars) = input;
    // The free part may spell the marker itself (or do once the sanitizer
    // drops its NULs): that is not a leak.
    let free_alone = render(before, usize::MAX);
    if before.contains(MARKER) || free_alone.body_html.contains(MARKER) || free_alone.excerpt.contains(MARKER)
    {
        return;
    }
    let markdown = format!("{before}\n{PAYWALL_DIVIDER}\n\nThe {MARKER} part.");
    let preview_chars = usize::from(preview_chars).max(1);
    let preview = preview_part(&markdown, preview_chars);
    assert!(!preview.contains(MARKER), "the paid part leaked into {preview:?}");
    let rendered = render(&markdown, preview_chars);
    assert!(!rendered.preview_html.contains(MARKER));
    assert!(!rendered.excerpt.contains(MARKER));
});
