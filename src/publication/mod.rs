//! The publication's own settings at run time: seeded from the configuration
//! on first start, read through the read cache by every page and email,
//! changed by admins (admin API and settings page).

use std::sync::Arc;

use anyhow::Context;

use crate::{
    config::Config,
    db::{self, DbConnection},
    domain::{
        InvalidInput,
        editorial::Actor,
        newsletters::{NewsletterVisibility, SignupChoice},
        settings::{Publication, SettingsPatch, SiteSettings},
    },
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a publication starts with: `BROADSHEET_SITE_TITLE` as its name and
/// the display name of `MAIL_FROM` (or the name) as its sender.
pub fn defaults(config: &Config) -> SiteSettings {
    let sender = config
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .ok()
        .and_then(|mailbox| mailbox.name)
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| config.site_title.clone());
    SiteSettings::defaults(&config.site_title, &sender)
}

/// On first start, stores the defaults, so that a later change of the
/// configuration does not silently rename a running publication.
pub fn seed(conn: &mut DbConnection, config: &Config) -> anyhow::Result<()> {
    db::settings::insert_if_absent(conn, &defaults(config).to_document())
        .context("storing the first site settings")
}

/// The settings as stored (or the defaults when none are), read on `conn`
/// (inside the caller's transaction, for mail queued with a write).
pub fn stored(conn: &mut DbConnection, config: &Config) -> anyhow::Result<SiteSettings> {
    let defaults = defaults(config);
    let Some(document) = db::settings::load(conn).context("reading the site settings")? else {
        return Ok(defaults);
    };
    SiteSettings::from_document(&defaults, &document).or_else(|invalid| {
        // Only an edit made outside the application gets here; the site
        // must still render, so it falls back and says so.
        tracing::error!(error = %invalid, "the stored site settings break a rule; using the defaults");
        Ok(defaults)
    })
}

/// The publication as pages and emails show it, at most one read-cache
/// lifetime old. When the database cannot be reached, the last settings
/// this process saw (or the defaults) keep error pages and queued mail
/// looking like the publication.
pub async fn current(state: &AppState) -> Arc<Publication> {
    let fresh = state
        .read_cache
        .publication(async {
            let config = state.config.clone();
            let (settings, choices) = db::run(&state.pool, move |conn| {
                Ok((stored(conn, &config)?, signup_choices(conn)?))
            })
            .await?;
            let publication = Arc::new(Publication::new(settings).with_signup_choices(choices));
            state.read_cache.remember_publication(publication.clone());
            anyhow::Ok(publication)
        })
        .await;
    match fresh {
        Ok(publication) => publication,
        Err(e) => {
            tracing::warn!(error = ?e, "site settings unavailable; using the last known");
            state
                .read_cache
                .last_publication()
                .unwrap_or_else(|| Arc::new(Publication::new(defaults(&state.config))))
        }
    }
}

/// The newsletters a sign-up form offers: running and public, in order.
fn signup_choices(conn: &mut DbConnection) -> anyhow::Result<Vec<SignupChoice>> {
    Ok(db::newsletters::list(conn)?
        .into_iter()
        .filter(|n| !n.archived && n.visibility == NewsletterVisibility::Public)
        .map(|n| SignupChoice {
            id: n.id,
            name: n.name,
            description: n.description,
            preselected: n.subscribe_on_signup,
        })
        .collect())
}

/// The settings, for staff who may read them.
pub async fn read(state: &AppState, actor: Actor) -> Result<SiteSettings, SettingsError> {
    if !actor.role.can_read_settings() {
        return Err(SettingsError::Forbidden(
            "Only editors and admins read the settings.",
        ));
    }
    let config = state.config.clone();
    Ok(db::run(&state.pool, move |conn| stored(conn, &config)).await?)
}

/// Applies `patch` for an admin and returns the new settings; a value that
/// breaks a rule changes nothing.
pub async fn update(
    state: &AppState,
    actor: Actor,
    patch: SettingsPatch,
) -> Result<SiteSettings, SettingsError> {
    if !actor.role.can_change_settings() {
        return Err(SettingsError::Forbidden("Only admins change the settings."));
    }
    let config = state.config.clone();
    let updated = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let next = stored(conn, &config)?.apply(patch);
            if let Ok(settings) = &next {
                db::settings::save(conn, &settings.to_document()).context("saving the site settings")?;
            }
            anyhow::Ok(next)
        })
    })
    .await??;
    state.read_cache.clear();
    tracing::info!(actor_id = actor.user_id, "site settings changed");
    Ok(updated)
}
