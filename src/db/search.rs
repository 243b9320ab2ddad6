//! The search index: SQLite FTS5 (`search_index`, rowid = article id) or
//! PostgreSQL full-text search (`search_documents`, two GIN-indexed
//! vectors). The engines differ, so each backend has its SQL here; both take
//! the same parsed query (`domain::search::SearchQuery`) and answer the same
//! rows. Only live articles on the site are found (read from `articles` at
//! query time).

use diesel::{
    prelude::*,
    sql_types::{Bool, Double, Integer, Text, Timestamp},
};
use time::PrimitiveDateTime;

use crate::db::{DbConnection, articles::SearchText};
use crate::domain::{
    access,
    search::{MARK_END, MARK_START, SearchQuery},
};

/// Writes (or rewrites) an article's row.
pub fn put(conn: &mut DbConnection, article_id: i32, text: &SearchText) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::sql_query("DELETE FROM search_index WHERE rowid = ?")
                .bind::<Integer, _>(article_id)
                .execute(c)?;
            diesel::sql_query(
                "INSERT INTO search_index (rowid, title, tags, authors, preview, body) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind::<Integer, _>(article_id)
            .bind::<Text, _>(&text.title)
            .bind::<Text, _>(&text.tags)
            .bind::<Text, _>(&text.authors)
            .bind::<Text, _>(&text.preview)
            .bind::<Text, _>(&text.body)
            .execute(c)?;
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(
                "INSERT INTO search_documents (article_id, title, tags, authors, preview, body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (article_id) DO UPDATE SET \
                 title = EXCLUDED.title, tags = EXCLUDED.tags, authors = EXCLUDED.authors, \
                 preview = EXCLUDED.preview, body = EXCLUDED.body",
            )
            .bind::<Integer, _>(article_id)
            .bind::<Text, _>(&text.title)
            .bind::<Text, _>(&text.tags)
            .bind::<Text, _>(&text.authors)
            .bind::<Text, _>(&text.preview)
            .bind::<Text, _>(&text.body)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Removes a deleted article's row (PostgreSQL's goes with the article by
/// its foreign key; an FTS5 table has none).
pub fn remove(conn: &mut DbConnection, article_id: i32) -> QueryResult<()> {
    let sql = match conn {
        DbConnection::Sqlite(_) => "DELETE FROM search_index WHERE rowid = ?1",
        DbConnection::Postgres(_) => "DELETE FROM search_documents WHERE article_id = $1",
    };
    crate::per_backend!(conn, |c| diesel::sql_query(sql)
        .bind::<Integer, _>(article_id)
        .execute(c))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Integer)]
    id: i32,
}

/// Articles without a row (saved before the index existed).
pub fn unindexed(conn: &mut DbConnection) -> QueryResult<Vec<i32>> {
    let sql = match conn {
        DbConnection::Sqlite(_) => "SELECT id FROM articles WHERE id NOT IN (SELECT rowid FROM search_index)",
        DbConnection::Postgres(_) => {
            "SELECT id FROM articles a WHERE NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.article_id = a.id)"
        }
    };
    let ids: Vec<Id> = crate::per_backend!(conn, |c| diesel::sql_query(sql).load(c))?;
    Ok(ids.into_iter().map(|row| row.id).collect())
}

/// A match in what everyone may read of an article: its title, tags,
/// authors and free preview; the snippet is cut from the preview.
#[derive(Debug, Clone)]
pub struct OpenHit {
    pub article_id: i32,
    /// Higher is better.
    pub rank: f64,
    pub snippet: String,
}

/// A match anywhere in an article, its whole body included. The snippet may
/// quote any of the body, so it is had only with the proof a `Full` access
/// decision carries, like the body itself.
#[derive(Debug, Clone)]
pub struct FullHit {
    pub article_id: i32,
    pub rank: f64,
    snippet: String,
}

impl FullHit {
    pub fn snippet(&self, _proof: access::FullBody) -> &str {
        &self.snippet
    }
}

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = Integer)]
    article_id: i32,
    #[diesel(sql_type = Double)]
    rank: f64,
    #[diesel(sql_type = Text)]
    snippet: String,
}

