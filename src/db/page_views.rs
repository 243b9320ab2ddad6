//! Stored page views: one row per article and day (`page_views.rs` keeps
//! the tally between writes).

use diesel::{prelude::*, upsert::excluded};
use time::Date;

use crate::db::{DbConnection, schema::article_views};
use crate::per_backend;

/// Adds each (article, day, views) to what is stored, in one statement per
/// row inside the caller's transaction. Articles deleted since are skipped.
pub fn add(conn: &mut DbConnection, tally: &[(i32, Date, i64)]) -> QueryResult<usize> {
    let mut stored = 0;
    for &(article_id, day, views) in tally {
        let exists: bool = diesel::select(diesel::dsl::exists(
            crate::db::schema::articles::table.find(article_id),
        ))
        .get_result(conn)?;
        if !exists {
            continue;
        }
        let views = i32::try_from(views).unwrap_or(i32::MAX);
        stored += per_backend!(conn, |c| diesel::insert_into(article_views::table)
            .values((
                article_views::article_id.eq(article_id),
                article_views::day.eq(day),
                article_views::views.eq(views),
            ))
            .on_conflict((article_views::article_id, article_views::day))
            .do_update()
            .set(article_views::views.eq(article_views::views + excluded(article_views::views)))
            .execute(c))?;
    }
    Ok(stored)
}

/// An article's views per day, oldest first.
pub fn of_article(conn: &mut DbConnection, article_id: i32) -> QueryResult<Vec<(Date, i64)>> {
    let rows: Vec<(Date, i32)> = article_views::table
        .filter(article_views::article_id.eq(article_id))
        .order(article_views::day)
        .select((article_views::day, article_views::views))
        .load(conn)?;
    Ok(rows.into_iter().map(|(day, n)| (day, i64::from(n))).collect())
}

/// All articles' views per day from `from` to `to` (both included).
pub fn per_day(conn: &mut DbConnection, from: Date, to: Date) -> QueryResult<Vec<(Date, i64)>> {
    let rows: Vec<(Date, Option<i64>)> = article_views::table
        .filter(article_views::day.between(from, to))
        .group_by(article_views::day)
        .select((article_views::day, diesel::dsl::sum(article_views::views)))
        .order(article_views::day)
        .load(conn)?;
    Ok(rows.into_iter().map(|(day, n)| (day, n.unwrap_or(0))).collect())
}
