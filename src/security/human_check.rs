//! An optional human check (captcha) on the subscribe form, behind a trait:
//! off by default; Cloudflare Turnstile or hCaptcha when configured. Both
//! providers verify an answer the same way ("siteverify": a form POST of
//! `secret`, `response` and `remoteip`, answered `{"success": bool}`), so
//! one implementation serves both. Tests point it at a fake of that
//! endpoint.

use std::{net::IpAddr, time::Duration};

use anyhow::Context;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{CaptchaProvider, Config};

/// What a page needs to show the check.
#[derive(Debug, Clone)]
pub struct Widget {
    /// The provider's script.
    pub script: &'static str,
    /// The element the script turns into the check.
    pub class: &'static str,
    pub site_key: String,
}

#[async_trait]
pub trait HumanCheck: Send + Sync {
    /// The widget forms show; `None` when there is no check.
    fn widget(&self) -> Option<Widget>;
    /// The form field the widget fills with its answer.
    fn answer_field(&self) -> &'static str;
    /// Origins the page must allow scripts and frames from.
    fn origins(&self) -> &'static [&'static str];
    /// Whether `answer` proves a person. An unreachable provider is an
    /// error (the caller decides), never a pass.
    async fn passes(&self, answer: Option<&str>, client: IpAddr) -> anyhow::Result<bool>;
}

/// No check: every form passes.
pub struct NoCheck;

#[async_trait]
impl HumanCheck for NoCheck {
    fn widget(&self) -> Option<Widget> {
        None
    }
    fn answer_field(&self) -> &'static str {
        ""
    }
    fn origins(&self) -> &'static [&'static str] {
        &[]
    }
    async fn passes(&self, _: Option<&str>, _: IpAddr) -> anyhow::Result<bool> {
        Ok(true)
    }
}

/// Turnstile or hCaptcha.
pub struct SiteVerify {
    provider: CaptchaProvider,
    site_key: String,
    secret: SecretString,
    verify_url: url::Url,
    http: reqwest::Client,
}

#[derive(serde::Deserialize)]
struct Verdict {
    success: bool,
}

#[async_trait]
impl HumanCheck for SiteVerify {
    fn widget(&self) -> Option<Widget> {
        let (script, class) = match self.provider {
            CaptchaProvider::HCaptcha => ("https://js.hcaptcha.com/1/api.js", "h-captcha"),
            _ => (
                "https://challenges.cloudflare.com/turnstile/v0/api.js",
                "cf-turnstile",
            ),
        };
        Some(Widget {
            script,
            class,
            site_key: self.site_key.clone(),
        })
    }

    fn answer_field(&self) -> &'static str {
        match self.provider {
            CaptchaProvider::HCaptcha => "h-captcha-response",
            _ => "cf-turnstile-response",
        }
    }

    fn origins(&self) -> &'static [&'static str] {
        match self.provider {
            CaptchaProvider::HCaptcha => &["https://hcaptcha.com", "https://*.hcaptcha.com"],
            _ => &["https://challenges.cloudflare.com"],
        }
    }

    async fn passes(&self, answer: Option<&str>, client: IpAddr) -> anyhow::Result<bool> {
        let Some(answer) = answer.filter(|a| !a.is_empty() && a.len() <= 4096) else {
            return Ok(false);
        };
        let client = client.to_string();
        let form = [
            ("secret", self.secret.expose_secret()),
            ("response", answer),
            ("remoteip", client.as_str()),
            ("sitekey", self.site_key.as_str()),
        ];
        let verdict: Verdict = self
            .http
            .post(self.verify_url.clone())
            .form(&form)
            .send()
            .await
            .context("asking the captcha provider")?
            .error_for_status()
            .context("the captcha provider refused the question")?
            .json()
            .await
            .context("reading the captcha provider's verdict")?;
        Ok(verdict.success)
    }
}

/// The check the configuration asks for.
pub fn from_config(config: &Config) -> anyhow::Result<Box<dyn HumanCheck>> {
    let default_url = match config.captcha {
        CaptchaProvider::Off => return Ok(Box::new(NoCheck)),
        CaptchaProvider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        CaptchaProvider::HCaptcha => "https://api.hcaptcha.com/siteverify",
    };
    let verify_url = match &config.captcha_verify_url {
        Some(url) => url.clone(),
        None => url::Url::parse(default_url)?,
    };
    Ok(Box::new(SiteVerify {
        provider: config.captcha,
        site_key: config
            .captcha_site_key
            .clone()
            .context("BROADSHEET_CAPTCHA_SITE_KEY")?,
        secret: config
            .captcha_secret
            .clone()
            .context("BROADSHEET_CAPTCHA_SECRET")?,
        verify_url,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .context("building the captcha client")?,
    }))
}
