//! The scaling curves (`broadsheet-bench --scaling`): the anonymous teaser,
//! served warm and cold, as one publication grows: first its articles (at
//! the smallest membership), then its members (at the most articles). Each
//! point is seeded on top of the one before and measured against the hello
//! baseline in the same step, so a slower machine moves both.

use std::sync::Arc;

use anyhow::Context;
use broadsheet::{db, web::startup};

use crate::bench::{self, LoadResult, Options, Server};

/// The sizes to measure at.
#[derive(Debug, Clone)]
pub struct Curves {
    /// Article counts, growing, measured at `members[0]` members.
    pub articles: Vec<usize>,
    /// Member counts, growing, measured at the last article count.
    pub members: Vec<usize>,
}

/// One measured size.
struct Point {
    articles: usize,
    members: usize,
    baseline: LoadResult,
    teaser: LoadResult,
    cold_teaser: LoadResult,
}

pub async fn run(options: Options, curves: Curves) -> anyhow::Result<()> {
    anyhow::ensure!(
        !curves.articles.is_empty() && !curves.members.is_empty(),
        "--scale-articles and --scale-members each need at least one size"
    );
    let dir = tempfile::tempdir().context("a temp dir")?;
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let state =
        Arc::new(startup::prepare_state(bench::bench_config(&database_url, dir.path(), None)?).await?);
    let sizes = growth(&curves);
    let (first_articles, first_members) = sizes[0];
    let first = Options {
        articles: first_articles,
        members: first_members,
        ..options.clone()
    };
    let seeded = bench::seed(&state, &first).await?;
    let (mut articles, mut members) = (first_articles, first_members);
    let mut points = Vec::new();
    for (want_articles, want_members) in sizes {
        if (want_articles, want_members) != (articles, members) {
            println!("Growing to {want_articles} articles and {want_members} members …");
            grow(
                &state,
                seeded.editor.user_id,
                articles..want_articles,
                members..want_members,
            )
            .await?;
            bench::index_and_settle(&state).await?;
            (articles, members) = (want_articles, want_members);
        }
        let point = measure(&options, &database_url, dir.path(), &seeded, articles, members).await?;
        println!(
            "  {articles} articles, {members} members: teaser {:.0} req/s, cold {:.0}, hello {:.0}",
            point.teaser.per_second, point.cold_teaser.per_second, point.baseline.per_second
        );
        points.push(point);
    }
    print_curves(&points, &options);
    Ok(())
}

/// The sizes in the order they are reached: articles first, then members.
fn growth(curves: &Curves) -> Vec<(usize, usize)> {
    let most_articles = *curves.articles.last().expect("checked non-empty");
    let mut sizes: Vec<(usize, usize)> = curves.articles.iter().map(|&a| (a, curves.members[0])).collect();
    sizes.extend(curves.members.iter().skip(1).map(|&m| (most_articles, m)));
    sizes
}

async fn grow(
    state: &broadsheet::state::AppState,
    editor_id: i32,
    new_articles: std::ops::Range<usize>,
    new_members: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    let (markdown, rendered) = bench::seeded_body();
    db::run(&state.pool, move |conn| {
        let plan = db::seed::BenchPlan {
            members: new_members.end,
            articles: new_articles.end,
            // Only the first members of the first step can log in.
            logins: 0,
            password_hash: "",
            session_token_hash: "",
            markdown: &markdown,
            rendered: &rendered,
        };
        db::seed::add_bench_members(conn, new_members.clone(), &plan)?;
        db::seed::add_bench_articles(conn, new_articles.clone(), editor_id, &plan)?;
        Ok(())
    })
    .await
}

/// The baseline, the teaser warm and cold, and the baseline again (the
/// better of the two is the ceiling, as in the main run).
async fn measure(
    options: &Options,
    database_url: &str,
    data_dir: &std::path::Path,
    seeded: &bench::Seeded,
    articles: usize,
    members: usize,
) -> anyhow::Result<Point> {
    let baseline = Server::start(&options.binary, &["baseline"], database_url, data_dir)?;
    let warm = Server::start(&options.binary, &["serve"], database_url, data_dir)?;
    let cold = Server::start_with(
        &options.binary,
        &["serve"],
        database_url,
        data_dir,
        &[("BROADSHEET_READ_CACHE_MS", "0".into())],
    )?;
    for server in [&baseline, &warm, &cold] {
        server.wait_ready().await?;
    }
    let teaser_path = format!("/p/{}", seeded.paid_slug);
    let mut hello = load_on(&baseline, "/", options).await;
    let teaser = load_on(&warm, &teaser_path, options).await;
    let cold_teaser = load_on(&cold, &teaser_path, options).await;
    let again = load_on(&baseline, "/", options).await;
    if again.per_second > hello.per_second {
        hello = again;
    }
    Ok(Point {
        articles,
        members,
        baseline: hello,
        teaser,
        cold_teaser,
    })
}

/// An anonymous load run on `server`, with its memory after.
async fn load_on(server: &Server, path: &str, options: &Options) -> LoadResult {
    let mut result = bench::load(&server.url(path), None, options.connections, options.duration).await;
    result.rss_mb = server.rss_mb();
    result
}

fn print_curves(points: &[Point], options: &Options) {
    println!();
    println!(
        "Scaling: anonymous teaser GET /p/{{slug}}, {} connections × {:?} each, × the hello baseline of the same step",
        options.connections, options.duration
    );
    println!(
        "| articles | members | teaser req/s | × hello | vs first | p99 ms | cold teaser req/s | × hello | vs first | cold p99 ms | server RSS MB |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let ratio = |r: &LoadResult, p: &Point| r.per_second / p.baseline.per_second.max(1.0);
    let (first_warm, first_cold) = points
        .first()
        .map_or((1.0, 1.0), |p| (ratio(&p.teaser, p), ratio(&p.cold_teaser, p)));
    for p in points {
        let (warm, cold) = (ratio(&p.teaser, p), ratio(&p.cold_teaser, p));
        println!(
            "| {} | {} | {:.0} | {warm:.2} | {:.2} | {:.2} | {:.0} | {cold:.2} | {:.2} | {:.2} | {:.1} |",
            p.articles,
            p.members,
            p.teaser.per_second,
            warm / first_warm.max(f64::EPSILON),
            p.teaser.p99_ms,
            p.cold_teaser.per_second,
            cold / first_cold.max(f64::EPSILON),
            p.cold_teaser.p99_ms,
            p.teaser.rss_mb,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curves_grow_articles_first_then_members_at_the_most_articles() {
        let curves = Curves {
            articles: vec![1_000, 10_000, 100_000],
            members: vec![10_000, 100_000, 1_000_000],
        };
        assert_eq!(
            growth(&curves),
            [
                (1_000, 10_000),
                (10_000, 10_000),
                (100_000, 10_000),
                (100_000, 100_000),
                (100_000, 1_000_000)
            ]
        );
    }
}
