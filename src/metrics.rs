//! Prometheus metrics (OpenMetrics text at `/metrics`), with the official
//! `prometheus-client` crate. Counters live in this process; the delivery
//! counts are read from the database at scrape time, so they agree across
//! every `serve` and `worker` process on the same database.
//!
//! Label values are bounded: routes are actix's patterns (`/p/{slug}`, never
//! the slug), outcomes are our own names, webhook types are counted only
//! after the signature checked out.

use std::time::Duration;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::domain::access::{Access, Banner, CallToAction};
use crate::domain::delivery::DeliveryStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    r#type: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Every metric Broadsheet keeps, and the registry that names them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    access_decisions: Family<OutcomeLabels, Counter>,
    webhook_events: Family<WebhookLabels, Counter>,
    failed_logins: Family<OutcomeLabels, Counter>,
    deliveries: Family<StatusLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~4 s: a cached article page is well under a millisecond, a
    // login (argon2) a few tens of milliseconds.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("broadsheet");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            latency.clone(),
        );
        let access_decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "access_decisions",
            "Access policy decisions on articles, by outcome",
            access_decisions.clone(),
        );
        let webhook_events = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "stripe_webhook_events",
            "Stripe webhook deliveries, by event type and outcome",
            webhook_events.clone(),
        );
        let failed_logins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "failed_logins",
            "Refused password logins, by reason (bad_credentials, throttled)",
            failed_logins.clone(),
        );
        let deliveries = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "deliveries",
            "Newsletter deliveries in the database, by status (sent, failed, pending, sending, suppressed)",
            deliveries.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            access_decisions,
            webhook_events,
            failed_logins,
            deliveries,
        }
    }
}

/// How a webhook delivery ended.
#[derive(Debug, Clone, Copy)]
pub enum WebhookOutcome {
    Processed,
    Duplicate,
    Ignored,
    /// Ours, but refused (a Checkout for another customer).
    Refused,
    Failed,
    BadSignature,
    /// Signed, but not an event we could read.
    Malformed,
}

impl WebhookOutcome {
    fn name(self) -> &'static str {
        match self {
            WebhookOutcome::Processed => "processed",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Refused => "refused",
            WebhookOutcome::Failed => "failed",
            WebhookOutcome::BadSignature => "bad_signature",
            WebhookOutcome::Malformed => "malformed",
        }
    }
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn record_access(&self, access: Access) {
        let outcome = match access {
            Access::Full { banner: None, .. } => "full",
            Access::Full {
                banner: Some(Banner::UpdateCard),
                ..
            } => "full_in_grace",
            Access::Full {
                banner: Some(Banner::Gifted),
                ..
            } => "full_gifted",
            Access::Full {
                banner: Some(Banner::FreeRead { .. }),
                ..
            } => "full_metered",
            Access::Preview {
                cta: CallToAction::Login,
                ..
            } => "preview_login",
            Access::Preview {
                cta: CallToAction::Subscribe,
                ..
            } => "preview_subscribe",
            Access::Preview {
                cta: CallToAction::UpdateCard,
                ..
            } => "preview_update_card",
            Access::Preview {
                cta: CallToAction::Upgrade,
                ..
            } => "preview_upgrade",
        };
        self.access_decisions
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// `event_type` only for a delivery whose signature checked out.
    pub fn record_webhook(&self, event_type: Option<&str>, outcome: WebhookOutcome) {
        self.webhook_events
            .get_or_create(&WebhookLabels {
                r#type: event_type.unwrap_or("unverified").to_owned(),
                outcome: outcome.name(),
            })
            .inc();
    }

    pub fn record_failed_login(&self, throttled: bool) {
        let outcome = if throttled { "throttled" } else { "bad_credentials" };
        self.failed_logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The text exposition, with the delivery counts just read from the
    /// database.
    pub fn render(&self, deliveries_by_status: &[(DeliveryStatus, i64)]) -> anyhow::Result<String> {
        // Every status appears, zero when none: a dashboard's "failed" line
        // should read 0, not vanish.
        for &status in DeliveryStatus::ALL {
            let count = deliveries_by_status
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            self.deliveries
                .get_or_create(&StatusLabels {
                    status: status.as_str().to_owned(),
                })
                .set(count);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|e| anyhow::anyhow!("encoding metrics: {e}"))?;
        Ok(out)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}
