//! What brought a reader to sign up or to pay, as far as the site's own
//! pages know it: the post whose form or teaser they used, the newsletter
//! post whose link brought them, the gift link they read through, the offer
//! they claimed, and the site that referred them (its host only).
//!
//! A page writes its [`Trail`] into its forms (a hidden `trail` field) and
//! into the links of its calls to action (`?trail=`), and Checkout carries
//! it as metadata; no cookie, nothing about the visitor. A trail is only a
//! hint a visitor can edit: each part is checked here, and ids that name
//! nothing are dropped when it is stored.

use std::fmt;

use super::{signup_source::SignupSource, slug::Slug, text_enum::text_enum};

/// The query parameter links and forms carry a trail in.
pub const TRAIL_PARAMETER: &str = "trail";
/// A link's own name for where it was shared (`?ref=hn`), as Ghost and many
/// sites use it; `newsletter:{slug}` names a newsletter post.
pub const REF_PARAMETER: &str = "ref";
/// The prefix of a `ref` that names the newsletter post a link was in.
const NEWSLETTER_REF: &str = "newsletter:";
/// The longest referrer kept (a host name is at most 253).
const MAX_REFERRER: usize = 100;
/// The longest encoded trail taken (Stripe allows 500 per metadata value).
pub const MAX_ENCODED: usize = 480;

text_enum! {
    /// Why a member was counted.
    pub enum AttributionKind("kind") {
        /// A new member.
        Signup => "signup",
        /// A paid subscription started or a gift subscription redeemed.
        Paid => "paid",
    }
}

/// How a reader reached a form, as the pages saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// The post whose form, teaser or call to action they used.
    pub post: Option<Slug>,
    /// The newsletter post whose link brought them to the site.
    pub newsletter: Option<Slug>,
    /// The gift link they were reading through.
    pub gift_link: Option<i32>,
    /// The offer they claimed (set by the server at Checkout).
    pub offer: Option<i32>,
    /// The referring site's host (`news.ycombinator.com`), or the name a
    /// `?ref=` link gave.
    pub referrer: Option<String>,
}

impl Trail {
    /// Reads an encoded trail (`post=…&ref=…`). Parts that do not check out
    /// are left out: a trail is a hint, never a reason to refuse a form.
    pub fn decode(encoded: &str) -> Self {
        let mut trail = Self::default();
        if encoded.len() > MAX_ENCODED {
            return trail;
        }
        for (name, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
            match &*name {
                "post" => trail.post = Slug::parse(&value).ok(),
                "newsletter" => trail.newsletter = Slug::parse(&value).ok(),
                "gift" => trail.gift_link = positive_id(&value),
                "offer" => trail.offer = positive_id(&value),
                "ref" => trail.referrer = referrer_name(&value),
                _ => {}
            }
        }
        trail
    }

    /// The trail as a form field or query value; empty when nothing is known.
    pub fn encode(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(post) = &self.post {
            out.append_pair("post", post.as_str());
        }
        if let Some(newsletter) = &self.newsletter {
            out.append_pair("newsletter", newsletter.as_str());
        }
        if let Some(gift) = self.gift_link {
            out.append_pair("gift", &gift.to_string());
        }
        if let Some(offer) = self.offer {
            out.append_pair("offer", &offer.to_string());
        }
        if let Some(referrer) = &self.referrer {
            out.append_pair("ref", referrer);
        }
        out.finish()
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `path` with this trail as its `trail` parameter (for the links of a
    /// call to action); `path` itself when the trail is empty.
    pub fn link(&self, path: &str) -> String {
        if self.is_empty() {
            return path.to_owned();
        }
        let separator = if path.contains('?') { '&' } else { '?' };
        let value: String = url::form_urlencoded::byte_serialize(self.encode().as_bytes()).collect();
        format!("{path}{separator}{TRAIL_PARAMETER}={value}")
    }

    /// Takes what a page request tells: its `ref` parameter (a newsletter
    /// post or a name), else the host of a `Referer` that is not this site.
    pub fn arrived(&mut self, ref_parameter: Option<&str>, referer: Option<&str>, site_host: &str) {
        match ref_parameter {
            Some(value) if let Some(slug) = value.strip_prefix(NEWSLETTER_REF) => {
                self.newsletter = Slug::parse(slug).ok();
            }
            Some(value) => self.referrer = referrer_name(value),
            None => {}
        }
        if self.referrer.is_none() && self.newsletter.is_none() {
            self.referrer = referer.and_then(|r| foreign_host(r, site_host));
        }
    }

    /// Adds what a sign-up form's source says: its post (when the trail
    /// names none); returns the embedding page's origin, if it was framed.
    pub fn with_source(&mut self, source: &SignupSource) -> Option<String> {
        match source {
            SignupSource::Article(slug) if self.post.is_none() => {
                self.post = Some(slug.clone());
                None
            }
            SignupSource::Embed(origin) => origin.clone(),
            _ => None,
        }
    }

    /// The trail a later page inherits from one carried in `next` (a path
    /// with `?trail=`), as sign-up takes it from the subscribe page's.
    pub fn in_path(path: &str) -> Self {
        let Some((_, query)) = path.split_once('?') else {
            return Self::default();
        };
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == TRAIL_PARAMETER)
            .map(|(_, value)| Self::decode(&value))
            .unwrap_or_default()
    }
}

/// The `ref` value a newsletter post's links to the site carry.
pub fn newsletter_ref(slug: &str) -> String {
    format!("{NEWSLETTER_REF}{slug}")
}

fn positive_id(raw: &str) -> Option<i32> {
    raw.parse().ok().filter(|id: &i32| *id > 0)
}

/// A referrer name: lower case letters, digits, `.`, `-` and `_`, as host
/// names and `?ref=` names are.
fn referrer_name(raw: &str) -> Option<String> {
    let name = raw.trim().to_ascii_lowercase();
    let fits = !name.is_empty()
        && name.len() <= MAX_REFERRER
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    fits.then_some(name)
}

/// The host of a `Referer` from another site (never its path or query:
/// those can name the reader); `None` for this site or anything unreadable.
fn foreign_host(referer: &str, site_host: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_start_matches("www.");
    if host.eq_ignore_ascii_case(site_host.trim_start_matches("www.")) {
        return None;
    }
    referrer_name(host)
}

impl fmt::Display for Trail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> Option<Slug> {
        Some(Slug::parse(s).unwrap())
    }

