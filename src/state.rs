//! The one shared state of the application, handed to every handler.

use crate::{
    cache::ReadCache,
    config::Config,
    db::Pool,
    domain::access::Policy,
    feedback::FeedbackSetup,
    mail::{Mailer, Wakeup},
    media::MediaStore,
    metrics::Metrics,
    page_views::PageViews,
    security::{
        human_check::{self, HumanCheck},
        password::PasswordHasher,
        signed::SigningKey,
        throttle::Throttle,
    },
    stripe::BillingSetup,
};

pub struct AppState {
    pub config: Config,
    pub pool: Pool,
    pub hasher: PasswordHasher,
    /// Password logins.
    pub login_throttle: Throttle,
    /// Emailed sign-in and reset links.
    pub link_throttle: Throttle,
    pub signup_throttle: Throttle,
    pub policy: Policy,
    /// Sessions and articles for a moment (see `cache.rs`).
    pub read_cache: ReadCache,
    /// Signs feed, unsubscribe, gift and CSRF tokens; shared by every
    /// instance through the database.
    pub signing_key: SigningKey,
    pub mailer: Mailer,
    /// Rung when mail is queued, so this process's worker starts at once.
    pub mail_wakeup: Wakeup,
    /// `None` when Stripe is not configured: billing pages say so.
    pub billing: Option<BillingSetup>,
    /// This process's counters for `/metrics`.
    pub metrics: Metrics,
    /// The captcha on the subscribe form, or none.
    pub human_check: Box<dyn HumanCheck>,
    /// Uploaded images' files.
    pub media: MediaStore,
    /// Mail providers' webhook keys and the SNS certificate cache.
    pub feedback: FeedbackSetup,
    /// This process's page views not yet stored.
    pub page_views: PageViews,
}

impl AppState {
    pub fn new(config: Config, pool: Pool, signing_key: SigningKey, mailer: Mailer) -> anyhow::Result<Self> {
        Ok(Self {
            signing_key,
            mailer,
            mail_wakeup: Wakeup::default(),
            metrics: Metrics::default(),
            human_check: human_check::from_config(&config)?,
            media: MediaStore::from_config(&config)?,
            feedback: FeedbackSetup::from_config(&config)?,
            page_views: PageViews::default(),
            billing: BillingSetup::from_config(&config)?,
            hasher: PasswordHasher::new(config.hashing_concurrency)?,
            signup_throttle: Throttle::for_signups(config.signups_per_ip_per_hour),
            login_throttle: Throttle::for_passwords(
                config.login_per_ip_per_minute,
                config.login_per_account_per_minute,
            ),
            link_throttle: Throttle::for_links(
                config.links_per_ip_per_hour,
                config.links_per_account_per_hour,
            ),
            read_cache: ReadCache::new(std::time::Duration::from_millis(config.read_cache_ms)),
            policy: Policy {
                past_due_grace: time::Duration::days(config.past_due_grace_days),
                metered_free_articles: config.metered_free_articles,
            },
            config,
            pool,
        })
    }
}
