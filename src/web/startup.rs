//! Building the application: database, migrations, state, HTTP server.
//! Tests call [`Application::build`] with port 0 exactly as `serve` does.

use std::{net::TcpListener, time::Duration};

use actix_web::{App, HttpServer, dev::Server, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use super as routes;
use crate::{
    config::Config,
    db::{self, DatabaseUrl},
    demo::{self, DemoEditor},
    mail::Mailer,
    newsletter::Worker,
    publishing::scheduler,
    security::signed::SigningKey,
    state::AppState,
    telemetry::RedactedRootSpan,
};

pub struct Application {
    port: u16,
    server: Server,
    /// Set when this start seeded the demo content.
    pub demo_editor: Option<DemoEditor>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, true).await
    }

    /// `run_worker: false` leaves email to separate `broadsheet worker`
    /// processes (or, in tests, to the test itself).
    pub async fn build_with(config: Config, run_worker: bool) -> anyhow::Result<Self> {
        let state = web::Data::new(prepare_state(config).await?);
        let demo_editor = if state.config.demo_enabled() {
            demo::seed_if_empty(&state)
                .await
                .context("seeding demo content")?
        } else {
            None
        };
        let listener = TcpListener::bind(state.config.bind)
            .with_context(|| format!("listening on {}", state.config.bind))?;
        let port = listener.local_addr()?.port();
        scheduler::spawn(state.clone().into_inner());
        crate::billing::sync::spawn_schedule(state.clone().into_inner());
        if run_worker {
            tokio::spawn(Worker::new(state.clone().into_inner()).run());
            tokio::spawn(crate::webhooks::dispatch::Dispatcher::new(state.clone().into_inner()).run());
        }
        let csp = content_security_policy("'none'", state.human_check.origins());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    routes::forget_cached_reads_after_writes,
                ))
                .wrap(security_headers(&csp))
                .wrap(actix_web::middleware::from_fn(routes::default_cache_control))
                .wrap(actix_web::middleware::from_fn(routes::ops::record_metrics))
                .wrap(TracingLogger::<RedactedRootSpan>::new())
                .app_data(state.clone())
                .configure(routes::configure)
        })
        // Slow clients get a few seconds to send their headers, then go.
        .client_request_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(30))
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            demo_editor,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Headers on every response: no framing, no MIME sniffing, no referrer
/// leaking paths (which may carry tokens) to other sites, and a CSP that
/// allows only our own stylesheet and script (and the captcha provider's,
/// when one is configured). Forms may lead to Stripe's Checkout and Billing
/// Portal.
fn security_headers(csp: &str) -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("Content-Security-Policy", csp.to_owned()))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("X-Frame-Options", "DENY"))
}

/// The Content-Security-Policy of every page: `frame_ancestors` says who may
/// frame it (`'none'` but for the embeddable form), `extra_origins` are the
/// captcha provider's.
pub fn content_security_policy(frame_ancestors: &str, extra_origins: &[&str]) -> String {
    let extra = extra_origins.iter().map(|o| format!(" {o}")).collect::<String>();
    format!(
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'{extra}; script-src 'self'{extra}; \
         frame-src{frames}; connect-src 'self'{extra}; object-src 'none'; base-uri 'self'; \
         frame-ancestors {frame_ancestors}; \
         form-action 'self' https://checkout.stripe.com https://billing.stripe.com",
        frames = if extra.is_empty() {
            " 'none'".to_owned()
        } else {
            extra.clone()
        },
    )
}

/// Connects, migrates, and builds the shared state: what `serve`, `migrate`
/// and the admin commands all need.
pub async fn prepare_state(config: Config) -> anyhow::Result<AppState> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let pool = db::connect(&url, config.db_pool_size)?;
    let applied = db::run(&pool, db::run_migrations).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    let signing_key = db::run(&pool, |conn| {
        let hex_key = db::secrets::get_or_create(conn, "signing_key", || {
            hex::encode(crate::security::token::random_bytes())
        })?;
        let bytes: [u8; 32] = hex::decode(&hex_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("the stored signing key is not 32 bytes of hex")?;
        Ok(SigningKey::new(bytes))
    })
    .await?;
    let first_settings = config.clone();
    db::run(&pool, move |conn| {
        crate::publication::seed(conn, &first_settings)?;
        crate::catalogue::seed(conn, &first_settings)
    })
    .await?;
    crate::publishing::search::index_unindexed(&pool, config.preview_chars).await?;
    let mailer = Mailer::from_config(&config)?;
    AppState::new(config, pool, signing_key, mailer)
}
