//! Settings, each declared once below (its type, default, environment name,
//! parser and the README's words): defaults in code, then an optional TOML
//! file (the same names in lower case without the `BROADSHEET_` prefix, as
//! the table shows), then the environment. The README's configuration table
//! is generated from these declarations (`Config::readme_table`) and a test
//! keeps the two equal.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use secrecy::SecretString;
use url::Url;

/// One setting as the README and the TOML file name it.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub section: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The TOML key: the field's name.
    pub key: &'static str,
    /// The default, as the README shows it.
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Declares every setting once: `field: Type = default, "ENV", "shown default",
/// parser, "meaning";` grouped in README sections. Generates the `Config`
/// struct, its `Default`, the `SETTINGS` table and the parser dispatch.
macro_rules! settings {
    ($( $section:literal {
        $( $field:ident : $ty:ty = $default:expr, $env:literal, $shown:literal, $parse:expr, $meaning:literal; )*
    } )*) => {
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $( #[doc = $meaning] pub $field: $ty, )* )*
        }

        impl Default for Config {
            /// The embedded setup: SQLite under `./data`, everything local.
            fn default() -> Self {
                Self { $( $( $field: $default, )* )* }
            }
        }

        /// Every setting, in README order.
        pub const SETTINGS: &[Setting] = &[
            $( $( Setting {
                section: $section,
                env: $env,
                key: stringify!($field),
                default: $shown,
                meaning: $meaning,
            }, )* )*
        ];

        impl Config {
            /// Parses `raw` into the setting named `env`; `None` for a name
            /// that is not a setting.
            fn apply(&mut self, env: &str, raw: &str) -> Option<anyhow::Result<()>> {
                match env {
                    $( $( $env => {
                        let parse: fn(&str) -> anyhow::Result<$ty> = $parse;
                        Some(parse(raw).map(|value| self.$field = value))
                    } )* )*
                    _ => None,
                }
            }
        }
    };
}

