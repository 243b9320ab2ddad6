//! RSS 2.0 feeds and the sitemap. Feed items carry what the access policy
//! allows the feed's reader: the public feed is an anonymous reader, so it
//! has the full text of public posts and the previews of members and paid
//! ones; a private feed is its member and gets what they may read.

use rss::{CategoryBuilder, ChannelBuilder, EnclosureBuilder, GuidBuilder, ItemBuilder};
use time::format_description::well_known::Rfc2822;

use crate::{
    config::Config, db::articles::SitemapEntry, domain::settings::Publication, reading::ReadableArticle,
};

/// `title` is the channel's: the publication's name, or the name of a
/// member's private copy of it.
pub fn rss(config: &Config, site: &Publication, title: &str, articles: &[ReadableArticle]) -> String {
    let items = articles
        .iter()
        .map(|readable| {
            let row = &readable.article.row;
            let url = config.url_for(&readable.article.path());
            let description = readable.html();
            let cover = row.feature_image.as_deref().map(|image| {
                let url = crate::mail::newsletter::absolute(image, |path| config.url_for(path));
                EnclosureBuilder::default()
                    .mime_type(image_type(&url))
                    // The size is not known without fetching it; readers
                    // accept 0 for "unknown".
                    .length("0".to_owned())
                    .url(url)
                    .build()
            });
            ItemBuilder::default()
                .enclosure(cover)
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

/// The media type of an image by its address's extension (a feed
/// enclosure must name one); JPEG when it does not say.
fn image_type(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    let kind = match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("avif") => "image/avif",
        Some("svg") => "image/svg+xml",
        _ => "image/jpeg",
    };
    kind.to_owned()
}

/// A sitemap of the home page, the archive, and every live post and page.
pub fn sitemap(config: &Config, entries: &[SitemapEntry]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut add = |loc: String, lastmod: Option<String>| {
        xml.push_str("  <url><loc>");
        xml.push_str(&crate::domain::markdown::escape_markup(&loc));
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
    for entry in entries {
        add(
            config.url_for(&crate::db::articles::path_of(entry.kind, &entry.slug)),
            Some(crate::domain::time::rfc3339(entry.updated_at)),
        );
    }
    xml.push_str("</urlset>\n");
    xml
}
