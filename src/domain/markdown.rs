//! Markdown → sanitized HTML, and the split between the free preview and the
//! rest. Rendered once when an article is saved, never per request.

use pulldown_cmark::{Event, Options, Parser};

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
/// paragraphs up to `preview_chars` characters.
pub fn render(markdown: &str, preview_chars: usize) -> Rendered {
    let preview_markdown = preview_part(markdown, preview_chars);
    Rendered {
        body_html: to_safe_html(markdown),
        preview_html: to_safe_html(&preview_markdown),
        excerpt: excerpt(&preview_markdown, 200),
    }
}

/// Markdown to HTML, then through ammonia: no scripts, no event handlers, no
/// `javascript:` links, `rel="noopener noreferrer"` on links.
pub fn to_safe_html(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, options()));
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

/// The free part of the markdown: everything before the divider when there is
/// one; otherwise whole top-level blocks up to `max_chars`, never all of them.
pub fn preview_part(markdown: &str, max_chars: usize) -> String {
    if let Some(at) = divider_line_offset(markdown) {
        return markdown[..at].trim_end().to_owned();
    }
    let mut block_ends = Vec::new();
    let mut depth = 0usize;
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    block_ends.push(range.end);
                }
            }
            _ => {}
        }
    }
    leading_blocks(markdown, &block_ends, max_chars)
}

/// Where the divider line starts: a line of its own, outside code fences.
fn divider_line_offset(markdown: &str) -> Option<usize> {
    let mut offset = 0;
    let mut in_fence = false;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence && trimmed == PAYWALL_DIVIDER {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

fn leading_blocks(markdown: &str, block_ends: &[usize], max_chars: usize) -> String {
    // Never every block: the last one always stays behind the paywall.
    let candidates = &block_ends[..block_ends.len().saturating_sub(1)];
    let fitting = candidates
        .iter()
        .take_while(|&&end| markdown[..end].chars().count() <= max_chars)
        .last();
    match fitting {
        Some(&end) => markdown[..end].trim_end().to_owned(),
        // The first block alone is too long (or the only one): its first words.
        None => first_words(markdown, max_chars.min(markdown.chars().count() / 2)),
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
    let mut text = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
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

    #[test]
    fn tables_footnotes_strikethrough_and_smart_quotes_render() {
        let html = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ \"quoted\"[^1]\n\n[^1]: note");
        assert!(html.contains("<table>"));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains('“'));
        assert!(html.contains("footnote"), "{html}");
    }
}
