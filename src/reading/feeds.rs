//! RSS 2.0 feeds and the sitemap. Feed items carry what the access policy
//! allows the feed's reader: the public feed is an anonymous reader and gets
//! previews; a private feed is its member and gets what they may read.

use rss::{CategoryBuilder, ChannelBuilder, GuidBuilder, ItemBuilder};
use time::format_description::well_known::Rfc2822;

use crate::{config::Config, domain::settings::Publication, reading::ReadableArticle};

/// The public feed shows previews only, even of public posts: it is an
/// invitation to the site, not a copy of it.
pub enum Bodies {
    PreviewsOnly,
    AsAllowed,
}

/// `title` is the channel's: the publication's name, or the name of a
/// member's private copy of it.
pub fn rss(
    config: &Config,
    site: &Publication,
    title: &str,
    articles: &[ReadableArticle],
    bodies: Bodies,
) -> String {
    let items = articles
        .iter()
        .map(|readable| {
            let row = &readable.article.row;
            let url = config.url_for(&format!("/p/{}", row.slug));
            let description = match bodies {
                Bodies::PreviewsOnly => row.preview_html.as_str(),
                Bodies::AsAllowed => readable.html(),
            };
            ItemBuilder::default()
                .title(Some(row.title.clone()))
                .link(Some(url.clone()))
                .guid(Some(GuidBuilder::default().value(url).permalink(true).build()))
                .pub_date(
                    row.published_at
                        .and_then(|at| at.assume_utc().format(&Rfc2822).ok()),
                )
                .author(Some(readable.article.author().to_owned()))
                .categories(
                    readable
                        .article
                        .tags
                        .iter()
                        .map(|tag| CategoryBuilder::default().name(tag.name.clone()).build())
                        .collect::<Vec<_>>(),
                )
                .description(Some(description.to_owned()))
                .build()
        })
        .collect::<Vec<_>>();
    ChannelBuilder::default()
        .title(title.to_owned())
        .link(config.url_for("/"))
        .description(if site.settings.description.is_empty() {
            format!("The latest from {}", site.title())
        } else {
            site.settings.description.clone()
        })
        .language(Some(site.settings.locale.clone()))
        .items(items)
        .build()
        .to_string()
}

/// A sitemap of the home page and every live article.
pub fn sitemap(config: &Config, articles: &[ReadableArticle]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut add = |loc: String, lastmod: Option<String>| {
        xml.push_str("  <url><loc>");
        xml.push_str(&escape_xml(&loc));
        xml.push_str("</loc>");
        if let Some(lastmod) = lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(&lastmod);
            xml.push_str("</lastmod>");
        }
        xml.push_str("</url>\n");
    };
    add(config.url_for("/"), None);
    add(config.url_for("/archive"), None);
    for readable in articles {
        let row = &readable.article.row;
        add(
            config.url_for(&format!("/p/{}", row.slug)),
            Some(crate::domain::time::rfc3339(row.updated_at)),
        );
    }
    xml.push_str("</urlset>\n");
    xml
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
