//! Bulk seeding for the benchmark (`broadsheet-bench`): tens of thousands of
//! members and articles in a few multi-row statements, far faster than the
//! product's one-at-a-time paths. Nothing in the product calls these.

use std::ops::Range;

use diesel::prelude::*;

use crate::{
    db::{DbConnection, schema},
    domain::markdown::Rendered,
};

/// What to seed.
pub struct BenchPlan<'a> {
    pub members: usize,
    pub articles: usize,
    /// The first `logins` members get `password_hash` (the login storm).
    pub logins: usize,
    pub password_hash: &'a str,
    /// The session of member 0, an active subscriber.
    pub session_token_hash: &'a str,
    /// Every article's body, with `rendered` its rendering.
    pub markdown: &'a str,
    pub rendered: &'a Rendered,
}

/// The topics of the seeded articles: article `i` is about
/// `BENCH_TOPICS[i % 10]`, in its title and as its tag (slug and name).
pub const BENCH_TOPICS: [&str; 10] = [
    "harbour", "orchard", "ferry", "glacier", "market", "lantern", "quarry", "meadow", "tramway", "foundry",
];

/// An editor, `members` verified readers (`member{i}@bench.test`; member 0 an
/// active subscriber signed in with `session_token_hash`) and `articles`
/// published articles (`bench-{i}`, paid, public and members in turn, each
/// titled and tagged with its topic from `BENCH_TOPICS`). Returns the
/// editor's id.
pub fn bench_data(conn: &mut DbConnection, plan: &BenchPlan<'_>) -> QueryResult<i32> {
    use schema::{sessions as s, subscriptions as sub, users as u};
    let now = crate::db::now();
    diesel::insert_into(u::table)
        .values((
            u::email.eq("editor@bench.test"),
            u::role.eq("editor"),
            u::name.eq("Bench Editor"),
            u::created_at.eq(now),
        ))
        .execute(conn)?;
    let editor_id: i32 = u::table
        .filter(u::email.eq("editor@bench.test"))
        .select(u::id)
        .first(conn)?;
    super::authors::ensure_profile(conn, editor_id, now)?;
    add_bench_members(conn, 0..plan.members.max(1), plan)?;
    let subscriber: i32 = u::table
        .filter(u::email.eq("member0@bench.test"))
        .select(u::id)
        .first(conn)?;
    diesel::insert_into(sub::table)
        .values((
            sub::user_id.eq(subscriber),
            sub::stripe_subscription_id.eq("sub_bench"),
            sub::status.eq("active"),
            sub::price_id.eq("price_bench"),
            sub::current_period_end.eq(Some(now + time::Duration::days(30))),
            sub::stripe_updated_at.eq(now),
            sub::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(s::table)
        .values((
            s::token_hash.eq(plan.session_token_hash),
            s::user_id.eq(subscriber),
            s::created_at.eq(now),
            s::expires_at.eq(now + time::Duration::days(1)),
            s::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    let topics: Vec<_> = BENCH_TOPICS
        .iter()
        .map(|topic| {
            (
                schema::tags::slug.eq(*topic),
                schema::tags::name.eq(*topic),
                schema::tags::created_at.eq(now),
                schema::tags::updated_at.eq(now),
            )
        })
        .collect();
    crate::per_backend!(conn, |c| diesel::insert_into(schema::tags::table)
        .values(&topics)
        .execute(c))?;
    add_bench_articles(conn, 0..plan.articles, editor_id, plan)?;
    Ok(editor_id)
}

/// Readers `member{i}@bench.test` for each `i` in `numbers` (the scaling
/// runs grow the membership between measurements).
pub fn add_bench_members(
    conn: &mut DbConnection,
    numbers: Range<usize>,
    plan: &BenchPlan<'_>,
) -> QueryResult<()> {
    use schema::users as u;
    let now = crate::db::now();
    for start in numbers.clone().step_by(2000) {
        let rows: Vec<_> = (start..(start + 2000).min(numbers.end))
            .map(|i| {
                (
                    u::email.eq(format!("member{i}@bench.test")),
                    u::role.eq("reader"),
                    u::email_verified_at.eq(Some(now)),
                    u::password_hash.eq((i < plan.logins).then(|| plan.password_hash.to_owned())),
                    u::created_at.eq(now),
                )
            })
            .collect();
        crate::per_backend!(conn, |c| diesel::insert_into(u::table).values(&rows).execute(c))?;
    }
    Ok(())
}

/// Articles `bench-{i}` for each `i` in `numbers`, bylined and tagged as
/// publishing would have done (the tags must exist: `bench_data` makes
/// them). Article `i` was published `i` minutes ago.
pub fn add_bench_articles(
    conn: &mut DbConnection,
    numbers: Range<usize>,
    editor_id: i32,
    plan: &BenchPlan<'_>,
) -> QueryResult<()> {
    use schema::articles as a;
    let now = crate::db::now();
    let before: Option<i32> = a::table.select(diesel::dsl::max(a::id)).first(conn)?;
    for start in numbers.clone().step_by(500) {
        let rows: Vec<_> = (start..(start + 500).min(numbers.end))
            .map(|i| {
                let visibility = ["paid", "public", "members"][i % 3];
                (
                    a::slug.eq(format!("bench-{i}")),
                    a::title.eq(format!("Bench article {i} on the {}", BENCH_TOPICS[i % 10])),
                    a::author_id.eq(editor_id),
                    a::body_markdown.eq(plan.markdown),
                    a::body_html.eq(&plan.rendered.body_html),
                    a::preview_html.eq(&plan.rendered.preview_html),
                    a::excerpt.eq(&plan.rendered.excerpt),
                    a::visibility.eq(visibility),
                    a::status.eq("published"),
                    a::published_at.eq(Some(now - time::Duration::minutes(i as i64))),
                    a::created_at.eq(now),
                    a::updated_at.eq(now),
                )
            })
            .collect();
        crate::per_backend!(conn, |c| diesel::insert_into(a::table).values(&rows).execute(c))?;
    }
    // The new posts' bylines and tags (each title ends with its topic); the
    // ids are integers, written into the statements as such.
    let after = before.unwrap_or(0);
    diesel::sql_query(format!(
        "INSERT INTO article_authors (article_id, user_id, position) \
         SELECT id, author_id, 0 FROM articles WHERE id > {after}"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO article_tags (article_id, tag_id, position) \
         SELECT a.id, t.id, 0 FROM articles a JOIN tags t ON a.title LIKE '% ' || t.slug WHERE a.id > {after}"
    ))
    .execute(conn)?;
    Ok(())
}

/// The first `size` readers get the first newsletter; nobody else does.
pub fn newsletter_for_first_readers(conn: &mut DbConnection, size: usize) -> QueryResult<()> {
    super::newsletters::subscribe_first_readers(conn, 1, size as i64, super::now())?;
    Ok(())
}

/// Brings the planner's statistics up to date after a bulk load (and, on
/// PostgreSQL, clears what autovacuum would otherwise do in the middle of
/// the measurement: a database that has been serving for a while has both
/// done).
pub fn settle(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query("ANALYZE").execute(c).map(drop),
        DbConnection::Postgres(c) => diesel::sql_query("VACUUM ANALYZE").execute(c).map(drop),
    }
}
