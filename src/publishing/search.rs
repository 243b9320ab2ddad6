//! Keeping the search index in step with the articles: every save writes
//! the article's row (title, tags, authors, the free text and the whole
//! text), a deletion removes it, and a renamed tag or author rewrites the
//! rows that carry the old name. Publishing and unpublishing change nothing
//! here: searches read which articles are live from `articles`.

use crate::db::{self, DbConnection, articles};

/// Writes the rows of these articles as they are now.
pub fn reindex(conn: &mut DbConnection, article_ids: &[i32], preview_chars: usize) -> anyhow::Result<()> {
    for chunk in article_ids.chunks(200) {
        for article in articles::load_in_order(conn, chunk)? {
            db::search::put(conn, article.row.id, &article.search_text(preview_chars))?;
        }
    }
    Ok(())
}

/// Writes the rows of articles saved before the index existed (run at
/// start; nothing to do after the first time).
pub async fn index_unindexed(pool: &db::Pool, preview_chars: usize) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        let missing = db::search::unindexed(conn)?;
        db::write_transaction(conn, |conn| reindex(conn, &missing, preview_chars))?;
        if !missing.is_empty() {
            tracing::info!(articles = missing.len(), "indexed articles for search");
        }
        Ok(missing.len())
    })
    .await
}
