//! `broadsheet-bench`: Broadsheet against baselines measured in the same run
//! on the same machine, reported as ratios (these machines are noisy, so
//! absolute numbers mean little).
//!
//! HTTP: a baseline actix-web server answering a 5 KB body and Broadsheet
//! run as separate processes and are driven by the same load generator (a
//! fixed number of keep-alive connections for a fixed time). Email: the
//! newsletter engine fans an article out into a local SMTP sink, against the
//! same SMTP transport sending pre-built messages with no database work.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use broadsheet_testkit::smtp_sink::SmtpSink;
use lettre::{Message, address::Envelope, message::MultiPart};

use broadsheet::{
    config::Config,
    db,
    domain::{
        article::{ArticleMarkdown, ArticleTitle, EmailSegment, Visibility},
        editorial::Actor,
        markdown,
        password::Password,
        role::Role,
    },
    mail::smtp::{SmtpPool, SmtpServer},
    publishing::{self, ArticleDraft},
    security::token,
    web::startup,
};

#[derive(Debug, Clone)]
pub struct Options {
    pub articles: usize,
    pub members: usize,
    pub duration: Duration,
    pub connections: usize,
    pub fanout_sizes: Vec<usize>,
    pub logins: usize,
    /// `broadsheet worker` processes delivering each fan-out.
    pub workers: usize,
    /// Kill one worker (SIGKILL) halfway through each fan-out; the others
    /// finish, and what it held comes back when its lease runs out.
    pub kill_one_worker: bool,
    /// PostgreSQL instead of a fresh SQLite file.
    pub database_url: Option<String>,
    /// This binary: it runs the server under test (`serve`, the product
    /// through the library, exactly as `broadsheet serve`), the worker
    /// (`worker`) and the baseline (`baseline`), each in its own process.
    pub binary: PathBuf,
}

/// One load run.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rss_mb: f64,
}

const BENCH_PASSWORD: &str = "bench password 1";
const BODY_5KB: usize = 5 * 1024;

