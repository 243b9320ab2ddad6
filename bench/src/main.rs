//! `broadsheet-bench`: the benchmark, a tool beside the product (not in it).
//! It seeds a database, then runs the product's server and worker, a
//! baseline server and the load in separate processes of this binary, and
//! prints ratios to the baselines measured in the same run (README:
//! Performance).
//!
//!   cargo run --release -p broadsheet-bench -- [--articles N] [--members N] …
//!   cargo run --release -p broadsheet-bench -- --scaling   (the curves)
//!
//! `DATABASE_URL=postgres://…` benchmarks PostgreSQL; otherwise SQLite in a
//! temporary folder.

mod bench;
mod scaling;

use anyhow::Context;
use broadsheet::{config::Config, telemetry, web::startup};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "broadsheet-bench", about = "Broadsheet against same-run baselines")]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[arg(long, default_value_t = 10_000)]
    articles: usize,
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Seconds per HTTP run.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Newsletter fan-out sizes to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
    fanout: Vec<usize>,
    /// Concurrent logins in the login storm.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// `broadsheet worker` processes delivering each fan-out.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Kill one worker halfway through each fan-out (with `--workers` ≥ 2):
    /// the others finish and the sink counts repeats and gaps.
    #[arg(long)]
    kill_one_worker: bool,
    /// Instead of the main run: the scaling curves, the anonymous teaser as
    /// the publication grows (sizes below).
    #[arg(long)]
    scaling: bool,
    /// Article counts for `--scaling`, at the first member count.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 100_000])]
    scale_articles: Vec<usize>,
    /// Member counts for `--scaling`, at the last article count.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000, 1_000_000])]
    scale_members: Vec<usize>,
}

/// What a child process of the benchmark runs (configured by its
/// environment, as the product is).
#[derive(Subcommand)]
enum Role {
    /// The product's server, exactly as `broadsheet serve --no-demo` runs it.
    #[command(hide = true)]
    Serve,
    /// The product's email worker, as `broadsheet worker`.
    #[command(hide = true)]
    Worker,
    /// The baseline: actix-web answering a 5 KB hello.
    #[command(hide = true)]
    Baseline,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.role {
        None => {
            let options = bench::Options {
                articles: cli.articles,
                members: cli.members,
                duration: std::time::Duration::from_secs(cli.duration_secs),
                connections: cli.connections,
                fanout_sizes: cli.fanout,
                logins: cli.logins,
                workers: cli.workers,
                kill_one_worker: cli.kill_one_worker,
                database_url: std::env::var("DATABASE_URL")
                    .ok()
                    .filter(|url| url.starts_with("postgres")),
                binary: std::env::current_exe().context("finding this binary")?,
            };
            if cli.scaling {
                let curves = scaling::Curves {
                    articles: cli.scale_articles,
                    members: cli.scale_members,
                };
                scaling::run(options, curves).await
            } else {
                bench::run(options).await
            }
        }
        Some(Role::Serve) => {
            let mut config = Config::load(None)?;
            config.demo = Some(false);
            let app = startup::Application::build(config).await?;
            app.run_until_stopped().await.context("running the server")
        }
        Some(Role::Worker) => {
            let state = std::sync::Arc::new(startup::prepare_state(Config::load(None)?).await?);
            broadsheet::newsletter::Worker::new(state).run().await;
            Ok(())
        }
        Some(Role::Baseline) => bench::baseline_server(Config::load(None)?.bind)
            .await
            .context("the baseline server"),
    }
}
