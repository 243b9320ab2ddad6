//! Markdown → sanitized HTML, and the split between the free preview and the
//! rest. Rendered once when an article is saved, never per request.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag};

/// The line an editor writes where the free preview ends.
pub const PAYWALL_DIVIDER: &str = "<!-- paywall -->";

/// An article body rendered for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The whole body, sanitized.
    pub body_html: String,
    /// The free part, sanitized. Always strictly shorter than the body when
    /// the body has more than one word, so a teaser never gives all away.
    pub preview_html: String,
    /// Plain text from the preview only, for meta descriptions and lists.
    pub excerpt: String,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Renders `markdown`; without a divider the preview is the leading
/// paragraphs up to `preview_chars` characters. The body, the preview and the
/// excerpt all come from one CommonMark parse, so the divider is found
/// exactly where the renderer sees it.
pub fn render(markdown: &str, preview_chars: usize) -> Rendered {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(markdown, options()).into_offset_iter().collect();
    let body_html = events_to_safe_html(events.iter().map(|(e, _)| e.clone()), markdown.len());
    let (preview_html, excerpt) = match free_part(markdown, &events, preview_chars) {
        FreePart::Events(count) => (
            events_to_safe_html(events[..count].iter().map(|(e, _)| e.clone()), markdown.len()),
            excerpt_of(events[..count].iter().map(|(e, _)| e), 200),
        ),
        FreePart::Words(words) => (to_safe_html(&words), excerpt(&words, 200)),
    };
    Rendered {
        body_html,
        preview_html,
        excerpt,
    }
}

/// Markdown to HTML, then through ammonia: no scripts, no event handlers, no
/// `javascript:` links, `rel="noopener noreferrer"` on links.
pub fn to_safe_html(markdown: &str) -> String {
    events_to_safe_html(Parser::new_ext(markdown, options()), markdown.len())
}

fn events_to_safe_html<'a>(events: impl Iterator<Item = Event<'a>>, size_hint: usize) -> String {
    let mut html = String::with_capacity(size_hint * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    SANITIZER.clean(&html).to_string()
}

/// ammonia's defaults (no scripts, styles, event handlers or `javascript:`
/// URLs; `rel="noopener noreferrer"` on links), plus what footnotes need to
/// link up and be styled.
static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tag_attributes("div", ["id"])
        .add_allowed_classes("div", ["footnote-definition"])
        .add_allowed_classes("sup", ["footnote-reference", "footnote-definition-label"]);
    builder
});

/// The free part of the markdown, as markdown (for plain-text emails):
/// everything before the divider when there is one; otherwise whole
/// top-level blocks up to `max_chars`, never all of them.
pub fn preview_part(markdown: &str, max_chars: usize) -> String {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(markdown, options()).into_offset_iter().collect();
    match free_part(markdown, &events, max_chars) {
        FreePart::Events(0) => String::new(),
        FreePart::Events(count) => {
            let end = events[..count].iter().map(|(_, r)| r.end).max().unwrap_or(0);
            markdown[..end].trim_end().to_owned()
        }
        FreePart::Words(words) => words,
    }
}

/// A comment that looks like the divider but is not a top-level block of
/// its own, so CommonMark does not see a divider there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}: the paywall divider must be a line of its own, written exactly `{PAYWALL_DIVIDER}`, with a blank line before it and outside lists, quotes and HTML"
)]
pub struct MisplacedDivider {
    pub line: usize,
}

/// Refuses markdown with a divider-like comment anywhere but a top-level
/// HTML block that holds exactly the divider: the writer meant a divider
/// there, and a preview that ignored it would give the paid part away.
pub fn check_divider(markdown: &str) -> Result<(), MisplacedDivider> {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(markdown, options()).into_offset_iter().collect();
    match top_level_blocks(&events)
        .iter()
        .find_map(|block| block.misplaced_divider_at)
    {
        Some(offset) => Err(MisplacedDivider {
            line: markdown[..offset].matches('\n').count() + 1,
        }),
        None => Ok(()),
    }
}