pub async fn run(options: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("a temp dir")?;
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let config = bench_config(&database_url, dir.path(), None)?;
    let state = Arc::new(startup::prepare_state(config).await?);
    println!(
        "Seeding {} articles and {} members into {} …",
        options.articles,
        options.members,
        if options.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let seeded = seed(&state, &options).await?;

    let baseline = Server::start(&options.binary, &["baseline"], &database_url, dir.path())?;
    let broadsheet = Server::start(&options.binary, &["serve"], &database_url, dir.path())?;
    baseline.wait_ready().await?;
    broadsheet.wait_ready().await?;

    // The same product with its read cache (and so its page cache) off:
    // every request pays its queries, as every miss and every instance of a
    // scaled-out deployment does.
    let cold = Server::start_with(
        &options.binary,
        &["serve"],
        &database_url,
        dir.path(),
        &[("BROADSHEET_READ_CACHE_MS", "0".into())],
    )?;
    cold.wait_ready().await?;

    let cookie = format!("bs_session={}", seeded.subscriber_token);
    let paid = format!("/p/{}", seeded.paid_slug);
    let json = format!("/api/articles/{}", seeded.paid_slug);
    let tag = format!("/tag/{}", db::seed::BENCH_TOPICS[0]);
    let search = format!("/search?q={}", db::seed::BENCH_TOPICS[1]);
    let runs: Vec<(&str, &Server, &str, Option<&str>)> = vec![
        ("baseline: hello, 5 KB", &baseline, "/", None),
        ("anonymous teaser GET /p/{slug}", &broadsheet, &paid, None),
        ("subscriber full article", &broadsheet, &paid, Some(&cookie)),
        ("JSON GET /api/articles/{slug}", &broadsheet, &json, None),
        ("home page GET /", &broadsheet, "/", None),
        ("tag page GET /tag/{slug}", &broadsheet, &tag, None),
        ("archive GET /archive", &broadsheet, "/archive", None),
        (
            "search GET /search?q= (1 in 10 posts match)",
            &broadsheet,
            &search,
            None,
        ),
        ("cold: anonymous teaser", &cold, &paid, None),
        ("cold: subscriber full article", &cold, &paid, Some(&cookie)),
        ("cold: home page", &cold, "/", None),
    ];
    let mut results = Vec::new();
    for (name, server, path, cookie) in runs {
        let mut result = load(&server.url(path), cookie, options.connections, options.duration).await;
        result.rss_mb = server.rss_mb();
        println!(
            "  {name}: {:.0} req/s ({} requests)",
            result.per_second, result.requests
        );
        results.push((name, result));
    }
    // The baseline again, last: a machine busy at the start (the seeding's
    // checkpoint, another process) would flatter every ratio. The better of
    // the two runs is the ceiling.
    let mut again = load(&baseline.url("/"), None, options.connections, options.duration).await;
    again.rss_mb = baseline.rss_mb();
    println!("  baseline again: {:.0} req/s", again.per_second);
    if again.per_second > results[0].1.per_second {
        results[0].1 = again;
    }
    let storm = login_storm(&broadsheet, &paid, &cookie, &seeded.login_emails, &options).await?;
    drop(baseline);
    drop(broadsheet);
    drop(cold);

    let fanout = fan_out(&database_url, dir.path(), &seeded, &options).await?;
    print_report(&results, &storm, &fanout, &options);
    Ok(())
}

pub(crate) fn bench_config(
    database_url: &str,
    data_dir: &Path,
    smtp: Option<String>,
) -> anyhow::Result<Config> {
    let mut values = std::collections::HashMap::from([
        ("DATABASE_URL", database_url.to_owned()),
        ("BROADSHEET_DATA_DIR", data_dir.display().to_string()),
        ("BROADSHEET_DEMO", "off".to_owned()),
        ("BROADSHEET_BIND", "127.0.0.1:0".to_owned()),
    ]);
    if let Some(smtp) = smtp {
        values.insert("SMTP_URL", smtp);
    }
    Config::default().with_values(&values)
}

pub(crate) struct Seeded {
    pub(crate) editor: Actor,
    pub(crate) paid_slug: String,
    pub(crate) subscriber_token: String,
    pub(crate) login_emails: Vec<String>,
}

/// Every seeded article's body and its rendering, made once for all rows.
pub(crate) fn seeded_body() -> (String, markdown::Rendered) {
    let markdown = sample_markdown();
    let rendered = markdown::render(&markdown, 600, &Default::default());
    (markdown, rendered)
}

/// A body of about 5 KB with a paywall divider.
fn sample_markdown() -> String {
    let paragraph =
        "The river rose nine metres in a night, and the town learned what its grandparents had known. ";
    let mut markdown = String::new();
    for i in 0..60 {
        if i == 6 {
            markdown.push_str("<!-- paywall -->\n\n");
        }
        markdown.push_str(paragraph);
        markdown.push_str("\n\n");
    }
    markdown
}

pub(crate) async fn seed(state: &broadsheet::state::AppState, options: &Options) -> anyhow::Result<Seeded> {
    let password_hash = state
        .hasher
        .hash(Password::choose(BENCH_PASSWORD.into(), None)?)
        .await?;
    let subscriber_token = token::generate("");
    let (articles, members, logins) = (options.articles, options.members.max(1), options.logins);
    let token_hash = token::hash(&subscriber_token);
    let (markdown, rendered) = seeded_body();
    let (editor_id, paid_slug) = db::run(&state.pool, move |conn| {
        let plan = db::seed::BenchPlan {
            members,
            articles,
            logins,
            password_hash: &password_hash,
            session_token_hash: &token_hash,
            markdown: &markdown,
            rendered: &rendered,
        };
        let editor_id = db::seed::bench_data(conn, &plan)?;
        Ok((editor_id, "bench-0".to_owned()))
    })
    .await?;
    index_and_settle(state).await?;
    Ok(Seeded {
        editor: Actor {
            user_id: editor_id,
            role: Role::Editor,
        },
        paid_slug,
        subscriber_token,
        login_emails: (0..logins.min(members))
            .map(|i| format!("member{i}@bench.test"))
            .collect(),
    })
}

/// After a bulk load: the search index, as publishing would have kept it
/// (else the server under test would write it while the benchmark waits for
/// it to start), then statistics and vacuum, so the measured runs do not
/// share the machine with autovacuum working through the load.
pub(crate) async fn index_and_settle(state: &broadsheet::state::AppState) -> anyhow::Result<()> {
    broadsheet::publishing::search::index_unindexed(&state.pool, state.config.preview_chars).await?;
    db::run(&state.pool, |conn| Ok(db::seed::settle(conn)?)).await
}

/// A server under test, in its own process so its memory is its own.
pub(crate) struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub(crate) fn start(
        binary: &Path,
        args: &[&str],
        database_url: &str,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        Self::start_with(binary, args, database_url, data_dir, &[])
    }

    pub(crate) fn start_with(
        binary: &Path,
        args: &[&str],
        database_url: &str,
        data_dir: &Path,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(binary)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("DATABASE_URL", database_url)
            .env("BROADSHEET_BIND", format!("127.0.0.1:{port}"))
            .env("BROADSHEET_DATA_DIR", data_dir)
            .env("BROADSHEET_DEMO", "off")
            // The login storm comes from one address on purpose.
            .env("BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "100000")
            .env("BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE", "1000")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self { child, port })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(self.url("/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("a server under test did not start")
    }

    /// Resident memory of the server process, from /proc.
    pub(crate) fn rss_mb(&self) -> f64 {
        proc_status_mb(&format!("/proc/{}/status", self.child.id()), "VmRSS:")
    }

    /// The most resident memory the process has had.
    fn peak_rss_mb(&self) -> f64 {
        proc_status_mb(&format!("/proc/{}/status", self.child.id()), "VmHWM:")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drives `url` with `connections` keep-alive connections for `duration`:
/// with wrk (2 threads) when it is installed, as the README's Ghost anchors were
/// measured, else with the built-in generator. wrk is much lighter, which
/// matters on two cores shared with the server: the built-in one spends
/// more per byte received, so it understates pages with larger bodies.
pub(crate) async fn load(
    url: &str,
    cookie: Option<&str>,
    connections: usize,
    duration: Duration,
) -> LoadResult {
    if wrk_installed() {
        let (url, cookie) = (url.to_owned(), cookie.map(str::to_owned));
        let ran =
            tokio::task::spawn_blocking(move || wrk(&url, cookie.as_deref(), connections, duration)).await;
        match ran {
            Ok(Ok(result)) => return result,
            Ok(Err(e)) => eprintln!("wrk failed ({e:#}); using the built-in load generator"),
            Err(e) => eprintln!("wrk panicked ({e}); using the built-in load generator"),
        }
    }
    built_in_load(url, cookie, connections, duration).await
}

/// Every load run presents itself as a browser, so article pages take the
/// path a reader's request takes (page views skip crawlers and requests
/// without a user agent).
const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn wrk(
    url: &str,
    cookie: Option<&str>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let mut command = Command::new("wrk");
    command.args([
        "-t2".to_owned(),
        format!("-c{connections}"),
        format!("-d{}s", duration.as_secs().max(1)),
        "--latency".to_owned(),
        "-H".to_owned(),
        format!("User-Agent: {BROWSER_USER_AGENT}"),
    ]);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let output = command.arg(url).output().context("running wrk")?;
    if !output.status.success() {
        bail!("wrk exited with {}", output.status);
    }
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// Reads wrk's `--latency` report.
fn parse_wrk(report: &str) -> anyhow::Result<LoadResult> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let millis = |value: &str| -> Option<f64> {
        let split = value.find(|c: char| c.is_ascii_alphabetic())?;
        let (number, unit) = value.split_at(split);
        let number: f64 = number.parse().ok()?;
        Some(match unit {
            "us" => number / 1000.0,
            "ms" => number,
            "s" => number * 1000.0,
            "m" => number * 60_000.0,
            _ => return None,
        })
    };
    let per_second: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("wrk printed no Requests/sec")?;
    let requests: u64 = report
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .context("wrk printed no request count")?;
    let socket_errors: u64 = field("Socket errors:").map_or(0, |errors| {
        errors
            .split(',')
            .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
            .sum()
    });
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(LoadResult {
        requests,
        errors: socket_errors + non_2xx,
        per_second,
        p50_ms: field("50%").and_then(millis).context("wrk printed no p50")?,
        p99_ms: field("99%").and_then(millis).context("wrk printed no p99")?,
        rss_mb: 0.0,
    })
}

/// The built-in generator: `connections` keep-alive connections, each
/// sending one request after another for `duration`.
async fn built_in_load(
    url: &str,
    cookie: Option<&str>,
    connections: usize,
    duration: Duration,
) -> LoadResult {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (url, cookie) = (url.to_owned(), cookie.map(str::to_owned));
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .user_agent(BROWSER_USER_AGENT)
                    .build()
                    .expect("a client");
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let mut request = client.get(&url);
                    if let Some(cookie) = &cookie {
                        request = request.header("Cookie", cookie);
                    }
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed().as_micros() as u32);
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mut l, e)) = task.await {
            latencies.append(&mut l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    LoadResult {
        requests: latencies.len() as u64,
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        rss_mb: 0.0,
    }
}

struct Storm {
    article: LoadResult,
    logins_ok: usize,
    logins_tried: usize,
}

/// The article's latency while many readers log in at once (argon2 runs on
/// the blocking pool behind a semaphore, so it must not starve reads).
async fn login_storm(
    server: &Server,
    path: &str,
    cookie: &str,
    emails: &[String],
    options: &Options,
) -> anyhow::Result<Storm> {
    let login_url = server.url("/login");
    let logins = emails.iter().cloned().map(|email| {
        let url = login_url.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .ok()?;
            let page = client.get(&url).send().await.ok()?.text().await.ok()?;
            const FIELD: &str = "name=\"csrf_token\" value=\"";
            let start = page.find(FIELD)? + FIELD.len();
            let csrf = page.get(start..start + 43)?.to_owned();
            let form = [
                ("email", email.as_str()),
                ("password", BENCH_PASSWORD),
                ("csrf_token", csrf.as_str()),
            ];
            let response = client.post(&url).form(&form).send().await.ok()?;
            (response.status() == reqwest::StatusCode::SEE_OTHER).then_some(())
        })
    });
    let article_url = server.url(path);
    let article = load(&article_url, Some(cookie), options.connections, options.duration);
    let storm = futures::future::join_all(logins);
    let (article, outcomes) = tokio::join!(article, storm);
    let logins_ok = outcomes.into_iter().filter(|o| matches!(o, Ok(Some(())))).count();
    Ok(Storm {
        article,
        logins_ok,
        logins_tried: emails.len(),
    })
}

struct FanOut {
    size: usize,
    workers: usize,
    /// From the editor's click to the send's delivery rows committed.
    publish_secs: f64,
    engine_per_second: f64,
    raw_per_second: f64,
    /// Messages that arrived more than once (by Message-ID), and recipients
    /// who got nothing.
    duplicates: usize,
    missing: usize,
    /// Whether one worker was killed halfway.
    killed_one: bool,
    /// Peak resident memory of the `broadsheet worker` processes (the
    /// largest of them).
    peak_rss_mb: f64,
}

/// How long a killed worker's claimed rows stay held in the kill runs (the
/// product's default is five minutes): the documented window for a worker
/// that dies mid-send.
const KILL_RUN_LEASE_SECS: u64 = 10;

/// Publishes an article to `size` recipients and times it to the last
/// message arriving at a local SMTP sink; fresh `broadsheet worker`
/// processes deliver each round, so their peak memory is the engine's own.
/// Then sends `size` pre-built messages over the same SMTP pool for the
/// baseline.
async fn fan_out(
    database_url: &str,
    data_dir: &Path,
    seeded: &Seeded,
    options: &Options,
) -> anyhow::Result<Vec<FanOut>> {
    let sink = SmtpSink::start_counting().await;
    let config = bench_config(database_url, data_dir, None)?;
    let state = Arc::new(startup::prepare_state(config.clone()).await?);
    let mut results = Vec::new();
    for (round, &size) in options.fanout_sizes.iter().enumerate() {
        let size = size.min(options.members);
        subscribe_first(&state, size).await?;
        sink.clear();
        let mut env = vec![
            ("SMTP_URL", sink.url()),
            ("BROADSHEET_WORKER_POLL_MS", "20".into()),
        ];
        if options.kill_one_worker {
            env.push(("BROADSHEET_MAIL_LEASE_SECS", KILL_RUN_LEASE_SECS.to_string()));
        }
        let mut workers = (0..options.workers.max(1))
            .map(|_| Server::start_with(&options.binary, &["worker"], database_url, data_dir, &env))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let started = Instant::now();
        let draft = ArticleDraft {
            publish: true,
            segment: EmailSegment::All,
            ..ArticleDraft::new(
                ArticleTitle::parse(&format!("Fan-out round {round}"))?,
                ArticleMarkdown::parse(sample_markdown())?,
                Visibility::Paid,
            )
        };
        publishing::create_article(&state, seeded.editor, draft)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let publish_secs = started.elapsed().as_secs_f64();
        // A generous bound so a stuck engine fails the run instead of hanging.
        let limit = Duration::from_secs(60) + Duration::from_millis(size as u64 * 10);
        let killed_one = options.kill_one_worker && workers.len() > 1;
        if killed_one {
            sink.wait_for(size / 2, limit).await;
            let mut victim = workers.remove(0);
            victim.child.kill().context("killing a worker")?;
            let _ = victim.child.wait();
        }
        let mut delivered = sink.wait_for(size, limit).await;
        // A repeat counts towards the total: wait for every distinct one.
        while sink.distinct_message_ids().0 < size && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(200)).await;
            delivered = sink.distinct_message_ids().0;
        }
        let engine = size as f64 / started.elapsed().as_secs_f64();
        let peak_rss_mb = workers.iter().map(Server::peak_rss_mb).fold(0.0, f64::max);
        // Anything sent twice arrives within a moment of the last message.
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(workers);
        if delivered < size {
            bail!("the fan-out delivered {delivered} of {size} within {limit:?}");
        }
        let (distinct, total) = sink.distinct_message_ids();
        sink.clear();
        let raw = raw_smtp(&sink, size, config.mail_concurrency).await?;
        let result = FanOut {
            size,
            workers: options.workers.max(1),
            publish_secs,
            engine_per_second: engine,
            raw_per_second: raw,
            duplicates: total - distinct,
            missing: size.saturating_sub(distinct),
            killed_one,
            peak_rss_mb,
        };
        println!(
            "  fan-out {size} with {} worker(s): {engine:.0} msg/s (raw SMTP {raw:.0} msg/s), published in {publish_secs:.2} s, {} duplicates, {} missing",
            result.workers, result.duplicates, result.missing
        );
        results.push(result);
    }
    Ok(results)
}