settings! {
    "Server" {
        bind: SocketAddr = "127.0.0.1:8080".parse().expect("a valid address"), "BROADSHEET_BIND", "`127.0.0.1:8080`", |raw| Ok(raw.parse()?),
            "listen address (`:0` picks a free port)";
        public_url: Url = Url::parse("http://127.0.0.1:8080").expect("a valid URL"), "PUBLIC_URL", "`http://127.0.0.1:8080`", |raw| Ok(Url::parse(raw)?),
            "base of absolute links (emails, feeds, API calls to action)";
        site_title: String = "Broadsheet".into(), "BROADSHEET_SITE_TITLE", "`Broadsheet`", parse_site_title,
            "the publication's name on first start; after that it is a site setting (`/admin/settings`)";
        data_dir: PathBuf = PathBuf::from("./data"), "BROADSHEET_DATA_DIR", "`./data`", |raw| Ok(PathBuf::from(raw)),
            "folder for local data";
        demo: Option<bool> = None, "BROADSHEET_DEMO", "on for SQLite, off for PostgreSQL", |raw| Ok(Some(parse_bool(raw)?)),
            "seed demo content into an empty database";
        secure_cookies: Option<bool> = None, "BROADSHEET_SECURE_COOKIES", "off for `http://localhost`/`127.0.0.1`, on otherwise", |raw| Ok(Some(parse_bool(raw)?)),
            "the cookie `Secure` flag";
        trusted_proxies: u8 = 0, "BROADSHEET_TRUSTED_PROXIES", "`0`", |raw| parse_in(raw, 0..=16),
            "how many proxies of yours stand in front; the client address is that many entries from the right of `X-Forwarded-For` (what your outermost proxy saw), never an entry the client wrote";
        trust_forwarded_header: bool = false, "BROADSHEET_TRUST_FORWARDED_HEADER", "`false`", parse_bool,
            "read the client address from RFC 7239 `Forwarded` instead (only if your proxies write it)";
        read_cache_ms: u64 = 1000, "BROADSHEET_READ_CACHE_MS", "`1000`", |raw| parse_in(raw, 0..=60_000),
            "how long session owners and articles are served from memory; the longest a change made by another instance, the CLI or raw SQL takes to show (writes through this instance clear it at once); `0` turns it off";
        metrics_token: Option<SecretString> = None, "BROADSHEET_METRICS_TOKEN", "unset: `/metrics` open", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "when set, `/metrics` wants `Authorization: Bearer <token>`";
    }
    "Database" {
        database_url: String = "sqlite://./data/broadsheet.db".into(), "DATABASE_URL", "`sqlite://./data/broadsheet.db`", |raw| Ok(raw.to_owned()),
            "`sqlite://PATH`, `postgres://…`, or a bare path to an existing SQLite file";
        db_pool_size: u32 = 10, "BROADSHEET_DB_POOL_SIZE", "`10`", |raw| parse_in(raw, 1..=1000),
            "database connections";
    }
    "Mail" {
        smtp_url: Option<SecretString> = None, "SMTP_URL", "unset: `.eml` files under `data_dir/outbox`", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "`smtp://user:pass@host:587?tls=starttls` (STARTTLS required), `?tls=opportunistic`, `smtps://user:pass@host:465` (implicit TLS), `smtp://localhost:25` (plain, for a local relay); a path (`smtp://host/mail.example.com`) sets the EHLO name";
        mail_from: String = "Broadsheet <newsletter@localhost>".into(), "MAIL_FROM", "`Broadsheet <newsletter@localhost>`", |raw| Ok(raw.parse::<lettre::message::Mailbox>()?.to_string()),
            "the `From` of every email (and the `mailto:` unsubscribe address)";
        mail_concurrency: usize = 8, "BROADSHEET_MAIL_CONCURRENCY", "`8`", |raw| parse_in(raw, 1..=256),
            "messages in flight and pooled SMTP connections";
        mail_rate_per_second: u32 = 0, "BROADSHEET_MAIL_RATE_PER_SECOND", "`0` (no limit)", |raw| parse_in(raw, 0..=1_000_000),
            "most messages per second";
        mail_max_attempts: i32 = 8, "BROADSHEET_MAIL_MAX_ATTEMPTS", "`8`", |raw| parse_in(raw, 1..=100),
            "tries before a transient failure is `failed`";
        mail_retry_base_ms: u64 = 30_000, "BROADSHEET_MAIL_RETRY_BASE_MS", "`30000`", |raw| parse_in(raw, 1..=3_600_000),
            "first retry delay (doubles with jitter, capped at 1 h); also the first pause after a 421/451";
        mail_lease_secs: i64 = 300, "BROADSHEET_MAIL_LEASE_SECS", "`300`", |raw| parse_in(raw, 1..=86_400),
            "a claimed delivery returns to the queue if its worker has not finished it by then";
        worker_poll_ms: u64 = 1000, "BROADSHEET_WORKER_POLL_MS", "`1000`", |raw| parse_in(raw, 10..=60_000),
            "how often an idle worker looks for due mail (publishing in the same process wakes it at once)";
        dkim_key_file: Option<PathBuf> = None, "BROADSHEET_DKIM_KEY_FILE", "unset", |raw| Ok(non_empty(raw).map(PathBuf::from)),
            "DKIM-sign mail: an RSA key as PKCS#1 PEM, or an Ed25519 key as base64 of its 32-byte seed";
        dkim_selector: String = "broadsheet".into(), "BROADSHEET_DKIM_SELECTOR", "`broadsheet`", |raw| Ok(raw.to_owned()),
            "the DKIM selector (the domain is `MAIL_FROM`'s)";
        track_clicks: bool = true, "BROADSHEET_TRACK_CLICKS", "`true`", parse_bool,
            "newsletter links go through `/r/{token}` (links to this site keep their address and carry `?bs_click=`), so each recipient's first click on each link is counted";
        track_opens: bool = false, "BROADSHEET_TRACK_OPENS", "`false`", parse_bool,
            "a 1×1 image per newsletter counts each recipient's first open; approximate, since mail privacy proxies (Apple Mail) load every image and many clients load none";
        mailgun_webhook_signing_key: Option<SecretString> = None, "MAILGUN_WEBHOOK_SIGNING_KEY", "unset (Mailgun webhooks refused)", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "Mailgun's webhook signing key: `POST /webhooks/email/mailgun` checks each event's HMAC with it";
        postmark_webhook_token: Option<SecretString> = None, "POSTMARK_WEBHOOK_TOKEN", "unset (Postmark webhooks refused)", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "the secret in Postmark's webhook URL: the basic-auth password, or the last path segment of `/webhooks/email/postmark/{token}`";
        sendgrid_webhook_public_key: Option<String> = None, "SENDGRID_WEBHOOK_PUBLIC_KEY", "unset (SendGrid webhooks refused)", |raw| Ok(non_empty(raw.trim())),
            "the verification key of SendGrid's signed Event Webhook (base64, as its settings show it): `POST /webhooks/email/sendgrid` checks each batch's ECDSA signature with it";
        ses_sns_topic_arns: Vec<String> = Vec::new(), "SES_SNS_TOPIC_ARNS", "unset (SES notifications refused)", parse_topic_arns,
            "comma-separated ARNs of the SNS topics SES reports bounces and complaints to; `POST /webhooks/email/ses` takes signed messages from these topics only";
        aws_endpoint_url_sns: Option<Url> = None, "AWS_ENDPOINT_URL_SNS", "unset (the SNS host the message names)", |raw| Ok(non_empty(raw).map(|u| Url::parse(&u)).transpose()?),
            "where SNS certificates and subscription confirmations are fetched instead (for LocalStack or a test double); the signed URLs must still name an `sns.<region>.amazonaws.com` host";
        soft_bounce_limit: u32 = 3, "BROADSHEET_SOFT_BOUNCE_LIMIT", "`3`", |raw| parse_in(raw, 1..=100),
            "soft bounces in a row (no delivery reported in between) after which a provider's reports suppress the address";
    }
    "Analytics" {
        page_view_flush_ms: u64 = 10_000, "BROADSHEET_PAGE_VIEW_FLUSH_MS", "`10000`", |raw| parse_in(raw, 10..=600_000),
            "how often each instance adds the page views it counted to the database (a process that dies loses at most this much)";
    }
    "Webhooks" {
        webhooks_allow_private: bool = false, "BROADSHEET_WEBHOOKS_ALLOW_PRIVATE", "`false`", parse_bool,
            "lets outbound webhooks reach loopback, private and link-local addresses (tests, intranets); otherwise refused when registered and on every connection";
        webhook_disable_after_days: i64 = 3, "BROADSHEET_WEBHOOK_DISABLE_AFTER_DAYS", "`3`", |raw| parse_in(raw, 1..=30),
            "a webhook whose every delivery failed for this long is switched off, with the reason shown, until an admin switches it on; a delivery older than this is given up";
        webhook_timeout_secs: u64 = 10, "BROADSHEET_WEBHOOK_TIMEOUT_SECS", "`10`", |raw| parse_in(raw, 1..=60),
            "how long a receiver has to answer a webhook POST before it counts as failed (retried with the mail backoff, `BROADSHEET_MAIL_RETRY_BASE_MS` doubling, at most an hour apart)";
    }
    "Media" {
        media_max_bytes: usize = 10 * 1024 * 1024, "BROADSHEET_MEDIA_MAX_BYTES", "`10485760` (10 MB)", |raw| parse_in(raw, 1024..=200 * 1024 * 1024),
            "largest image file an upload may be (413 beyond)";
        media_max_pixels: u64 = 50_000_000, "BROADSHEET_MEDIA_MAX_PIXELS", "`50000000`", |raw| parse_in(raw, 1..=500_000_000),
            "largest image an upload may be, width × height, checked before decoding (decompression bombs)";
        media_s3_bucket: Option<String> = None, "BROADSHEET_MEDIA_S3_BUCKET", "unset: files under `data_dir/media`", |raw| Ok(non_empty(raw)),
            "store uploaded images in this S3-compatible bucket, so several instances share them";
        media_s3_access_key_id: Option<String> = None, "BROADSHEET_MEDIA_S3_ACCESS_KEY_ID", "unset: `AWS_ACCESS_KEY_ID`", |raw| Ok(non_empty(raw)),
            "the bucket's access key (otherwise the usual `AWS_*` variables, or the instance's role)";
        media_s3_secret_access_key: Option<SecretString> = None, "BROADSHEET_MEDIA_S3_SECRET_ACCESS_KEY", "unset: `AWS_SECRET_ACCESS_KEY`", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "its secret";
        media_s3_endpoint: Option<Url> = None, "BROADSHEET_MEDIA_S3_ENDPOINT", "unset: AWS", |raw| Ok(non_empty(raw).map(|u| Url::parse(&u)).transpose()?),
            "the bucket's server, for other S3-compatible stores (`http://` allowed)";
        media_s3_region: String = "us-east-1".into(), "BROADSHEET_MEDIA_S3_REGION", "`us-east-1`", |raw| Ok(raw.to_owned()),
            "the bucket's region";
        media_s3_prefix: Option<String> = None, "BROADSHEET_MEDIA_S3_PREFIX", "unset", |raw| Ok(non_empty(raw)),
            "a folder inside the bucket for this publication's files";
    }
    "Billing" {
        stripe_secret_key: Option<SecretString> = None, "STRIPE_SECRET_KEY", "unset: billing off", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "the secret API key (`sk_test_…` or `sk_live_…`)";
        stripe_webhook_secret: Option<SecretString> = None, "STRIPE_WEBHOOK_SECRET", "unset", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "the endpoint's signing secret(s), comma-separated while rotating";
        stripe_price_monthly: Option<String> = None, "STRIPE_PRICE_MONTHLY", "unset", |raw| Ok(non_empty(raw)),
            "on first start, with `STRIPE_PRICE_YEARLY`, the prices of the catalogue's first tier (after that, `/admin/api/tiers`); a subscribe form naming `plan=monthly` means it";
        stripe_price_yearly: Option<String> = None, "STRIPE_PRICE_YEARLY", "unset", |raw| Ok(non_empty(raw)),
            "see `STRIPE_PRICE_MONTHLY` (`plan=yearly`)";
        stripe_api_base: String = "https://api.stripe.com".into(), "STRIPE_API_BASE", "`https://api.stripe.com`", |raw| Ok(Url::parse(raw)?.to_string()),
            "where the Stripe client sends requests (a fake server in tests)";
        stripe_automatic_tax: bool = false, "STRIPE_AUTOMATIC_TAX", "`false`", parse_bool,
            "turn on Stripe Tax in Checkout: tax computed from the billing address, which Checkout then asks for, and business customers may enter a tax ID (set up Stripe Tax in the dashboard first)";
        stripe_promotion_codes: bool = false, "STRIPE_PROMOTION_CODES", "`false`", parse_bool,
            "let readers type a Stripe promotion code in Checkout (offer links apply theirs without it)";
        on_dispute: OnDispute = OnDispute::Suspend, "BROADSHEET_ON_DISPUTE", "`suspend`", OnDispute::parse,
            "what a dispute (chargeback) of a member's payment does: `suspend` their paid access until the dispute is won, or `keep` it";
        stripe_sync_secs: u64 = 3600, "BROADSHEET_STRIPE_SYNC_SECS", "`3600`", |raw| parse_in(raw, 0..=86_400 * 7),
            "how often `serve` re-reads every customer's subscriptions from Stripe (one instance at a time, by a lease in the database); `0` turns it off";
    }
    "Limits" {
        hashing_concurrency: usize = std::thread::available_parallelism().map_or(2, |n| n.get()), "BROADSHEET_HASHING_CONCURRENCY", "number of cores", |raw| parse_in(raw, 1..=256),
            "argon2 threads (run at a lower CPU priority than page serving; more logins queue)";
        login_per_ip_per_minute: u32 = 20, "BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "`20`", |raw| parse_in(raw, 1..=100_000),
            "password attempts per client address";
        login_per_account_per_minute: u32 = 5, "BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE", "`5`", |raw| parse_in(raw, 1..=100_000),
            "password attempts per typed email from one client address (ten times this from all addresses together); emailed links are not affected";
        links_per_ip_per_hour: u32 = 30, "BROADSHEET_LINKS_PER_IP_PER_HOUR", "`30`", |raw| parse_in(raw, 1..=1_000_000),
            "sign-in and reset links one client address may ask for";
        links_per_account_per_hour: u32 = 5, "BROADSHEET_LINKS_PER_ACCOUNT_PER_HOUR", "`5`", |raw| parse_in(raw, 1..=1_000_000),
            "sign-in and reset links per typed email from one client address (never account-wide, so nobody can use up the owner's)";
        signups_per_ip_per_hour: u32 = 20, "BROADSHEET_SIGNUPS_PER_IP_PER_HOUR", "`20`", |raw| parse_in(raw, 1..=1_000_000),
            "new accounts and email-only subscriptions per client address per hour (and 3 per typed email); more answer 429 with `Retry-After`";
        subscribe_min_fill_ms: u64 = 1500, "BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "`1500`", |raw| parse_in(raw, 0..=600_000),
            "the subscribe form is refused when sent sooner than this after it was shown (bots fill forms instantly)";
        captcha: CaptchaProvider = CaptchaProvider::Off, "BROADSHEET_CAPTCHA", "`off`", CaptchaProvider::parse,
            "a human check on the subscribe form: `off`, `turnstile` (Cloudflare) or `hcaptcha`";
        captcha_site_key: Option<String> = None, "BROADSHEET_CAPTCHA_SITE_KEY", "unset", |raw| Ok(non_empty(raw)),
            "the provider's public site key, put in the form";
        captcha_secret: Option<SecretString> = None, "BROADSHEET_CAPTCHA_SECRET", "unset", |raw| Ok(non_empty(raw).map(SecretString::from)),
            "the provider's secret, sent only to its verification endpoint";
        captcha_verify_url: Option<Url> = None, "BROADSHEET_CAPTCHA_VERIFY_URL", "the provider's", |raw| Ok(non_empty(raw).map(|u| Url::parse(&u)).transpose()?),
            "where answers are verified (the provider's `siteverify`; set by the operator, never by a user)";
    }
    "Paywall" {
        past_due_grace_days: i64 = 7, "PAST_DUE_GRACE_DAYS", "`7`", |raw| parse_in(raw, 0..=365),
            "days of full access after a failed renewal";
        preview_chars: usize = 600, "BROADSHEET_PREVIEW_CHARS", "`600`", |raw| parse_in(raw, 50..=100_000),
            "length of the automatic preview when an article has no `<!-- paywall -->` divider";
        metered_free_articles: u32 = 0, "METERED_FREE_ARTICLES", "`0` (off)", |raw| parse_in(raw, 0..=1000),
            "paid articles a free member may read in full each calendar month (UTC)";
        gift_links_per_month: u32 = 10, "BROADSHEET_GIFT_LINKS_PER_MONTH", "`10`", |raw| parse_in(raw, 0..=10_000),
            "gift links one subscriber may create per calendar month";
        gift_link_days: i64 = 30, "BROADSHEET_GIFT_LINK_DAYS", "`30`", |raw| parse_in(raw, 1..=365),
            "how long a gift link opens its article (the default and the most; the creator may ask for less)";
        gift_link_reads: i32 = 10, "BROADSHEET_GIFT_LINK_READS", "`10`", |raw| parse_in(raw, 1..=10_000),
            "opens a gift link allows (the default and the most; the creator may ask for fewer)";
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
        for setting in SETTINGS {
            if let Ok(value) = std::env::var(setting.env) {
                values.insert(setting.env, value);
            }
        }
        Self::default().with_values(&values)
    }

    /// Applies settings by environment name.
    pub fn with_values(mut self, values: &HashMap<&str, String>) -> anyhow::Result<Self> {
        for (&name, raw) in values {
            let raw = raw.trim();
            match self.apply(name, raw) {
                Some(result) => result.with_context(|| format!("{name}={raw:?} is not valid"))?,
                None => bail!("unknown setting {name}"),
            }
        }
        if self.public_url.cannot_be_a_base() || !matches!(self.public_url.scheme(), "http" | "https") {
            bail!("PUBLIC_URL must be an http(s) URL, not {}", self.public_url);
        }
        if self.captcha != CaptchaProvider::Off
            && (self.captcha_site_key.is_none() || self.captcha_secret.is_none())
        {
            bail!("BROADSHEET_CAPTCHA needs BROADSHEET_CAPTCHA_SITE_KEY and BROADSHEET_CAPTCHA_SECRET");
        }
        Ok(self)
    }

    /// The README's configuration table, one per section, made from the
    /// declarations above.
    pub fn readme_table() -> String {
        let mut out = String::new();
        let mut section = "";
        for setting in SETTINGS {
            if setting.section != section {
                section = setting.section;
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!(
                    "### {section}\n\n| env var | TOML key | default | meaning |\n| --- | --- | --- | --- |\n"
                ));
            }
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                setting.env, setting.key, setting.default, setting.meaning
            ));
        }
        out
    }

    /// Where the file mail transport writes when no SMTP server is set.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Where uploaded images are kept when no bucket is set.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
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
        let Some(setting) = SETTINGS.iter().find(|setting| setting.key == key) else {
            let known: Vec<_> = SETTINGS.iter().map(|setting| setting.key).collect();
            bail!("unknown setting {key:?}; known: {}", known.join(", "));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!("{key} must be a string, number or boolean, not {other}"),
        };
        values.insert(setting.env, text);
    }
    Ok(values)
}