/// Which text a search reads.
#[derive(Clone, Copy)]
enum Scope {
    /// Title, tags, authors and the free preview.
    Open,
    /// Title, tags, authors and the whole body.
    Full,
}

/// The best `limit` live articles matching `query` in what everyone may read.
pub fn open_matches(
    conn: &mut DbConnection,
    query: &SearchQuery,
    now: PrimitiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OpenHit>> {
    Ok(matches(conn, query, Scope::Open, now, limit)?
        .into_iter()
        .map(|row| OpenHit {
            article_id: row.article_id,
            rank: row.rank,
            snippet: row.snippet,
        })
        .collect())
}

/// The best `limit` live articles matching `query` anywhere, bodies
/// included: candidates, for the access policy to keep or drop one by one.
pub fn full_matches(
    conn: &mut DbConnection,
    query: &SearchQuery,
    now: PrimitiveDateTime,
    limit: i64,
) -> QueryResult<Vec<FullHit>> {
    Ok(matches(conn, query, Scope::Full, now, limit)?
        .into_iter()
        .map(|row| FullHit {
            article_id: row.article_id,
            rank: row.rank,
            snippet: row.snippet,
        })
        .collect())
}

/// Live on the site, as `articles::live_on_site` says it, with `now` and
/// `true` as the second and third parameters (SQLite numbers them `?N`:
/// its `$N` are names, numbered by first appearance).
const LIVE_SQLITE: &str =
    "a.status IN ('published', 'scheduled') AND a.published_at <= ?2 AND a.on_site = ?3";
const LIVE_POSTGRES: &str =
    "a.status IN ('published', 'scheduled') AND a.published_at <= $2 AND a.on_site = $3";

fn matches(
    conn: &mut DbConnection,
    query: &SearchQuery,
    scope: Scope,
    now: PrimitiveDateTime,
    limit: i64,
) -> QueryResult<Vec<HitRow>> {
    let (start, end) = (MARK_START.to_string(), MARK_END.to_string());
    match conn {
        DbConnection::Sqlite(c) => {
            // Column 3 is `preview`, 4 is `body`; a column filter keeps the
            // other out of the match.
            let (columns, snippet_column) = match scope {
                Scope::Open => ("{title tags authors preview}", 3),
                Scope::Full => ("{title tags authors body}", 4),
            };
            let sql = format!(
                "SELECT search_index.rowid AS article_id, \
                 -bm25(search_index, 10.0, 5.0, 5.0, 1.0, 1.0) AS rank, \
                 snippet(search_index, {snippet_column}, ?5, ?6, '…', 24) AS snippet \
                 FROM search_index JOIN articles a ON a.id = search_index.rowid \
                 WHERE search_index MATCH ?1 AND {LIVE_SQLITE} ORDER BY rank DESC LIMIT ?4"
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(format!("{columns} : ({})", query.fts5()))
                .bind::<Timestamp, _>(now)
                .bind::<Bool, _>(true)
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .bind::<Text, _>(start)
                .bind::<Text, _>(end)
                .load(c)
        }
        DbConnection::Postgres(c) => {
            let (vector, text) = match scope {
                Scope::Open => ("d.open_vector", "d.preview"),
                Scope::Full => ("d.full_vector", "d.body"),
            };
            let sql = format!(
                "SELECT d.article_id, ts_rank({vector}, q)::float8 AS rank, \
                 ts_headline('simple', {text}, q, $5) AS snippet \
                 FROM search_documents d JOIN articles a ON a.id = d.article_id, \
                 to_tsquery('simple', $1) q \
                 WHERE {vector} @@ q AND {LIVE_POSTGRES} ORDER BY rank DESC, d.article_id DESC LIMIT $4"
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(query.tsquery())
                .bind::<Timestamp, _>(now)
                .bind::<Bool, _>(true)
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .bind::<Text, _>(format!(
                    "StartSel={start}, StopSel={end}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \""
                ))
                .load(c)
        }
    }
}