/// Where the divider block starts (a byte offset), as CommonMark parses it:
/// the first top-level HTML block that holds exactly the divider.
pub fn divider_offset(markdown: &str) -> Option<usize> {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(markdown, options()).into_offset_iter().collect();
    top_level_blocks(&events)
        .iter()
        .find(|block| block.is_divider)
        .map(|block| block.start)
}

/// One top-level block of a parse: its events and what it holds.
#[derive(Debug)]
struct Block {
    /// Index of its first event.
    first_event: usize,
    /// Index one past its last event.
    end_event: usize,
    /// Byte offsets in the markdown.
    start: usize,
    end: usize,
    /// An HTML block holding exactly the divider and nothing else.
    is_divider: bool,
    /// Where a divider-like comment stands that is not such a block.
    misplaced_divider_at: Option<usize>,
}

impl Block {
    fn mentions_divider(&self) -> bool {
        self.is_divider || self.misplaced_divider_at.is_some()
    }
}

/// Splits the event stream into its top-level blocks.
fn top_level_blocks(events: &[(Event<'_>, Range<usize>)]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<(usize, usize, String, bool, Option<usize>)> = None;
    for (index, (event, range)) in events.iter().enumerate() {
        let (first, start, html, is_html_block, misplaced) =
            current.get_or_insert_with(|| (index, range.start, String::new(), false, None));
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    *is_html_block = matches!(tag, Tag::HtmlBlock);
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(text) | Event::InlineHtml(text) => {
                if *is_html_block && depth == 1 {
                    html.push_str(text);
                }
                if misplaced.is_none() && looks_like_divider(text) {
                    *misplaced = Some(range.start);
                }
            }
            _ => {}
        }
        if depth == 0 {
            let is_divider = *is_html_block && html.trim() == PAYWALL_DIVIDER;
            blocks.push(Block {
                first_event: *first,
                end_event: index + 1,
                start: *start,
                end: range.end,
                is_divider,
                misplaced_divider_at: if is_divider { None } else { *misplaced },
            });
            current = None;
        }
    }
    blocks
}

/// Any comment that spells the divider, whatever its case or spacing.
fn looks_like_divider(html: &str) -> bool {
    let squeezed: String = html
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    squeezed.contains("<!--paywall")
}

/// The free part of a parse.
enum FreePart {
    /// The first `n` events.
    Events(usize),
    /// The first words of a body whose first block is too long to show whole.
    Words(String),
}

/// Everything before the first block that mentions the divider (a
/// misplaced one included: a preview may end early, never late); without
/// one, leading blocks up to `max_chars`.
fn free_part(markdown: &str, events: &[(Event<'_>, Range<usize>)], max_chars: usize) -> FreePart {
    let blocks = top_level_blocks(events);
    if let Some(divider) = blocks.iter().find(|block| block.mentions_divider()) {
        return FreePart::Events(divider.first_event);
    }
    // Never every block: the last one always stays behind the paywall.
    let candidates = &blocks[..blocks.len().saturating_sub(1)];
    let fitting = candidates
        .iter()
        .take_while(|block| markdown[..block.end].chars().count() <= max_chars)
        .last();
    match fitting {
        Some(block) => FreePart::Events(block.end_event),
        // The first block alone is too long (or the only one): its first words.
        None => FreePart::Words(first_words(markdown, max_chars.min(markdown.chars().count() / 2))),
    }
}

/// The leading words of `text` up to `max_chars`, ending in an ellipsis.
fn first_words(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if out.chars().count() + word.chars().count() + 1 > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if !out.is_empty() {
        out.push('…');
    }
    out
}

/// Plain text of `markdown`, whitespace collapsed, cut at a word boundary.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    excerpt_of(
        Parser::new_ext(markdown, options()).collect::<Vec<_>>().iter(),
        max_chars,
    )
}

fn excerpt_of<'a, 'b: 'a>(events: impl Iterator<Item = &'a Event<'b>>, max_chars: usize) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        collapsed
    } else {
        first_words(&collapsed, max_chars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_stops_at_the_divider() {
        let md = "Free part.\n\n<!-- paywall -->\n\nSECRET part.";
        let r = render(md, 500);
        assert!(r.preview_html.contains("Free part."));
        assert!(!r.preview_html.contains("SECRET"));
        assert!(r.body_html.contains("SECRET"));
        assert!(!r.excerpt.contains("SECRET"));
    }

    #[test]
    fn a_divider_inside_a_code_fence_is_not_a_divider() {
        let md = "Intro.\n\n```\n<!-- paywall -->\n```\n\nMore.\n\nEnd.";
        assert!(preview_part(md, 10_000).starts_with("Intro."));
        assert!(!preview_part(md, 10_000).contains("End."));
    }

    #[test]
    fn without_a_divider_the_preview_is_the_leading_paragraphs() {
        let md = "One one one.\n\nTwo two two.\n\nThree three three.";
        assert_eq!(preview_part(md, 30), "One one one.\n\nTwo two two.");
    }

    #[test]
    fn a_short_article_without_a_divider_still_keeps_its_last_paragraph_back() {
        let md = "First.\n\nLast SECRET.";
        assert_eq!(preview_part(md, 10_000), "First.");
    }

    #[test]
    fn a_single_long_paragraph_is_cut_to_words() {
        let md = "word ".repeat(400);
        let preview = preview_part(&md, 100);
        assert!(preview.chars().count() <= 101, "{}", preview.len());
        assert!(preview.ends_with('…'));
    }

    #[test]
    fn scripts_and_handlers_are_removed_and_links_get_noopener() {
        let html = to_safe_html(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[a](javascript:alert(1)) [b](https://example.com)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
    }

    #[test]
    fn hostile_markdown_is_neutralised() {
        // (case, markdown, must not appear in the body HTML)
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "script tag",
                "<script>alert(1)</script>",
                &["<script", "alert(1)"],
            ),
            (
                "script in a paragraph",
                "Hi <script src=//evil.example/x.js></script> there",
                &["<script", "evil.example"],
            ),
            (
                "javascript: link",
                "[click](javascript:alert(1))",
                &["javascript:"],
            ),
            (
                "javascript: autolink",
                "<javascript:alert(1)>",
                &["href=\"javascript:"],
            ),
            (
                "data: link",
                "[x](data:text/html;base64,PHNjcmlwdD4=)",
                &["data:text/html"],
            ),
            ("event attribute", "<img src=x onerror=alert(1)>", &["onerror"]),
            (
                "event attribute on a link",
                "<a href=\"https://a.example\" onclick=\"steal()\">a</a>",
                &["onclick", "steal()"],
            ),
            (
                "iframe",
                "<iframe src=\"https://evil.example\"></iframe>",
                &["<iframe"],
            ),
            (
                "style tag",
                "<style>body{display:none}</style>",
                &["<style", "display:none"],
            ),
            (
                "svg with script",
                "<svg><script>alert(1)</script></svg>",
                &["<svg", "<script"],
            ),
            (
                "form",
                "<form action=\"https://evil.example\"><input name=p></form>",
                &["<form", "<input"],
            ),
            (
                "html comment",
                "Text <!-- hidden note --> more",
                &["<!--", "hidden note"],
            ),
        ];
        for (case, markdown, forbidden) in cases {
            let html = to_safe_html(markdown);
            for bad in *forbidden {
                assert!(!html.contains(bad), "case {case}: {bad:?} survived in {html:?}");
            }
        }
    }

    #[test]
    fn comments_that_fake_the_divider_never_widen_the_preview() {
        // (case, markdown, the free preview must not contain)
        let secret = "SECRET";
        let cases: &[(&str, String)] = &[
            (
                "divider inline in a paragraph",
                format!("Intro <!-- paywall --> {secret}.\n\nMore {secret}."),
            ),
            (
                "divider with other spacing",
                format!("Intro.\n\n<!--paywall-->\n\n{secret}."),
            ),
            (
                "divider in a code fence",
                format!("Intro.\n\n```\n<!-- paywall -->\n```\n\n{secret}."),
            ),
            (
                "divider after the secret",
                format!("{secret} first.\n\nSecond.\n\n<!-- paywall -->\n\nThird."),
            ),
            (
                "divider inside an HTML block",
                format!("Intro.\n\n<div>\n<!-- paywall -->\n</div>\n\n{secret}."),
            ),
        ];
        for (case, markdown) in cases {
            let rendered = render(markdown, 10);
            assert!(
                rendered.body_html.len() > rendered.preview_html.len(),
                "case {case}: the preview is not shorter"
            );
            if *case != "divider after the secret" {
                assert!(
                    !rendered.preview_html.contains(secret),
                    "case {case}: {}",
                    rendered.preview_html
                );
            }
            assert!(
                !rendered.body_html.contains("<!--"),
                "case {case}: a comment reached the HTML"
            );
        }
    }

    /// Fences the old line-by-line search misread, each hiding the real
    /// divider from it so that the automatic preview took the paid part.
    #[test]
    fn the_divider_is_found_where_commonmark_finds_it() {
        let paid = "SECRET one.\n\nSECRET two.\n\nSECRET three.";
        let cases: &[(&str, &str)] = &[
            ("a longer fence holding a shorter one", "````\n```\n````"),
            ("a tilde fence holding backticks", "~~~\n```\n~~~"),
            (
                "an indented code line that looks like a fence",
                "    ```\n    code",
            ),
            (
                "a fence opener with an info string closed by a longer fence",
                "```rust\nlet a = 1;\n`````",
            ),
            (
                "inline code that starts a line with backticks",
                "```not a fence``` but inline",
            ),
        ];
        for (case, before) in cases {
            let markdown = format!("Intro.\n\n{before}\n\n{PAYWALL_DIVIDER}\n\n{paid}");
            assert!(check_divider(&markdown).is_ok(), "case {case}");
            assert!(
                divider_offset(&markdown).is_some(),
                "case {case}: no divider found"
            );
            let rendered = render(&markdown, 100_000);
            assert!(
                !rendered.preview_html.contains("SECRET"),
                "case {case}: {}",
                rendered.preview_html
            );
            assert!(!rendered.excerpt.contains("SECRET"), "case {case}");
            assert!(
                !preview_part(&markdown, 100_000).contains("SECRET"),
                "case {case}"
            );
            assert!(rendered.body_html.contains("SECRET three."), "case {case}");
        }
    }

    #[test]
    fn a_divider_like_comment_that_is_not_a_block_of_its_own_is_refused_with_its_line() {
        // (case, markdown, line of the comment)
        let cases: &[(&str, &str, usize)] = &[
            (
                "inline in a paragraph",
                "Intro.\n\nMore <!-- paywall --> SECRET.",
                3,
            ),
            ("other spacing", "Intro.\n\n<!--paywall-->\n\nSECRET.", 3),
            ("upper case", "Intro.\n\n<!-- PAYWALL -->\n\nSECRET.", 3),
            (
                "inside a list",
                "Intro.\n\n- one\n\n  <!-- paywall -->\n\n  SECRET",
                5,
            ),
            ("inside a quote", "Intro.\n\n> <!-- paywall -->\n> SECRET", 3),
            (
                "inside an HTML block",
                "Intro.\n\n<div>\n<!-- paywall -->\n</div>\n\nSECRET.",
                4,
            ),
            (
                "text after it on its line",
                "Intro.\n\n<!-- paywall --> SECRET\n\nMore.",
                3,
            ),
            (
                "a second, misplaced one",
                "Intro.\n\n<!-- paywall -->\n\nPaid <!-- paywall --> x.",
                5,
            ),
        ];
        for (case, markdown, line) in cases {
            let refused = check_divider(markdown).expect_err(case);
            assert_eq!(refused.line, *line, "case {case}");
            assert!(
                !render(markdown, 100_000).preview_html.contains("SECRET"),
                "case {case}: even unsaved, the preview stops before it"
            );
        }
    }

    #[test]
    fn a_divider_shown_as_code_is_text_not_a_divider() {
        let markdown = "Write this:\n\n```\n<!-- paywall -->\n```\n\nor `<!-- paywall -->` inline.";
        assert_eq!(check_divider(markdown), Ok(()));
        assert_eq!(divider_offset(markdown), None);
    }

    #[test]
    fn tables_footnotes_strikethrough_and_smart_quotes_render() {
        let html = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ \"quoted\"[^1]\n\n[^1]: note");
        assert!(html.contains("<table>"));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains('“'));
        assert!(html.contains("footnote"), "{html}");
    }
}