/// The first `size` readers get the newsletter; nobody else does.
async fn subscribe_first(state: &broadsheet::state::AppState, size: usize) -> anyhow::Result<()> {
    db::run(&state.pool, move |conn| {
        Ok(db::seed::newsletter_for_first_readers(conn, size)?)
    })
    .await
}

/// The same SMTP pool sending one pre-built message to `count` recipients,
/// one transaction each: the ceiling for the engine.
async fn raw_smtp(sink: &SmtpSink, count: usize, concurrency: usize) -> anyhow::Result<f64> {
    let pool = SmtpPool::new(
        SmtpServer::parse(&sink.url())?,
        concurrency,
        Duration::from_secs(30),
    );
    let body = sample_markdown();
    let message = Message::builder()
        .from("Bench <bench@bench.test>".parse()?)
        .to("raw@bench.test".parse()?)
        .subject("Raw")
        .multipart(MultiPart::alternative_plain_html(
            body.clone(),
            format!("<p>{body}</p>"),
        ))?
        .formatted();
    let from = Some("bench@bench.test".parse()?);
    let envelopes = (0..count).map(|i| {
        let to = format!("raw{i}@bench.test").parse().expect("an address");
        Envelope::new(from.clone(), vec![to]).expect("an envelope")
    });
    let started = Instant::now();
    let (pool, message) = (&pool, &message);
    futures::StreamExt::for_each_concurrent(
        futures::stream::iter(envelopes),
        concurrency,
        |envelope| async move {
            let _ = pool.send(&envelope, message).await;
        },
    )
    .await;
    let delivered = sink.count();
    if delivered != count {
        bail!("the raw SMTP baseline delivered {delivered} of {count}");
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// A memory figure in MB from a `/proc/…/status` file (0 where unreadable).
fn proc_status_mb(status_file: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print_report(results: &[(&str, LoadResult)], storm: &Storm, fanout: &[FanOut], options: &Options) {
    let baseline = results.first().map_or(1.0, |(_, r)| r.per_second.max(1.0));
    println!();
    println!(
        "HTTP: {} connections × {:?} each, {} articles, {} members",
        options.connections, options.duration, options.articles, options.members
    );
    println!("| run | req/s | × baseline | p50 ms | p99 ms | errors | server RSS MB |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, r) in results {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
            r.per_second,
            r.per_second / baseline,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            r.rss_mb
        );
    }
    println!(
        "| subscriber article during {} concurrent logins ({} succeeded) | {:.0} | {:.2} | {:.2} | {:.2} | {} | |",
        storm.logins_tried,
        storm.logins_ok,
        storm.article.per_second,
        storm.article.per_second / baseline,
        storm.article.p50_ms,
        storm.article.p99_ms,
        storm.article.errors
    );
    println!();
    println!(
        "| fan-out recipients | workers | publish s | engine msg/s | raw SMTP msg/s | × raw | duplicates | missing | worker peak RSS MB |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for f in fanout {
        println!(
            "| {} | {}{} | {:.2} | {:.0} | {:.0} | {:.2} | {} | {} | {:.1} |",
            f.size,
            f.workers,
            if f.killed_one { ", one killed halfway" } else { "" },
            f.publish_secs,
            f.engine_per_second,
            f.raw_per_second,
            f.engine_per_second / f.raw_per_second.max(1.0),
            f.duplicates,
            f.missing,
            f.peak_rss_mb
        );
    }
}

/// The baseline: actix-web answering a 5 KB body, nothing else.
pub async fn baseline_server(bind: std::net::SocketAddr) -> std::io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let body: &'static str = Box::leak("x".repeat(BODY_5KB).into_boxed_str());
    HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get()
                    .to(move || async move { HttpResponse::Ok().content_type("text/plain").body(body) }),
            )
            .route(
                "/healthz",
                web::get().to(|| async { HttpResponse::Ok().finish() }),
            )
    })
    .bind(bind)?
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read_into_a_load_result() {
        let report = "Running 4s test @ http://127.0.0.1:18081/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   493.12us  300.10us   9.99ms   90.00%
  Latency Distribution
     50%  451.00us
     75%  600.00us
     90%  800.00us
     99%    1.50ms
  275214 requests in 4.00s, 1.35GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  68803.64
Transfer/sec:    337.71MB
";
        let result = parse_wrk(report).unwrap();
        assert_eq!(result.requests, 275_214);
        assert_eq!(result.errors, 7);
        assert!((result.per_second - 68_803.64).abs() < 0.01);
        assert!((result.p50_ms - 0.451).abs() < 1e-9);
        assert!((result.p99_ms - 1.5).abs() < 1e-9);
    }
}