    #[test]
    fn a_trail_round_trips_and_a_bad_part_is_dropped_alone() {
        let trail = Trail {
            post: slug("a-day-out"),
            newsletter: slug("monday-notes"),
            gift_link: Some(7),
            offer: Some(3),
            referrer: Some("news.ycombinator.com".into()),
        };
        assert_eq!(Trail::decode(&trail.encode()), trail);
        let edited = Trail::decode("post=Not%20A%20Slug&gift=-4&offer=x&ref=%3Cscript%3E&newsletter=ok");
        assert_eq!(
            edited,
            Trail {
                newsletter: slug("ok"),
                ..Trail::default()
            }
        );
        assert_eq!(Trail::decode(&"post=a&".repeat(100)), Trail::default());
    }

    #[test]
    fn a_page_takes_the_ref_parameter_first_and_only_a_foreign_referers_host() {
        let arrived = |r: Option<&str>, referer: Option<&str>| {
            let mut trail = Trail::default();
            trail.arrived(r, referer, "news.example.com");
            trail
        };
        assert_eq!(
            arrived(None, Some("https://www.google.com/search?q=secret"))
                .referrer
                .as_deref(),
            Some("google.com")
        );
        assert_eq!(
            arrived(None, Some("https://news.example.com/p/x")),
            Trail::default()
        );
        assert_eq!(arrived(None, Some("android-app://x")), Trail::default());
        assert_eq!(
            arrived(Some("HN"), Some("https://a.example/"))
                .referrer
                .as_deref(),
            Some("hn")
        );
        let from_newsletter = arrived(Some("newsletter:monday-notes"), Some("https://mail.example/"));
        assert_eq!(from_newsletter.newsletter, slug("monday-notes"));
        assert_eq!(from_newsletter.referrer, None);
    }

    #[test]
    fn a_forms_source_fills_in_the_post_and_gives_the_embedding_origin() {
        let mut trail = Trail::default();
        assert_eq!(
            trail.with_source(&SignupSource::Article(Slug::parse("on-tides").unwrap())),
            None
        );
        assert_eq!(trail.post, slug("on-tides"));
        let mut named = Trail {
            post: slug("gifted"),
            ..Trail::default()
        };
        named.with_source(&SignupSource::Article(Slug::parse("on-tides").unwrap()));
        assert_eq!(named.post, slug("gifted"), "the trail's own post wins");
        let embed = SignupSource::Embed(Some("https://blog.example.com".into()));
        assert_eq!(
            Trail::default().with_source(&embed).as_deref(),
            Some("https://blog.example.com")
        );
        assert_eq!(Trail::default().with_source(&SignupSource::Home), None);
    }

    #[test]
    fn a_link_carries_the_trail_and_a_later_page_finds_it_in_next() {
        let trail = Trail {
            post: slug("a-day-out"),
            referrer: Some("t.co".into()),
            ..Trail::default()
        };
        let link = trail.link("/subscribe");
        assert_eq!(link, "/subscribe?trail=post%3Da-day-out%26ref%3Dt.co");
        assert_eq!(Trail::in_path(&link), trail);
        assert_eq!(Trail::default().link("/subscribe"), "/subscribe");
        assert_eq!(Trail::in_path("/subscribe"), Trail::default());
    }
}
