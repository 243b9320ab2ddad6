//! The newsletter email: a post as one group of recipients may read it
//! (rendered, its stylesheet inlined once per group), then each recipient's
//! own links filled in. Inlining is the costly step (it parses the whole
//! document), so the worker does it once per send and access variant, not
//! once per recipient.

use anyhow::Context;
use askama::Template;
use lettre::{
    Message,
    message::{
        MultiPart, SinglePart,
        header::{ContentType, Header, HeaderName, HeaderValue},
    },
};

use super::{
    compose::{from, to},
    shared_part::{SharedPart, StandIns},
    tracking::{self, OPEN_SLOT, TrackedLinks},
};
use crate::{
    config::Config,
    domain::{access::CtaLink, settings::Publication, tracking::LinkKey},
    security::signed::{self, SigningKey},
};

/// `List-Unsubscribe: <https://…>, <mailto:…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// A header whose value is the delivery a message is.
macro_rules! delivery_header {
    ($(#[$doc:meta])* $name:ident, $header:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        struct $name(i32);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($header)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.trim().parse()?))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.to_string())
            }
        }
    };
}

delivery_header!(
    /// `X-Broadsheet-Delivery: 1234`: the bounces and complaints a provider
    /// reports later map back to the delivery.
    DeliveryHeader,
    "X-Broadsheet-Delivery"
);
delivery_header!(
    /// Postmark echoes `X-PM-Metadata-*` headers back in its bounce
    /// webhooks (other providers ignore it).
    PostmarkDeliveryMetadata,
    "X-PM-Metadata-broadsheet-delivery"
);

/// Stand-ins for each recipient's own links while a copy is shared: valid
/// URLs (the inliner parses the document), on a reserved domain, replaced
/// before anything is sent.
const READ_ONLINE_SLOT: &str = "https://read-online.broadsheet.invalid/";
const UNSUBSCRIBE_SLOT: &str = "https://unsubscribe.broadsheet.invalid/";

/// A call to action as an email shows it: its words and an absolute link.
struct CtaView {
    message: String,
    button: &'static str,
    url: String,
}

/// A cover image as an email shows it.
pub struct CoverView {
    /// Absolute.
    pub url: String,
    pub alt: String,
    pub caption: String,
}

#[derive(Template)]
#[template(path = "emails/newsletter.html")]
struct NewsletterHtml<'a> {
    issue: &'a NewsletterIssue<'a>,
    /// The issue's body with absolute links and images.
    body: String,
    logo_url: Option<String>,
    home_url: &'a str,
    cta: Option<&'a CtaView>,
    read_online_url: &'a str,
    unsubscribe_url: &'a str,
    manage_url: &'a str,
    copyright: &'a str,
}

#[derive(Template)]
#[template(path = "emails/newsletter.txt")]
struct NewsletterText<'a> {
    issue: &'a NewsletterIssue<'a>,
    cta: Option<&'a CtaView>,
    read_online_url: &'a str,
    unsubscribe_url: &'a str,
    manage_url: &'a str,
}

/// A post's email as every recipient of one access variant gets it.
pub struct NewsletterIssue<'a> {
    pub site: &'a Publication,
    /// The From display name.
    pub sender_name: &'a str,
    /// The newsletter it goes out through: "The Weekly".
    pub newsletter: &'a str,
    pub subject: &'a str,
    /// The line inboxes show after the subject.
    pub preheader: &'a str,
    pub title: &'a str,
    pub author: &'a str,
    /// "5 December 2026", in the publication's language.
    pub date: String,
    pub cover: Option<CoverView>,
    /// The body or the preview, as the access policy decided.
    pub html: &'a str,
    /// The same part, as markdown (readable as plain text).
    pub text: &'a str,
    pub cta: Option<CtaLink>,
    /// A test an editor sent themselves: whose copy it shows ("paid
    /// subscribers"). The subject and a notice at the top say so.
    pub test_of: Option<&'a str>,
    pub tracking: Tracking,
}

/// What a copy counts (the settings `BROADSHEET_TRACK_CLICKS` and
/// `BROADSHEET_TRACK_OPENS`; nothing in a test send).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracking {
    pub clicks: bool,
    pub opens: bool,
}

/// What differs between two recipients of the same variant.
pub struct Personal {
    pub read_online_url: String,
    pub unsubscribe_token: String,
    /// The delivery this message is (none for a test send): named in a
    /// header and in the tracked links and open pixel.
    pub delivery_id: Option<i32>,
}

/// Where one recipient's copy differs from another's.
#[derive(Debug, Clone, Copy)]
enum StandIn {
    ReadOnline,
    Unsubscribe,
    OpenPixel,
    Click(LinkKey),
}

