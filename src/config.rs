//! Settings: defaults in code, then an optional TOML file, then the
//! environment. Names are the README's (Configuration) so scripts and docs agree; a TOML file
//! uses the same names in lower case without the `BROADSHEET_` prefix
//! (`bind`, `database_url`, `past_due_grace_days`, …).

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use secrecy::SecretString;
use url::Url;

/// Every setting: its environment name and its TOML key.
const SETTINGS: &[(&str, &str)] = &[
    ("BROADSHEET_BIND", "bind"),
    ("BROADSHEET_SITE_TITLE", "site_title"),
    ("PUBLIC_URL", "public_url"),
    ("DATABASE_URL", "database_url"),
    ("BROADSHEET_DATA_DIR", "data_dir"),
    ("BROADSHEET_DEMO", "demo"),
    ("BROADSHEET_SECURE_COOKIES", "secure_cookies"),
    ("PAST_DUE_GRACE_DAYS", "past_due_grace_days"),
    ("BROADSHEET_PREVIEW_CHARS", "preview_chars"),
    ("BROADSHEET_DB_POOL_SIZE", "db_pool_size"),
    ("BROADSHEET_READ_CACHE_MS", "read_cache_ms"),
    ("BROADSHEET_HASHING_CONCURRENCY", "hashing_concurrency"),
    ("BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "login_per_ip_per_minute"),
    (
        "BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE",
        "login_per_account_per_minute",
    ),
    ("BROADSHEET_SIGNUPS_PER_IP_PER_HOUR", "signups_per_ip_per_hour"),
    ("BROADSHEET_LINKS_PER_IP_PER_HOUR", "links_per_ip_per_hour"),
    (
        "BROADSHEET_LINKS_PER_ACCOUNT_PER_HOUR",
        "links_per_account_per_hour",
    ),
    ("BROADSHEET_TRUSTED_PROXIES", "trusted_proxies"),
    ("BROADSHEET_TRUST_FORWARDED_HEADER", "trust_forwarded_header"),
    ("SMTP_URL", "smtp_url"),
    ("MAIL_FROM", "mail_from"),
    ("BROADSHEET_MAIL_CONCURRENCY", "mail_concurrency"),
    ("BROADSHEET_MAIL_RATE_PER_SECOND", "mail_rate_per_second"),
    ("BROADSHEET_MAIL_MAX_ATTEMPTS", "mail_max_attempts"),
    ("BROADSHEET_MAIL_RETRY_BASE_MS", "mail_retry_base_ms"),
    ("BROADSHEET_MAIL_LEASE_SECS", "mail_lease_secs"),
    ("BROADSHEET_WORKER_POLL_MS", "worker_poll_ms"),
    ("BROADSHEET_DKIM_KEY_FILE", "dkim_key_file"),
    ("BROADSHEET_DKIM_SELECTOR", "dkim_selector"),
    ("STRIPE_SECRET_KEY", "stripe_secret_key"),
    ("STRIPE_WEBHOOK_SECRET", "stripe_webhook_secret"),
    ("STRIPE_PRICE_MONTHLY", "stripe_price_monthly"),
    ("STRIPE_PRICE_YEARLY", "stripe_price_yearly"),
    ("STRIPE_API_BASE", "stripe_api_base"),
    ("BROADSHEET_PRICE_MONTHLY_LABEL", "price_monthly_label"),
    ("BROADSHEET_PRICE_YEARLY_LABEL", "price_yearly_label"),
    ("METERED_FREE_ARTICLES", "metered_free_articles"),
    ("BROADSHEET_GIFT_LINKS_PER_MONTH", "gift_links_per_month"),
    ("BROADSHEET_GIFT_LINK_DAYS", "gift_link_days"),
    ("BROADSHEET_GIFT_LINK_READS", "gift_link_reads"),
    ("BROADSHEET_METRICS_TOKEN", "metrics_token"),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// The publication's name: page titles, the masthead, feeds, emails.
    pub site_title: String,
    pub public_url: Url,
    /// `sqlite://PATH` or `postgres://…`; parsed by `db::DatabaseUrl`.
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Seed demo content into an empty database. `None`: on for SQLite only.
    pub demo: Option<bool>,
    /// The cookie `Secure` flag. `None`: off for http://localhost and
    /// 127.0.0.1, on otherwise.
    pub secure_cookies: Option<bool>,
    pub past_due_grace_days: i64,
    /// Length of the automatic preview when an article has no divider.
    pub preview_chars: usize,
    pub db_pool_size: u32,
    /// How long sessions and articles may be served from memory (see
    /// `cache.rs`): the longest a change made elsewhere takes to show. 0 = off.
    pub read_cache_ms: u64,
    /// Threads that run argon2 (at a lower CPU priority than page serving);
    /// more logins than this wait their turn.
    pub hashing_concurrency: usize,
    pub login_per_ip_per_minute: u32,
    pub login_per_account_per_minute: u32,
    /// New accounts one client address may create in an hour.
    pub signups_per_ip_per_hour: u32,
    /// Emailed sign-in and reset links one client address may ask for in an
    /// hour, and per account from one client address.
    pub links_per_ip_per_hour: u32,
    pub links_per_account_per_hour: u32,
    /// How many proxies of yours stand in front (0: none). The client address
    /// is the one that many hops from the right of `X-Forwarded-For`: the
    /// address your outermost proxy saw. Entries further left are whatever
    /// the client wrote, and are never read.
    pub trusted_proxies: u8,
    /// Read the client address from RFC 7239 `Forwarded` instead of
    /// `X-Forwarded-For` (only when your proxies write it).
    pub trust_forwarded_header: bool,
    /// `smtp://user:pass@host:587?tls=starttls`, `smtps://…:465`, or
    /// `smtp://localhost:25` (plain). Unset: `.eml` files under
    /// `data_dir/outbox`. Secret: it may carry a password.
    pub smtp_url: Option<SecretString>,
    /// The `From` of every email.
    pub mail_from: String,
    /// Messages in flight at once (and pooled SMTP connections).
    pub mail_concurrency: usize,
    /// Most messages per second; 0 for no limit.
    pub mail_rate_per_second: u32,
    /// Attempts before a transient failure becomes `failed`.
    pub mail_max_attempts: i32,
    /// First retry delay; doubles each attempt (with jitter), capped at 1 h.
    pub mail_retry_base_ms: u64,
    /// How long a claimed delivery is held before another worker may take it.
    pub mail_lease_secs: i64,
    /// How often an idle worker looks for due mail.
    pub worker_poll_ms: u64,
    /// A PEM private key (RSA or Ed25519) to DKIM-sign mail with.
    pub dkim_key_file: Option<PathBuf>,
    pub dkim_selector: String,
    pub stripe_secret_key: Option<SecretString>,
    /// One or more `whsec_…` secrets, comma-separated: while rotating, both
    /// the old and the new one verify.
    pub stripe_webhook_secret: Option<SecretString>,
    pub stripe_price_monthly: Option<String>,
    pub stripe_price_yearly: Option<String>,
    /// Where the Stripe client sends requests (a fake server in tests).
    pub stripe_api_base: String,
    /// How the subscribe page shows the prices ("$8 a month"); Stripe's price
    /// objects stay the truth for what is charged.
    pub price_monthly_label: String,
    pub price_yearly_label: String,
    /// Paid articles a free member may read in full each month; 0 = off.
    pub metered_free_articles: u32,
    /// Gift links one subscriber may create per calendar month.
    pub gift_links_per_month: u32,
    /// How long a gift link works: the default and the most a creator may ask.
    pub gift_link_days: i64,
    /// How many opens a gift link allows: the default and the most.
    pub gift_link_reads: i32,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<SecretString>,
}

impl Default for Config {
    /// The embedded setup: SQLite under `./data`, everything local.
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("valid default address"),
            site_title: "Broadsheet".into(),
            public_url: Url::parse("http://127.0.0.1:8080").expect("valid default URL"),
            database_url: "sqlite://./data/broadsheet.db".into(),
            data_dir: PathBuf::from("./data"),
            demo: None,
            secure_cookies: None,
            past_due_grace_days: 7,
            preview_chars: 600,
            db_pool_size: 10,
            read_cache_ms: 1000,
            hashing_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            login_per_ip_per_minute: 20,
            login_per_account_per_minute: 5,
            signups_per_ip_per_hour: 20,
            links_per_ip_per_hour: 30,
            links_per_account_per_hour: 5,
            trusted_proxies: 0,
            trust_forwarded_header: false,
            smtp_url: None,
            mail_from: "Broadsheet <newsletter@localhost>".into(),
            mail_concurrency: 8,
            mail_rate_per_second: 0,
            mail_max_attempts: 8,
            mail_retry_base_ms: 30_000,
            mail_lease_secs: 300,
            worker_poll_ms: 1000,
            dkim_key_file: None,
            dkim_selector: "broadsheet".into(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_price_monthly: None,
            stripe_price_yearly: None,
            stripe_api_base: "https://api.stripe.com".into(),
            price_monthly_label: "$8 a month".into(),
            price_yearly_label: "$80 a year".into(),
            metered_free_articles: 0,
            gift_links_per_month: 10,
            gift_link_days: 30,
            gift_link_reads: 10,
            metrics_token: None,
        }
    }
}

