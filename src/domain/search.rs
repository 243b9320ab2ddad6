//! What a reader typed into the search box, as words both databases' full
//! text engines take safely. Nothing typed reaches either engine's query
//! syntax: words are letters and digits only, each quoted (SQLite FTS5) or
//! joined with `&` (PostgreSQL `to_tsquery`), the last one as a prefix so
//! results come while a word is half typed.

use crate::domain::InvalidInput;

/// Longer queries are refused (400), not cut: nobody types this much.
pub const MAX_QUERY_CHARS: usize = 300;
/// Words beyond these are ignored.
pub const MAX_WORDS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Lowercase, letters and digits only, each once, in order.
    words: Vec<String>,
}

impl SearchQuery {
    /// `Ok(None)` when nothing searchable was typed (only spaces or
    /// punctuation): an empty result, not an error.
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidInput> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidInput::new(
                "q",
                format!("a search is at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut words: Vec<String> = Vec::new();
        for word in raw.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if !word.is_empty() && !words.contains(&word) && words.len() < MAX_WORDS {
                words.push(word);
            }
        }
        Ok((!words.is_empty()).then_some(Self { words }))
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// An FTS5 query: every word (the last as a prefix), in any column.
    /// Quoted words cannot be read as FTS5 operators or column names.
    pub fn fts5(&self) -> String {
        let last = self.words.len() - 1;
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == last {
                    format!("\"{w}\"*")
                } else {
                    format!("\"{w}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A `to_tsquery('simple', …)` query: every word, the last as a prefix.
    pub fn tsquery(&self) -> String {
        let last = self.words.len() - 1;
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == last { format!("{w}:*") } else { w.clone() })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// Where a snippet's highlighted words start and end, as the databases
/// return them: characters no text contains (Unicode private use), so the
/// snippet can be escaped as a whole and the marks put back as HTML.
pub const MARK_START: char = '\u{E000}';
pub const MARK_END: char = '\u{E001}';

/// A snippet from the database as safe HTML: escaped, with `<mark>` around
/// the words that matched.
pub fn snippet_html(raw: &str) -> String {
    let mut html = String::with_capacity(raw.len() + 32);
    for c in raw.chars() {
        match c {
            MARK_START => html.push_str("<mark>"),
            MARK_END => html.push_str("</mark>"),
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_punctuation_never_reach_the_engines() {
        let q = SearchQuery::parse(r#"rust* OR "title": NEAR(a b) -x AND ^y"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            q.words(),
            ["rust", "or", "title", "near", "a", "b", "x", "and", "y"]
        );
        assert_eq!(q.fts5(), r#""rust" "or" "title" "near" "a" "b" "x" "and" "y"*"#);
        assert_eq!(q.tsquery(), "rust & or & title & near & a & b & x & and & y:*");
    }

    #[test]
    fn words_in_any_script_are_kept_lowercased_once_each() {
        let q = SearchQuery::parse("Café café ПРИВЕТ 東京").unwrap().unwrap();
        assert_eq!(q.words(), ["café", "привет", "東京"]);
    }

    #[test]
    fn nothing_searchable_is_no_query_and_too_long_is_refused() {
        assert_eq!(SearchQuery::parse("  ?! -- ").unwrap(), None);
        assert!(SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let raw = format!("a <b> & {MARK_START}rust{MARK_END}");
        assert_eq!(snippet_html(&raw), "a &lt;b&gt; &amp; <mark>rust</mark>");
    }
}
