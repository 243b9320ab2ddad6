//! Click and open tracking in a newsletter's HTML. A copy shared by many
//! recipients has its links replaced by stand-ins naming each link's key
//! (`track_links`, once per copy); each recipient's message then gets their
//! own signed links (`TrackedLinks::link_for`, put in by `shared_part`).
//!
//! A link to another site becomes `/r/{token}`, which records the click and
//! redirects to the address the send recorded. A link to this site keeps its
//! address and carries `?bs_click={token}`: the site records the click and
//! redirects to the address without it, and a reader whose mail client or
//! extension strips the parameter still lands on the page.

use std::collections::HashMap;

use lol_html::{RewriteStrSettings, element, html_content::ContentType, rewrite_str};

use crate::{
    domain::{
        markdown::escape_markup,
        tracking::{CLICK_PARAMETER, LinkKey},
    },
    security::signed::{self, SigningKey},
};

/// The stand-in of a tracked link: this prefix, the link key's 16 hex
/// digits and a slash (`click_stand_in`).
const CLICK_SLOT: &str = "https://click.broadsheet.invalid/";
/// The stand-in of the open pixel's address.
pub const OPEN_SLOT: &str = "https://open.broadsheet.invalid/";

/// The links of one copy that were replaced, by key.
#[derive(Debug, Default)]
pub struct TrackedLinks {
    /// Key → (address as written, whether it is on this site).
    links: HashMap<LinkKey, (String, bool)>,
}

impl TrackedLinks {
    /// Every tracked address of the copy, for the send's record.
    pub fn addresses(&self) -> impl Iterator<Item = (LinkKey, &str)> {
        self.links.iter().map(|(key, (url, _))| (*key, url.as_str()))
    }

    /// Each tracked link's stand-in, by key.
    pub fn stand_ins(&self) -> impl Iterator<Item = (LinkKey, String)> + '_ {
        self.links.keys().map(|key| (*key, click_stand_in(*key)))
    }

    /// `delivery_id`'s own link for the one with `key` (or, with no
    /// delivery, the address itself), escaped for an HTML attribute.
    pub fn link_for(
        &self,
        key: LinkKey,
        delivery: Option<(&SigningKey, i32)>,
        url_for: &dyn Fn(&str) -> String,
    ) -> String {
        match self.links.get(&key) {
            Some((url, on_site)) => escape_markup(&personal_link(key, url, *on_site, delivery, url_for)),
            None => click_stand_in(key),
        }
    }
}

/// A tracked link's stand-in: a valid URL on a reserved domain, never sent.
fn click_stand_in(key: LinkKey) -> String {
    format!("{CLICK_SLOT}{}/", key.hex())
}

/// One recipient's link to `url`.
fn personal_link(
    key: LinkKey,
    url: &str,
    on_site: bool,
    delivery: Option<(&SigningKey, i32)>,
    url_for: &dyn Fn(&str) -> String,
) -> String {
    let Some((signing_key, delivery_id)) = delivery else {
        return url.to_owned();
    };
    let token = signed::click_token(signing_key, delivery_id, key);
    if !on_site {
        return url_for(&format!("/r/{token}"));
    }
    // Before any fragment, after any query.
    let (address, fragment) = url.split_once('#').map_or((url, None), |(a, f)| (a, Some(f)));
    let joiner = if address.contains('?') { '&' } else { '?' };
    let mut link = format!("{address}{joiner}{CLICK_PARAMETER}={token}");
    if let Some(fragment) = fragment {
        link.push('#');
        link.push_str(fragment);
    }
    link
}

