//! Building transactional mail (one template with an action button, and
//! the welcome emails); the newsletter is `newsletter.rs`. Every message is
//! multipart text + HTML.

use askama::Template;
use lettre::{
    Message,
    message::{Mailbox, MultiPart},
};

use crate::config::Config;

/// `MAIL_FROM`'s address under the publication's sender name.
pub(super) fn from(config: &Config, sender_name: &str) -> anyhow::Result<Mailbox> {
    let configured: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address: {e}"))?;
    Ok(Mailbox::new(Some(sender_name.to_owned()), configured.email))
}

pub(super) fn to(email: &str) -> anyhow::Result<Mailbox> {
    email
        .parse()
        .map_err(|e| anyhow::anyhow!("{email:?} is not an address: {e}"))
}

/// A stored transactional message, ready to go, from `sender_name`.
pub fn prepared(
    config: &Config,
    sender_name: &str,
    to_email: &str,
    message_id: String,
    subject: &str,
    text: String,
    html: String,
) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from(config, sender_name)?)
        .to(to(to_email)?)
        .subject(subject)
        .message_id(Some(message_id))
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// The transactional emails, each with one action.
pub enum Transactional {
    VerifyEmail {
        url: String,
    },
    /// Double opt-in for an email-only subscription.
    ConfirmSubscription {
        url: String,
    },
    MagicLink {
        url: String,
    },
    ResetPassword {
        url: String,
    },
    PaymentFailed {
        url: String,
    },
    /// A welcome in the admin's words (`settings::WelcomeEmail`), with
    /// `{publication}` already filled in.
    Welcome {
        /// The paid welcome (else the free one): names the kind.
        paid: bool,
        /// A test an admin sent themselves: the subject says so.
        test: bool,
        subject: String,
        markdown: String,
        /// The site's home page.
        url: String,
        account_url: String,
    },
    /// To a gift's buyer once it is paid: the redeem link, and who hears of
    /// it when (`delivery`, a sentence).
    GiftBought {
        url: String,
        /// "6 months of Gold"
        gift: String,
        delivery: String,
    },
    /// To a gift's recipient, on the buyer's date.
    GiftReceived {
        url: String,
        gift: String,
        /// The buyer's name, or "Someone".
        from: String,
        message: String,
    },
}

#[derive(Template)]
#[template(path = "emails/action.html")]
struct ActionHtml<'a> {
    site: &'a str,
    subject: &'a str,
    heading: &'a str,
    intro: &'a str,
    button: &'a str,
    url: &'a str,
    footnote: &'a str,
}

#[derive(Template)]
#[template(path = "emails/action.txt")]
struct ActionText<'a> {
    site: &'a str,
    heading: &'a str,
    intro: &'a str,
    button: &'a str,
    url: &'a str,
    footnote: &'a str,
}

#[derive(Template)]
#[template(path = "emails/welcome.html")]
struct WelcomeHtml<'a> {
    site: &'a str,
    subject: &'a str,
    html: &'a str,
    url: &'a str,
    account_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/welcome.txt")]
struct WelcomeText<'a> {
    site: &'a str,
    text: &'a str,
    url: &'a str,
    account_url: &'a str,
}

