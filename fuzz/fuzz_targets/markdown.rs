//! The markdown renderer and sanitizer: whatever an editor (or a stolen API
//! key) writes, the stored HTML carries no script, event handler or
//! `javascript:` URL.
#![no_main]

use broadsheet::domain::markdown::render;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|markdown: &str| {
    let rendered = render(markdown, 600, &Default::default());
    for html in [&rendered.body_html, &rendered.preview_html] {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "a script tag survived: {html}");
        assert!(!has_script_url(&lower), "a script URL survived: {html}");
        assert!(!lower.contains("<iframe"), "an iframe survived: {html}");
        assert!(!has_event_handler(&lower), "an event handler survived: {html}");
    }
});

/// A link or source whose URL would run script. Text may mention
/// `javascript:` freely; only attribute values are URLs.
fn has_script_url(html: &str) -> bool {
    ["href=\"", "src=\"", "action=\"", "formaction=\""]
        .iter()
        .any(|attribute| {
            html.match_indices(attribute).any(|(at, _)| {
                // Only inside a tag: text is escaped (`&lt;`), so a literal
                // `<` after the last `>` means the attribute is a tag's.
                let before = &html[..at];
                if before.rfind('<') <= before.rfind('>') {
                    return false;
                }
                let value = &html[at + attribute.len()..];
                let value = &value[..value.find('"').unwrap_or(value.len())];
                // As the WHATWG URL parser reads it: leading and trailing C0
                // controls and spaces dropped, tabs and newlines removed
                // anywhere; any other control character ends the scheme, which
                // makes the URL relative (harmless).
                let scheme: String = value
                    .trim_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .take(16)
                    .collect();
                ["javascript:", "vbscript:", "data:text/html"]
                    .iter()
                    .any(|bad| scheme.starts_with(bad))
            })
        })
}

/// An ` onclick=`-style attribute name inside a tag (quoted values, which
/// may say anything, are skipped).
fn has_event_handler(html: &str) -> bool {
    let (mut in_tag, mut quote) = (false, None);
    for (i, c) in html.char_indices() {
        match (in_tag, quote, c) {
            (_, Some(q), c) if c == q => quote = None,
            (_, Some(_), _) => {}
            (false, None, '<') => in_tag = true,
            (true, None, '>') => in_tag = false,
            (true, None, '"' | '\'') => quote = Some(c),
            (true, None, c) if c.is_ascii_whitespace() => {
                let rest = &html[i + 1..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                if name.len() > 2 && name.starts_with("on") && rest[name.len()..].starts_with('=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}