impl Config {
    /// Defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            values.extend(toml_values(&text).with_context(|| format!("in {}", path.display()))?);
        }
        for (env, _) in SETTINGS {
            if let Ok(value) = std::env::var(env) {
                values.insert(*env, value);
            }
        }
        Self::default().with_values(&values)
    }

    /// Applies settings by environment name.
    pub fn with_values(mut self, values: &HashMap<&str, String>) -> anyhow::Result<Self> {
        for (&name, raw) in values {
            let raw = raw.trim();
            let bad = || format!("{name}={raw:?} is not valid");
            match name {
                "BROADSHEET_BIND" => self.bind = raw.parse().with_context(bad)?,
                "PUBLIC_URL" => self.public_url = Url::parse(raw).with_context(bad)?,
                "DATABASE_URL" => self.database_url = raw.to_owned(),
                "BROADSHEET_SITE_TITLE" => self.site_title = parse_site_title(raw).with_context(bad)?,
                "BROADSHEET_DATA_DIR" => self.data_dir = PathBuf::from(raw),
                "BROADSHEET_DEMO" => self.demo = Some(parse_bool(raw).with_context(bad)?),
                "BROADSHEET_SECURE_COOKIES" => self.secure_cookies = Some(parse_bool(raw).with_context(bad)?),
                "PAST_DUE_GRACE_DAYS" => {
                    self.past_due_grace_days = parse_in(raw, 0..=365).with_context(bad)?
                }
                "BROADSHEET_PREVIEW_CHARS" => {
                    self.preview_chars = parse_in(raw, 50..=100_000).with_context(bad)?
                }
                "BROADSHEET_DB_POOL_SIZE" => self.db_pool_size = parse_in(raw, 1..=1000).with_context(bad)?,
                "BROADSHEET_READ_CACHE_MS" => {
                    self.read_cache_ms = parse_in(raw, 0..=60_000).with_context(bad)?
                }
                "BROADSHEET_HASHING_CONCURRENCY" => {
                    self.hashing_concurrency = parse_in(raw, 1..=256).with_context(bad)?
                }
                "BROADSHEET_LOGIN_PER_IP_PER_MINUTE" => {
                    self.login_per_ip_per_minute = parse_in(raw, 1..=100_000).with_context(bad)?
                }
                "BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE" => {
                    self.login_per_account_per_minute = parse_in(raw, 1..=100_000).with_context(bad)?
                }
                "BROADSHEET_SIGNUPS_PER_IP_PER_HOUR" => {
                    self.signups_per_ip_per_hour = parse_in(raw, 1..=1_000_000).with_context(bad)?
                }
                "BROADSHEET_LINKS_PER_IP_PER_HOUR" => {
                    self.links_per_ip_per_hour = parse_in(raw, 1..=1_000_000).with_context(bad)?
                }
                "BROADSHEET_LINKS_PER_ACCOUNT_PER_HOUR" => {
                    self.links_per_account_per_hour = parse_in(raw, 1..=1_000_000).with_context(bad)?
                }
                "BROADSHEET_TRUSTED_PROXIES" => {
                    self.trusted_proxies = parse_in(raw, 0..=16).with_context(bad)?
                }
                "BROADSHEET_TRUST_FORWARDED_HEADER" => {
                    self.trust_forwarded_header = parse_bool(raw).with_context(bad)?
                }
                "SMTP_URL" => {
                    self.smtp_url = Some(SecretString::from(raw.to_owned())).filter(|_| !raw.is_empty())
                }
                "MAIL_FROM" => {
                    self.mail_from = raw
                        .parse::<lettre::message::Mailbox>()
                        .with_context(bad)?
                        .to_string()
                }
                "BROADSHEET_MAIL_CONCURRENCY" => {
                    self.mail_concurrency = parse_in(raw, 1..=256).with_context(bad)?
                }
                "BROADSHEET_MAIL_RATE_PER_SECOND" => {
                    self.mail_rate_per_second = parse_in(raw, 0..=1_000_000).with_context(bad)?
                }
                "BROADSHEET_MAIL_MAX_ATTEMPTS" => {
                    self.mail_max_attempts = parse_in(raw, 1..=100).with_context(bad)?
                }
                "BROADSHEET_MAIL_RETRY_BASE_MS" => {
                    self.mail_retry_base_ms = parse_in(raw, 1..=3_600_000).with_context(bad)?
                }
                "BROADSHEET_MAIL_LEASE_SECS" => {
                    self.mail_lease_secs = parse_in(raw, 1..=86_400).with_context(bad)?
                }
                "BROADSHEET_WORKER_POLL_MS" => {
                    self.worker_poll_ms = parse_in(raw, 10..=60_000).with_context(bad)?
                }
                "BROADSHEET_DKIM_KEY_FILE" => {
                    self.dkim_key_file = Some(PathBuf::from(raw)).filter(|_| !raw.is_empty())
                }
                "BROADSHEET_DKIM_SELECTOR" => self.dkim_selector = raw.to_owned(),
                "STRIPE_SECRET_KEY" => self.stripe_secret_key = non_empty(raw).map(SecretString::from),
                "STRIPE_WEBHOOK_SECRET" => {
                    self.stripe_webhook_secret = non_empty(raw).map(SecretString::from)
                }
                "STRIPE_PRICE_MONTHLY" => self.stripe_price_monthly = non_empty(raw),
                "STRIPE_PRICE_YEARLY" => self.stripe_price_yearly = non_empty(raw),
                "STRIPE_API_BASE" => self.stripe_api_base = Url::parse(raw).with_context(bad)?.to_string(),
                "BROADSHEET_PRICE_MONTHLY_LABEL" => self.price_monthly_label = raw.to_owned(),
                "BROADSHEET_PRICE_YEARLY_LABEL" => self.price_yearly_label = raw.to_owned(),
                "METERED_FREE_ARTICLES" => {
                    self.metered_free_articles = parse_in(raw, 0..=1000).with_context(bad)?
                }
                "BROADSHEET_GIFT_LINKS_PER_MONTH" => {
                    self.gift_links_per_month = parse_in(raw, 0..=10_000).with_context(bad)?
                }
                "BROADSHEET_GIFT_LINK_DAYS" => {
                    self.gift_link_days = parse_in(raw, 1..=365).with_context(bad)?
                }
                "BROADSHEET_GIFT_LINK_READS" => {
                    self.gift_link_reads = parse_in(raw, 1..=10_000).with_context(bad)?
                }
                "BROADSHEET_METRICS_TOKEN" => self.metrics_token = non_empty(raw).map(SecretString::from),
                other => bail!("unknown setting {other}"),
            }
        }
        if self.public_url.cannot_be_a_base() || !matches!(self.public_url.scheme(), "http" | "https") {
            bail!("PUBLIC_URL must be an http(s) URL, not {}", self.public_url);
        }
        Ok(self)
    }

    /// Where the file mail transport writes when no SMTP server is set.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The host part of `PUBLIC_URL`, for Message-IDs.
    pub fn public_host(&self) -> &str {
        self.public_url.host_str().unwrap_or("localhost")
    }

    pub fn is_sqlite(&self) -> bool {
        !self.database_url.starts_with("postgres")
    }

    pub fn demo_enabled(&self) -> bool {
        self.demo.unwrap_or_else(|| self.is_sqlite())
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            let local = matches!(
                self.public_url.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]")
            );
            !(self.public_url.scheme() == "http" && local)
        })
    }

    /// An absolute URL under `PUBLIC_URL` for a site path like `/p/slug`.
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

