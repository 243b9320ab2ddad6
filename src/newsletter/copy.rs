//! One recipient's copy of a post's email: the access decision for that
//! recipient, the body it allows (the one body chooser), and the message.
//! The worker sends these; a test send is the same copy for a sample reader.

use std::collections::HashMap;

use lettre::Message;

use crate::{
    config::Config,
    db::{self, articles::Article, newsletters::StoredNewsletter},
    domain::tracking::LinkKey,
    domain::{
        access::{self, Access, Comp, Member, Policy, Reader},
        role::Role,
        settings::Publication,
    },
    mail::newsletter::{self, CoverView, NewsletterIssue, Personal, RenderedIssue, Tracking},
    reading,
    security::signed::{self, SigningKey},
};

/// Who gets a copy.
pub struct Recipient<'a> {
    pub user_id: i32,
    /// The delivery the message is; none for a test send, which is not
    /// tracked.
    pub delivery_id: Option<i32>,
    pub email: &'a str,
    pub reader: &'a Reader,
}

/// Copies of any number of posts for any number of recipients, rendering
/// each post once per access variant (what the decision allows differs
/// between variants, never between two recipients of one).
pub struct Copies<'a> {
    pub config: &'a Config,
    pub key: &'a SigningKey,
    pub policy: &'a Policy,
    pub site: &'a Publication,
    /// Set for a test send: whose copy it is ("paid subscribers").
    pub test_of: Option<&'a str>,
    rendered: HashMap<(i32, Variant), RenderedIssue>,
}

/// What tells one group of recipients' copies from another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Variant {
    full: bool,
    cta: Option<&'static str>,
}

impl Variant {
    fn of(access: Access) -> Self {
        match access {
            Access::Full { .. } => Self {
                full: true,
                cta: None,
            },
            Access::Preview { cta, .. } => Self {
                full: false,
                cta: Some(cta.kind()),
            },
        }
    }
}

impl<'a> Copies<'a> {
    pub fn new(config: &'a Config, key: &'a SigningKey, policy: &'a Policy, site: &'a Publication) -> Self {
        Self {
            config,
            key,
            policy,
            site,
            test_of: None,
            rendered: HashMap::new(),
        }
    }

    /// `recipient`'s message for `article` sent through `through`.
    pub fn message(
        &mut self,
        article: &Article,
        through: &StoredNewsletter,
        recipient: &Recipient<'_>,
        message_id: String,
    ) -> anyhow::Result<Message> {
        let access = access::decide(recipient.reader, article.gate(), db::now(), self.policy);
        let key = (article.row.id, Variant::of(access));
        if !self.rendered.contains_key(&key) {
            let issue = self.render(article, through, access)?;
            self.rendered.insert(key, issue);
        }
        let personal = Personal {
            read_online_url: self.read_online_url(article, recipient.user_id),
            unsubscribe_token: signed::unsubscribe_token(
                self.key,
                recipient.user_id,
                through.id,
                recipient.delivery_id,
            ),
            delivery_id: recipient.delivery_id,
        };
        self.rendered[&key].message(self.config, self.key, recipient.email, message_id, &personal)
    }

    /// The tracked links of every copy rendered so far, by article: each
    /// send must record them before a message carrying them goes out.
    pub fn tracked_links(&self) -> HashMap<i32, Vec<(LinkKey, String)>> {
        let mut by_article: HashMap<i32, Vec<(LinkKey, String)>> = HashMap::new();
        for ((article_id, _), issue) in &self.rendered {
            let links = by_article.entry(*article_id).or_default();
            links.extend(
                issue
                    .tracked_links()
                    .addresses()
                    .map(|(key, url)| (key, url.to_owned())),
            );
        }
        by_article
    }

    fn render(
        &self,
        article: &Article,
        through: &StoredNewsletter,
        access: Access,
    ) -> anyhow::Result<RenderedIssue> {
        let row = &article.row;
        let body = reading::allowed_body(row, access);
        let text = body.plain_text(self.config.preview_chars);
        let url_for = |path: &str| self.config.url_for(path);
        let cover = row.feature_image.as_deref().map(|image| CoverView {
            url: newsletter::absolute(image, url_for),
            alt: row.feature_image_alt.clone().unwrap_or_default(),
            caption: row.feature_image_caption.clone().unwrap_or_default(),
        });
        let author = article.author();
        NewsletterIssue {
            site: self.site,
            sender_name: through
                .sender_name
                .as_deref()
                .unwrap_or(&self.site.settings.sender_name),
            newsletter: &through.name,
            subject: row.subject(),
            preheader: row.preheader(),
            title: &row.title,
            author: &author,
            date: self.site.date(row.published_at.unwrap_or_else(db::now)),
            cover,
            html: body.html(),
            text: &text,
            cta: body.call_to_action(),
            test_of: self.test_of,
            // A test send has no delivery to count against.
            tracking: match self.test_of {
                Some(_) => Tracking::default(),
                None => Tracking {
                    clicks: self.config.track_clicks,
                    opens: self.config.track_opens,
                },
            },
        }
        .render(url_for)
    }

    /// The post on the site, or for an email-only post the recipient's own
    /// signed link to it.
    fn read_online_url(&self, article: &Article, user_id: i32) -> String {
        let path = if article.row.on_site {
            format!("/p/{}", article.row.slug)
        } else {
            format!(
                "/email/{}",
                signed::email_copy_token(self.key, user_id, article.row.id)
            )
        };
        self.config.url_for(&path)
    }
}

/// A member as a test send imagines them: paying (a comp of every tier,
/// which reads any paid post) or free.
pub fn sample_reader(paying: bool) -> Reader {
    let comps = if paying {
        vec![Comp {
            expires_at: None,
            tier: None,
        }]
    } else {
        Vec::new()
    };
    Reader::Member(Member {
        role: Role::Reader,
        subscriptions: Vec::new(),
        comps,
        suspended: false,
    })
}
