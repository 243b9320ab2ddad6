//! Search as a reader may do it: matches in what everyone may read, and
//! matches in whole bodies only where the access policy lets this reader
//! read them (see `db::search` for the engines).

use std::sync::Arc;

use super::{ReadableArticle, Who};
use crate::{
    cache::SearchMatches,
    db::{self, articles},
    domain::{
        access::{Access, Passes},
        search::SearchQuery,
    },
    state::AppState,
};

/// The most results one search answers (best first).
pub const SEARCH_LIMIT: i64 = 50;

/// One search result: the article as the reader may see it, and a snippet
/// (safe HTML, matches in `<mark>`) cut only from text they may read.
pub struct SearchResult {
    pub readable: ReadableArticle,
    pub snippet_html: String,
}

/// What a reader's search found.
pub struct Searched {
    /// The results this reader may see, best first.
    pub results: Vec<SearchResult>,
    /// The load they were decided from (the same for every reader).
    pub matches: crate::cache::SearchLoad,
}

/// Live posts and pages matching `query`, best first, searched only in what
/// `who` may read: everyone's matches come from titles, tags, authors and
/// free previews; a match in the rest of a body counts only where the
/// access policy lets this reader read that body in full, and only then
/// may its snippet quote it. Nothing is opened (no metered read is spent).
/// The matches are the same for every reader and come through the read
/// cache (`ReadCache::search`); each reader's decisions are made here.
pub async fn search(state: &AppState, who: Who<'_>, query: SearchQuery) -> anyhow::Result<Searched> {
    let load = async {
        let query = query.clone();
        db::run(&state.pool, move |conn| {
            let now = db::now();
            let open = db::search::open_matches(conn, &query, now, SEARCH_LIMIT)?;
            let full = db::search::full_matches(conn, &query, now, SEARCH_LIMIT)?;
            let mut ids: Vec<i32> = open.iter().map(|hit| hit.article_id).collect();
            ids.extend(
                full.iter()
                    .map(|hit| hit.article_id)
                    .filter(|id| !ids.contains(id))
                    .collect::<Vec<_>>(),
            );
            let articles = articles::load_in_order(conn, &ids)?
                .into_iter()
                .map(Arc::new)
                .collect();
            Ok(Arc::new(SearchMatches { open, full, articles }))
        })
        .await
    };
    let found = state.read_cache.search(&query.fts5(), load).await?;
    let (open, full) = (&found.open, &found.full);
    let mut results: Vec<(f64, SearchResult)> = found
        .articles
        .iter()
        .filter_map(|article| {
            let id = article.row.id;
            let readable = ReadableArticle::decide(article.clone(), who.reader, Passes::default(), state);
            let in_body = full.iter().find(|hit| hit.article_id == id);
            let in_open = open.iter().find(|hit| hit.article_id == id);
            let (rank, snippet) = match (readable.access, in_body, in_open) {
                (Access::Full { proof, .. }, Some(hit), _) => (hit.rank, hit.snippet(proof).to_owned()),
                (_, _, Some(hit)) => (hit.rank, hit.snippet.clone()),
                // Found only in a body this reader may not read.
                (_, _, None) => return None,
            };
            let snippet_html = crate::domain::search::snippet_html(&snippet);
            Some((
                rank,
                SearchResult {
                    readable,
                    snippet_html,
                },
            ))
        })
        .collect();
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(Searched {
        results: results.into_iter().map(|(_, result)| result).collect(),
        matches: found,
    })
}