/// A rendered transactional email.
pub struct Rendered {
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Transactional {
    /// The message as `site` (the publication's name) sends it.
    pub fn render(&self, site: &str) -> anyhow::Result<Rendered> {
        if let Self::Welcome {
            paid,
            test,
            subject,
            markdown,
            url,
            account_url,
        } = self
        {
            let subject = if *test {
                format!("[Test] {subject}")
            } else {
                subject.clone()
            };
            let html = crate::domain::markdown::to_safe_html(markdown);
            return Ok(Rendered {
                kind: if *paid { "welcome_paid" } else { "welcome_free" },
                text: WelcomeText {
                    site,
                    text: markdown,
                    url,
                    account_url,
                }
                .render()?,
                html: WelcomeHtml {
                    site,
                    subject: &subject,
                    html: &html,
                    url,
                    account_url,
                }
                .render()?,
                subject,
            });
        }
        let sign_in_heading = format!("Sign in to {site}");
        let subscribe_heading = format!("Subscribe to {site}");
        let gift_intro = match self {
            Self::GiftBought { gift, .. } => {
                format!("Your gift is paid: {gift} at {site}, starting the day it is redeemed.")
            }
            Self::GiftReceived { gift, from, .. } => {
                format!(
                    "{from} gave you {gift} at {site}: every post in full, on the site and in your inbox."
                )
            }
            _ => String::new(),
        };
        let gift_note = match self {
            Self::GiftBought { delivery, .. } => format!("{delivery} The link works once."),
            Self::GiftReceived { from, message, .. } if !message.is_empty() => {
                format!("{from} wrote: “{message}”")
            }
            _ => "Redeem it with a free account; nothing is charged.".to_owned(),
        };
        let (kind, subject, heading, intro, button, url, footnote) = match self {
            Self::VerifyEmail { url } => (
                "verify_email",
                "Confirm your email address",
                "One click to confirm",
                "Confirm this address so we can send you the newsletter.",
                "Confirm my email",
                url,
                "If you did not sign up, ignore this email: nothing happens without the click.",
            ),
            Self::ConfirmSubscription { url } => (
                "confirm_subscription",
                "Confirm your subscription",
                subscribe_heading.as_str(),
                "One click and the newsletter will reach you. No password needed: we will send you a link whenever you want to sign in.",
                "Yes, subscribe me",
                url,
                "If you did not ask to subscribe, ignore this email: nothing happens without the click, and we will not write again.",
            ),
            Self::MagicLink { url } => (
                "magic_link",
                "Your sign-in link",
                sign_in_heading.as_str(),
                "Use this link to sign in. It works once, for 15 minutes.",
                "Sign me in",
                url,
                "If you did not ask to sign in, ignore this email; your account is safe.",
            ),
            Self::ResetPassword { url } => (
                "reset_password",
                "Reset your password",
                "Choose a new password",
                "Someone (we hope you) asked to reset your password. The link works once, for one hour.",
                "Choose a new password",
                url,
                "If it was not you, ignore this email; your password stays as it is.",
            ),
            Self::PaymentFailed { url } => (
                "payment_failed",
                "Your payment failed: please update your card",
                "We could not charge your card",
                "Your latest subscription payment did not go through. Update your card to keep reading without interruption.",
                "Update my card",
                url,
                "We will retry the payment over the next days.",
            ),
            Self::GiftBought { url, .. } => (
                "gift_bought",
                "Your gift subscription is ready",
                "Thank you for your gift",
                gift_intro.as_str(),
                "The gift link",
                url,
                gift_note.as_str(),
            ),
            Self::Welcome { .. } => unreachable!("a welcome has its own template, rendered above"),
            Self::GiftReceived { url, .. } => (
                "gift_received",
                "You have been given a subscription",
                "A gift for you",
                gift_intro.as_str(),
                "Redeem my gift",
                url,
                gift_note.as_str(),
            ),
        };
        Ok(Rendered {
            kind,
            subject: subject.to_owned(),
            text: ActionText {
                site,
                heading,
                intro,
                button,
                url,
                footnote,
            }
            .render()?,
            html: ActionHtml {
                site,
                subject,
                heading,
                intro,
                button,
                url,
                footnote,
            }
            .render()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Snapshots of every transactional email, text and HTML.
    use crate::domain::settings::WelcomeEmail;

    #[test]
    fn every_email_looks_as_approved() {
        let url = || "https://news.example.com/LINK".to_owned();
        for email in [
            Transactional::VerifyEmail { url: url() },
            Transactional::ConfirmSubscription { url: url() },
            Transactional::MagicLink { url: url() },
            Transactional::ResetPassword { url: url() },
            Transactional::PaymentFailed { url: url() },
            Transactional::Welcome {
                paid: false,
                test: false,
                subject: WelcomeEmail::default_free().subject_for("Broadsheet"),
                markdown: WelcomeEmail::default_free().markdown_for("Broadsheet"),
                url: url(),
                account_url: "https://news.example.com/account".into(),
            },
            Transactional::Welcome {
                paid: true,
                test: true,
                subject: WelcomeEmail::default_paid().subject_for("Broadsheet"),
                markdown: "Thank you, **truly**.\n\n<script>alert(1)</script>".into(),
                url: url(),
                account_url: "https://news.example.com/account".into(),
            },
            Transactional::GiftBought {
                url: url(),
                gift: "6 months of Gold".into(),
                delivery: "We will email it to ana@example.com on 24 December 2026.".into(),
            },
            Transactional::GiftReceived {
                url: url(),
                gift: "6 months of Gold".into(),
                from: "Ines".into(),
                message: "Happy birthday! <3".into(),
            },
        ] {
            let rendered = email.render("Broadsheet").unwrap();
            insta::assert_snapshot!(
                format!("{}_text", rendered.kind),
                format!("Subject: {}\n\n{}", rendered.subject, rendered.text)
            );
            insta::assert_snapshot!(format!("{}_html", rendered.kind), rendered.html);
        }
    }
}
