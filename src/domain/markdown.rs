//! Markdown → sanitized HTML, and the split between the free preview and the
//! rest. Rendered once when an article is saved, never per request.

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::media::{self, ARTICLE_IMAGE_SIZES, StoredImage};

/// The stored images an article shows, by key, so the renderer can give
/// each its width, height and narrower copies.
pub type KnownImages = std::collections::HashMap<String, StoredImage>;

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
pub fn render(markdown: &str, preview_chars: usize, images: &KnownImages) -> Rendered {
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(markdown, options()).into_offset_iter().collect();
    let html_of = |events: &[(Event<'_>, Range<usize>)]| {
        let events = with_sized_images(events.iter().map(|(e, _)| e.clone()), images);
        events_to_safe_html(events, markdown.len())
    };
    let body_html = html_of(&events);
    let (preview_html, excerpt) = match free_part(markdown, &events, preview_chars) {
        FreePart::Events(count) => (
            html_of(&events[..count]),
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

/// The keys of the stored images (`/media/…`) that `markdown` shows.
pub fn media_keys(markdown: &str) -> Vec<String> {
    let mut keys: Vec<String> = Parser::new_ext(markdown, options())
        .filter_map(|event| match event {
            Event::Start(Tag::Image { dest_url, .. }) => media::key_in_path(&dest_url).map(str::to_owned),
            _ => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Every image as one `<img>` that loads lazily; a stored one also gets
/// its width and height (no layout shift) and its narrower copies
/// (`srcset`/`sizes`). Its alt text is the text in the markdown's brackets
/// (tags left out).
fn with_sized_images<'a>(
    events: impl Iterator<Item = Event<'a>>,
    images: &KnownImages,
) -> impl Iterator<Item = Event<'a>> {
    let mut events = events.peekable();
    std::iter::from_fn(move || {
        let event = events.next()?;
        let Event::Start(Tag::Image { dest_url, title, .. }) = event else {
            return Some(event);
        };
        let mut alt = String::new();
        let mut depth = 0;
        for inner in events.by_ref() {
            match inner {
                Event::Start(Tag::Image { .. }) => depth += 1,
                Event::End(TagEnd::Image) if depth == 0 => break,
                Event::End(TagEnd::Image) => depth -= 1,
                Event::Text(text) | Event::Code(text) => alt.push_str(&text),
                Event::SoftBreak | Event::HardBreak => alt.push(' '),
                _ => {}
            }
        }
        let stored = media::key_in_path(&dest_url).and_then(|key| images.get(key));
        Some(Event::InlineHtml(CowStr::from(img_tag(
            &dest_url, &alt, &title, stored,
        ))))
    })
}

fn img_tag(src: &str, alt: &str, title: &str, stored: Option<&StoredImage>) -> String {
    let mut tag = format!(
        r#"<img src="{}" alt="{}""#,
        escape_markup(src),
        escape_markup(alt)
    );
    if !title.is_empty() {
        tag.push_str(&format!(r#" title="{}""#, escape_markup(title)));
    }
    if let Some(image) = stored {
        tag.push_str(&format!(r#" width="{}" height="{}""#, image.width, image.height));
        if !image.variants.is_empty() {
            tag.push_str(&format!(
                r#" srcset="{}" sizes="{ARTICLE_IMAGE_SIZES}""#,
                escape_markup(&image.srcset())
            ));
        }
    }
    tag.push_str(r#" loading="lazy" decoding="async">"#);
    tag
}

/// Text escaped for HTML or XML: as element content or inside a
/// double-quoted attribute.
pub fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
/// link up and be styled, and what sized images carry. ammonia checks
/// `src` but not `srcset`, so a `srcset` stays only when every address in
/// it is one of our stored files.
static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = with_footnotes();
    builder
        .add_tag_attributes("img", ["srcset", "sizes", "loading", "decoding", "title"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "srcset") => only_stored_sources(value).then_some(value.into()),
            ("img", "loading") => (value == "lazy").then_some(value.into()),
            ("img", "decoding") => (value == "async").then_some(value.into()),
            ("img", "sizes") => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " (),:-.%".contains(c))
                .then_some(value.into()),
            _ => Some(value.into()),
        });
    builder
});

fn only_stored_sources(srcset: &str) -> bool {
    srcset.split(',').all(|candidate| {
        let mut parts = candidate.split_whitespace();
        let url_ok = parts.next().is_some_and(|url| media::key_in_path(url).is_some());
        let width_ok = parts
            .next()
            .is_none_or(|w| w.strip_suffix('w').is_some_and(|n| n.parse::<u32>().is_ok()));
        url_ok && width_ok && parts.next().is_none()
    })
}

/// A body as an email carries it: links and images absolute under `base`
/// (mail clients have no page to resolve `/p/…` against), and without
/// the attributes mail clients ignore or mishandle (`srcset`, `loading`).
pub fn for_email(html: &str, base: &url::Url) -> String {
    let mut builder = with_footnotes();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
    builder.clean(html).to_string()
}

/// ammonia's defaults and what footnotes need to link up and be styled.
fn with_footnotes() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tag_attributes("div", ["id"])
        .add_allowed_classes("div", ["footnote-definition"])
        .add_allowed_classes("sup", ["footnote-reference", "footnote-definition-label"]);
    builder
}

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
        let r = render(md, 500, &KnownImages::new());
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
            let rendered = render(markdown, 10, &KnownImages::new());
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
            let rendered = render(&markdown, 100_000, &KnownImages::new());
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
                !render(markdown, 100_000, &KnownImages::new())
                    .preview_html
                    .contains("SECRET"),
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
    fn a_stored_image_gets_its_size_and_copies_and_every_image_loads_lazily() {
        let hash = "ab".repeat(32);
        let key = format!("{hash}.jpg");
        let images = KnownImages::from([(
            key.clone(),
            StoredImage {
                key: key.clone(),
                width: 1300,
                height: 800,
                variants: vec![crate::domain::media::Variant {
                    key: format!("{hash}-600w.webp"),
                    width: 600,
                    height: 369,
                    bytes: 1,
                }],
            },
        )]);
        let markdown = format!(
            "![A *red* door & <b>frame</b>](/media/{key} \"Title\")\n\n![far](https://example.com/a.png)"
        );
        assert_eq!(media_keys(&markdown), vec![key.clone()]);
        let html = render(&markdown, 10_000, &images).body_html;
        assert!(html.contains(&format!(r#"src="/media/{key}""#)), "{html}");
        assert!(html.contains(r#"alt="A red door &amp; frame""#), "{html}");
        assert!(html.contains(r#"width="1300" height="800""#), "{html}");
        assert!(
            html.contains(&format!(
                r#"srcset="/media/{hash}-600w.webp 600w, /media/{key} 1300w""#
            )),
            "{html}"
        );
        assert!(
            html.contains(r#"sizes="(max-width: 720px) 100vw, 672px""#),
            "{html}"
        );
        assert_eq!(html.matches(r#"loading="lazy""#).count(), 2, "{html}");
        assert!(
            html.contains(
                r#"<img src="https://example.com/a.png" alt="far" loading="lazy" decoding="async">"#
            ),
            "{html}"
        );
    }

    #[test]
    fn a_srcset_written_by_hand_stays_only_when_it_names_our_files() {
        let hash = "cd".repeat(32);
        let ours = format!(r#"<img src="/media/{hash}.png" srcset="/media/{hash}-600w.webp 600w">"#);
        let theirs = r#"<img src="/x.png" srcset="https://tracker.example/p.gif 1w" loading="eager">"#;
        let html = to_safe_html(&format!("{ours}\n\n{theirs}"));
        assert!(
            html.contains(&format!(r#"srcset="/media/{hash}-600w.webp 600w""#)),
            "{html}"
        );
        assert!(!html.contains("tracker") && !html.contains("eager"), "{html}");
    }

    #[test]
    fn an_email_body_has_absolute_links_and_no_srcset() {
        let base = url::Url::parse("https://news.example/").unwrap();
        let html = for_email(
            r#"<p><a href="/p/next">next</a> <img src="/media/x.jpg" srcset="/media/y 600w" loading="lazy"></p>"#,
            &base,
        );
        assert!(html.contains(r#"href="https://news.example/p/next""#), "{html}");
        assert!(
            html.contains(r#"src="https://news.example/media/x.jpg""#),
            "{html}"
        );
        assert!(!html.contains("srcset") && !html.contains("loading"), "{html}");
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