/// Reads a flat TOML table into settings keyed by environment name.
fn toml_values(text: &str) -> anyhow::Result<HashMap<&'static str, String>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let Some((env, _)) = SETTINGS.iter().find(|(_, toml_key)| *toml_key == key) else {
            let known: Vec<_> = SETTINGS.iter().map(|(_, k)| *k).collect();
            bail!("unknown setting {key:?}; known: {}", known.join(", "));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!("{key} must be a string, number or boolean, not {other}"),
        };
        values.insert(*env, text);
    }
    Ok(values)
}

fn non_empty(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// One line of 1 to 100 characters.
fn parse_site_title(raw: &str) -> anyhow::Result<String> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > 100 || title.chars().any(char::is_control) {
        bail!("a site title is one line of 1 to 100 characters");
    }
    Ok(title.to_owned())
}

fn parse_bool(raw: &str) -> anyhow::Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => bail!("expected on/off, true/false or 1/0"),
    }
}

fn parse_in<T>(raw: &str, range: std::ops::RangeInclusive<T>) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value: T = raw.parse()?;
    if !range.contains(&value) {
        bail!("expected a value from {} to {}", range.start(), range.end());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_uses_lowercase_names_and_the_environment_wins() {
        let mut values =
            toml_values("bind = \"0.0.0.0:9000\"\npast_due_grace_days = 3\ndemo = false").unwrap();
        values.insert("PAST_DUE_GRACE_DAYS", "5".into());
        let config = Config::default().with_values(&values).unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.past_due_grace_days, 5);
        assert!(!config.demo_enabled());
    }

    #[test]
    fn unknown_and_malformed_settings_are_refused_by_name() {
        assert!(
            toml_values("colour = \"blue\"")
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        let values = HashMap::from([("PAST_DUE_GRACE_DAYS", "soon".to_owned())]);
        let err = Config::default().with_values(&values).unwrap_err();
        assert!(err.to_string().contains("PAST_DUE_GRACE_DAYS"), "{err}");
    }

    #[test]
    fn secure_cookies_default_off_only_for_plain_http_on_localhost() {
        assert!(!Config::default().secure_cookies());
        let values = HashMap::from([("PUBLIC_URL", "https://news.example.com".to_owned())]);
        assert!(Config::default().with_values(&values).unwrap().secure_cookies());
    }
}