/// An issue rendered and inlined, waiting for each recipient's links: its
/// text and HTML cut at the stand-ins and encoded once (`shared_part`).
pub struct RenderedIssue {
    sender_name: String,
    subject: String,
    /// Stand-in `i` of both parts is `stand_ins[i]`.
    stand_ins: Vec<StandIn>,
    text: SharedPart,
    html: SharedPart,
    links: TrackedLinks,
}

impl NewsletterIssue<'_> {
    /// Renders both parts with stand-ins for the personal links, and inlines
    /// the HTML's stylesheet (keeping the dark-mode media query in a
    /// `<style>` block, where clients that honour it look).
    pub fn render(&self, url_for: impl Fn(&str) -> String) -> anyhow::Result<RenderedIssue> {
        let cta = self.cta.as_ref().map(|link| CtaView {
            message: link.message(),
            button: link.button(),
            url: url_for(&link.path),
        });
        let manage_url = url_for("/account");
        let logo_url = self
            .site
            .settings
            .logo_url
            .as_deref()
            .map(|logo| absolute(logo, &url_for));
        let home_url = url_for("/");
        let base = url::Url::parse(&home_url).context("the public URL")?;
        let html = NewsletterHtml {
            issue: self,
            body: crate::domain::markdown::for_email(self.html, &base),
            logo_url,
            home_url: &home_url,
            cta: cta.as_ref(),
            read_online_url: READ_ONLINE_SLOT,
            unsubscribe_url: UNSUBSCRIBE_SLOT,
            manage_url: &manage_url,
            copyright: &self.site.copyright(crate::db::now()),
        }
        .render()?;
        let inliner = css_inline::CSSInliner::options()
            .keep_at_rules(true)
            .load_remote_stylesheets(false)
            .build();
        let mut html = inliner
            .inline(&html)
            .map_err(|e| anyhow::anyhow!("inlining the newsletter's CSS: {e}"))?;
        if self.tracking.opens {
            html = tracking::with_open_pixel(&html)?;
        }
        let mut links = TrackedLinks::default();
        if self.tracking.clicks {
            // The recipient's own links and the footer's are not counted.
            let untracked = [READ_ONLINE_SLOT, UNSUBSCRIBE_SLOT, manage_url.as_str()];
            (html, links) = tracking::track_links(&html, &home_url, &untracked)?;
        }
        let text = NewsletterText {
            issue: self,
            cta: cta.as_ref(),
            read_online_url: READ_ONLINE_SLOT,
            unsubscribe_url: UNSUBSCRIBE_SLOT,
            manage_url: &manage_url,
        }
        .render()?;
        let subject = match self.test_of {
            Some(_) => format!("[Test] {}", self.subject),
            None => self.subject.to_owned(),
        };
        let mut stand_ins = vec![(StandIn::ReadOnline, READ_ONLINE_SLOT.to_owned())];
        stand_ins.push((StandIn::Unsubscribe, UNSUBSCRIBE_SLOT.to_owned()));
        if self.tracking.opens {
            stand_ins.push((StandIn::OpenPixel, OPEN_SLOT.to_owned()));
        }
        stand_ins.extend(links.stand_ins().map(|(key, slot)| (StandIn::Click(key), slot)));
        let finder = StandIns::new(&stand_ins.iter().map(|(_, slot)| slot).collect::<Vec<_>>())?;
        Ok(RenderedIssue {
            sender_name: self.sender_name.to_owned(),
            subject,
            stand_ins: stand_ins.into_iter().map(|(stand_in, _)| stand_in).collect(),
            text: SharedPart::new(&text, &finder),
            html: SharedPart::new(&html, &finder),
            links,
        })
    }
}

/// A link from the settings or a post (a path here or an https address) as
/// an email needs it: absolute.
pub fn absolute(link: &str, url_for: impl Fn(&str) -> String) -> String {
    if link.starts_with('/') {
        url_for(link)
    } else {
        link.to_owned()
    }
}

impl RenderedIssue {
    /// The tracked links of this copy, to be recorded for its send before
    /// any message carrying them goes out.
    pub fn tracked_links(&self) -> &TrackedLinks {
        &self.links
    }

    /// The text and HTML parts with this recipient's links.
    pub fn bodies(
        &self,
        key: &SigningKey,
        url_for: &dyn Fn(&str) -> String,
        unsubscribe_url: &str,
        personal: &Personal,
    ) -> (String, String) {
        let values = self.personal_values(key, url_for, unsubscribe_url, personal);
        (self.text.filled(&values), self.html.filled(&values))
    }