/// Comma-separated SNS topic ARNs (`arn:aws:sns:region:account:name`).
fn parse_topic_arns(raw: &str) -> anyhow::Result<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
        .map(|arn| {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "sns"
                && parts.iter().all(|p| !p.is_empty())
            {
                Ok(arn.to_owned())
            } else {
                bail!("{arn:?} is not an SNS topic ARN (arn:aws:sns:region:account:name)")
            }
        })
        .collect()
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

/// Which human check guards the subscribe form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaProvider {
    Off,
    Turnstile,
    HCaptcha,
}

impl CaptchaProvider {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "off" | "" => Ok(Self::Off),
            "turnstile" => Ok(Self::Turnstile),
            "hcaptcha" => Ok(Self::HCaptcha),
            _ => bail!("expected off, turnstile or hcaptcha"),
        }
    }
}

/// What an open dispute (chargeback) of a member's payment does to their
/// paid access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDispute {
    /// Nothing: they read on while the dispute runs.
    Keep,
    /// Their subscriptions stop counting until the dispute is won.
    Suspend,
}

impl OnDispute {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "keep" => Ok(Self::Keep),
            "suspend" => Ok(Self::Suspend),
            _ => bail!("expected keep or suspend"),
        }
    }
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

    /// The README's table is generated from the declarations: a setting
    /// added, removed or reworded here must be pasted there too.
    #[test]
    fn the_readme_configuration_table_is_the_one_declared_here() {
        let readme = include_str!("../README.md");
        let (start, end) = ("<!-- settings:start -->\n", "<!-- settings:end -->");
        let from = readme.find(start).expect("the README marks its settings table") + start.len();
        let to = readme[from..]
            .find(end)
            .expect("the README closes its settings table")
            + from;
        let expected = Config::readme_table();
        assert!(
            readme[from..to].trim_end() == expected.trim_end(),
            "README.md's configuration table is out of date; replace it with:\n\n{expected}"
        );
    }
}