/// Replaces every `http(s)` link in `html` but the `untracked` ones (a
/// recipient's own links) with its stand-in; `site` is this site's address
/// (`https://example.com/`), whose links keep their address.
pub fn track_links(html: &str, site: &str, untracked: &[&str]) -> anyhow::Result<(String, TrackedLinks)> {
    let mut tracked = TrackedLinks::default();
    let rewritten = rewrite_str(
        html,
        RewriteStrSettings::new().append_element_content_handler(element!("a[href]", |a| {
            let Some(raw) = a.get_attribute("href") else {
                return Ok(());
            };
            let url = html_escape::decode_html_entities(raw.trim()).into_owned();
            let web = url.starts_with("https://") || url.starts_with("http://");
            if !web || untracked.iter().any(|own| url.starts_with(own)) {
                return Ok(());
            }
            let key = LinkKey::of(&url);
            a.set_attribute("href", &click_stand_in(key))?;
            let on_site = url.starts_with(site);
            tracked.links.insert(key, (url, on_site));
            Ok(())
        })),
    )
    .map_err(|e| anyhow::anyhow!("rewriting the newsletter's links: {e}"))?;
    Ok((rewritten, tracked))
}

/// The open pixel, placed last in the body.
pub fn with_open_pixel(html: &str) -> anyhow::Result<String> {
    rewrite_str(
        html,
        RewriteStrSettings::new().append_element_content_handler(element!("body", |body| {
                body.append(
                    &format!(
                        r#"<img src="{OPEN_SLOT}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">"#
                    ),
                    ContentType::Html,
                );
                Ok(())
            })),
    )
    .map_err(|e| anyhow::anyhow!("adding the open pixel: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "https://news.example.com/";

    fn url_for(path: &str) -> String {
        format!("https://news.example.com{path}")
    }

    #[test]
    fn each_web_link_is_replaced_once_per_address_and_personal_links_are_left() {
        let html = r#"<p><a href="https://elsewhere.org/a?x=1&amp;y=2">a</a>
            <a href="https://elsewhere.org/a?x=1&amp;y=2">again</a>
            <a href="mailto:ed@example.com">mail</a>
            <a href="https://news.example.com/p/other#notes">ours</a>
            <a href="https://unsubscribe.broadsheet.invalid/">unsubscribe</a></p>"#;
        let (shared, links) = track_links(html, SITE, &["https://unsubscribe.broadsheet.invalid/"]).unwrap();
        assert_eq!(links.links.len(), 2);
        assert!(!shared.contains("elsewhere.org"));
        assert!(shared.contains("mailto:ed@example.com"));
        assert!(shared.contains("https://unsubscribe.broadsheet.invalid/"));

        let key = SigningKey::new([7; 32]);
        let fill = |delivery: Option<(&SigningKey, i32)>| {
            links.stand_ins().fold(shared.clone(), |html, (link, stand_in)| {
                html.replace(&stand_in, &links.link_for(link, delivery, &url_for))
            })
        };
        let mine = fill(Some((&key, 12)));
        let external = LinkKey::of("https://elsewhere.org/a?x=1&y=2");
        let token = signed::click_token(&key, 12, external);
        assert_eq!(
            mine.matches(&format!("https://news.example.com/r/{token}"))
                .count(),
            2
        );
        let ours = signed::click_token(&key, 12, LinkKey::of("https://news.example.com/p/other#notes"));
        assert!(mine.contains(&format!("https://news.example.com/p/other?bs_click={ours}#notes")));
        assert!(!mine.contains(CLICK_SLOT));

        let untracked = fill(None);
        assert!(untracked.contains(r#"href="https://elsewhere.org/a?x=1&amp;y=2""#));
    }

    #[test]
    fn a_link_to_this_site_with_a_query_gets_the_token_as_one_more_parameter() {
        let key = SigningKey::new([7; 32]);
        let link = personal_link(
            LinkKey::of("x"),
            "https://news.example.com/tag/rivers?page=2",
            true,
            Some((&key, 3)),
            &url_for,
        );
        assert!(link.starts_with("https://news.example.com/tag/rivers?page=2&bs_click="));
    }

    #[test]
    fn the_open_pixel_is_the_bodys_last_element() {
        let html = with_open_pixel("<html><body><p>Hi</p></body></html>").unwrap();
        assert!(html.ends_with(&format!(
            r#"<img src="{OPEN_SLOT}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px"></body></html>"#
        )));
    }
}