    /// What each stand-in is for this recipient.
    fn personal_values(
        &self,
        key: &SigningKey,
        url_for: &dyn Fn(&str) -> String,
        unsubscribe_url: &str,
        personal: &Personal,
    ) -> Vec<String> {
        let delivery = personal.delivery_id.map(|id| (key, id));
        self.stand_ins
            .iter()
            .map(|stand_in| match stand_in {
                StandIn::ReadOnline => personal.read_online_url.clone(),
                StandIn::Unsubscribe => unsubscribe_url.to_owned(),
                StandIn::OpenPixel => match personal.delivery_id {
                    Some(id) => url_for(&format!("/o/{}.gif", signed::open_token(key, id))),
                    // No delivery to count against (a test send, which
                    // never carries the pixel).
                    None => OPEN_SLOT.to_owned(),
                },
                StandIn::Click(link) => self.links.link_for(*link, delivery, url_for),
            })
            .collect()
    }

    /// One recipient's message, with one-click unsubscribe headers.
    pub fn message(
        &self,
        config: &Config,
        key: &SigningKey,
        to_email: &str,
        message_id: String,
        personal: &Personal,
    ) -> anyhow::Result<Message> {
        let unsubscribe_url = config.url_for(&format!("/unsubscribe/{}", personal.unsubscribe_token));
        let from = from(config, &self.sender_name)?;
        let mailto = format!(
            "mailto:{}?subject=unsubscribe-{}",
            from.email, personal.unsubscribe_token
        );
        let url_for = |path: &str| config.url_for(path);
        let values = self.personal_values(key, &url_for, &unsubscribe_url, personal);
        let mut builder = Message::builder()
            .from(from)
            .to(to(to_email)?)
            .subject(&self.subject)
            .message_id(Some(message_id))
            .header(ListUnsubscribe(format!("<{unsubscribe_url}>, <{mailto}>")))
            .header(ListUnsubscribePost);
        if let Some(id) = personal.delivery_id {
            builder = builder
                .header(DeliveryHeader(id))
                .header(PostmarkDeliveryMetadata(id));
        }
        let part = |content_type, shared: &SharedPart| {
            SinglePart::builder()
                .header(content_type)
                .body(shared.encoded(&values))
        };
        Ok(builder.multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &self.text))
                .singlepart(part(ContentType::TEXT_HTML, &self.html)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{access::CallToAction, settings::SiteSettings};

    fn site() -> Publication {
        let mut settings = SiteSettings::defaults("Broadsheet", "Broadsheet");
        settings.logo_url = Some("/media/logo.png".into());
        settings.postal_address = "12 Harbour Street, Leith EH6 6PJ, UK".into();
        settings.copyright = "© 2026 Broadsheet Ltd".into();
        Publication::new(settings)
    }

    fn issue<'a>(
        site: &'a Publication,
        cta: Option<CtaLink>,
        test_of: Option<&'a str>,
    ) -> NewsletterIssue<'a> {
        NewsletterIssue {
            site,
            sender_name: "Broadsheet",
            newsletter: "The Weekly",
            subject: "The river, remembered",
            preheader: "In the spring of 1953 the river rose.",
            title: "What the river remembers",
            author: "Ines Mora",
            date: "5 December 2026".into(),
            cover: Some(CoverView {
                url: "https://news.example.com/media/river.webp".into(),
                alt: "The river in flood".into(),
                caption: "Leith, 1953".into(),
            }),
            html: "<p>In the spring of 1953 the river rose.</p><h2>After</h2><blockquote><p>We waited.</p></blockquote>",
            text: "In the spring of 1953 the river rose.\n\n## After\n\n> We waited.",
            cta,
            test_of,
            tracking: Tracking::default(),
        }
    }

    fn rendered(issue: &NewsletterIssue<'_>) -> (String, String) {
        let url_for = |path: &str| format!("https://news.example.com{path}");
        let personal = Personal {
            read_online_url: "https://news.example.com/p/what-the-river-remembers".into(),
            unsubscribe_token: "TOKEN".into(),
            delivery_id: None,
        };
        let issue = issue.render(url_for).unwrap();
        let key = SigningKey::new([7; 32]);
        let (text, html) = issue.bodies(
            &key,
            &url_for,
            "https://news.example.com/unsubscribe/TOKEN",
            &personal,
        );
        (format!("Subject: {}\n\n{text}", issue.subject), html)
    }

    /// Snapshots of the newsletter, text and HTML: the full copy, a teaser
    /// with its call to action, and a test send.
    #[test]
    fn the_newsletter_looks_as_approved() {
        let site = site();
        let (text, html) = rendered(&issue(&site, None, None));
        insta::assert_snapshot!("newsletter_full_text", text);
        insta::assert_snapshot!("newsletter_full_html", html);
        let cta = CtaLink::new(CallToAction::Subscribe, "what-the-river-remembers");
        let (text, html) = rendered(&issue(&site, Some(cta), None));
        insta::assert_snapshot!("newsletter_preview_text", text);
        insta::assert_snapshot!("newsletter_preview_html", html);
        let (text, _) = rendered(&issue(&site, None, Some("paid subscribers")));
        insta::assert_snapshot!("newsletter_test_text", text);
    }

    #[test]
    fn styles_are_inlined_and_no_stand_in_is_left() {
        let site = site();
        let (text, html) = rendered(&issue(&site, None, None));
        assert!(
            html.contains(r#"<p style="#),
            "paragraphs carry their style: {html}"
        );
        assert!(
            html.contains("prefers-color-scheme: dark"),
            "the dark-mode rules stay"
        );
        for part in [&text, &html] {
            assert!(!part.contains("broadsheet.invalid"), "a stand-in link was left");
            assert!(part.contains("https://news.example.com/unsubscribe/TOKEN"));
            assert!(part.contains("12 Harbour Street"));
        }
        assert!(html.contains("https://news.example.com/media/logo.png"));
        assert!(html.contains(r#"alt="The river in flood""#));
    }

    /// What a mail client shows of a sent message: its text and HTML parts
    /// decoded, and the longest line of the message as sent.
    fn as_received(message: &Message) -> (String, String, usize) {
        use mailparse::MailHeaderMap;
        let raw = message.formatted();
        let longest = raw
            .split(|&b| b == b'\n')
            .map(|line| line.len())
            .max()
            .unwrap_or(0);
        let parsed = mailparse::parse_mail(&raw).unwrap();
        let part = |mime: &str| {
            let found = parsed.subparts.iter().find(|p| p.ctype.mimetype == mime).unwrap();
            assert_eq!(
                found
                    .get_headers()
                    .get_first_value("Content-Transfer-Encoding")
                    .as_deref(),
                Some("quoted-printable")
            );
            found.get_body().unwrap()
        };
        (part("text/plain"), part("text/html"), longest)
    }

    /// Each recipient's message is the copy's text encoded once, joined
    /// with their own encoded links: it must decode to exactly what filling
    /// the links into the copy gives, whatever the text holds (long lines,
    /// letters beyond ASCII, `=`, lines starting with a dot, trailing
    /// spaces, tracked links, the pixel), with no line over RFC 2045's 76.
    #[test]
    fn a_message_decodes_to_the_recipients_copy_and_keeps_every_line_short() {
        let site = site();
        let html = format!(
            "<p>{}</p>\n.a line that starts with a dot\ntrailing spaces   \n<p><a href=\"https://elsewhere.org/x?a=1&amp;b=2\">away</a> <a href=\"{}/p/other#notes\">ours</a></p>",
            "Café “quoted”, a=b &amp; c. ".repeat(40),
            Config::default().url_for(""),
        );
        let text = "Line one =\n.a line that starts with a dot\ntrailing spaces   \nCafé ".repeat(30);
        let mut issue = issue(&site, None, None);
        issue.html = &html;
        issue.text = &text;
        issue.tracking = Tracking {
            clicks: true,
            opens: true,
        };
        let config = Config::default();
        let url_for = |path: &str| config.url_for(path);
        let rendered = issue.render(url_for).unwrap();
        assert!(
            rendered.tracked_links().addresses().count() >= 2,
            "the body's links are tracked"
        );
        let key = SigningKey::new([7; 32]);
        for delivery_id in [41, 42] {
            let personal = Personal {
                read_online_url: format!("https://example.com/p/river?reader={delivery_id}"),
                unsubscribe_token: format!("TOKEN{delivery_id}"),
                delivery_id: Some(delivery_id),
            };
            let message = rendered
                .message(
                    &config,
                    &key,
                    "ana@example.com",
                    "<m@example.com>".into(),
                    &personal,
                )
                .unwrap();
            let (sent_text, sent_html, longest) = as_received(&message);
            let unsubscribe_url = config.url_for(&format!("/unsubscribe/TOKEN{delivery_id}"));
            let (text, html) = rendered.bodies(&key, &url_for, &unsubscribe_url, &personal);
            assert_eq!(sent_text.replace("\r\n", "\n"), text);
            assert_eq!(sent_html.replace("\r\n", "\n"), html);
            assert!(longest <= 76 + 2, "a line of {longest} bytes");
            assert!(html.contains(&format!("reader={delivery_id}")));
            assert!(html.contains(&signed::open_token(&key, delivery_id)));
            assert!(!html.contains("broadsheet.invalid") && !text.contains("broadsheet.invalid"));
            assert!(text.contains("Café") && html.contains("“quoted”"));
        }
    }
}
