//! What a post page tells search engines and link previews: the canonical
//! address, the image for cards, and JSON-LD `Article` data. For a post not
//! everyone may read, the data says so (`isAccessibleForFree: false`) and
//! marks the body as the paywalled part, as search engines ask of sites
//! with paywalls. Nothing here carries any part of a body: only the title,
//! the excerpt (cut from the free preview), dates, names and tags.

use serde_json::json;

use crate::{
    config::Config,
    db::articles::Article,
    domain::{article::Visibility, settings::Publication, time::rfc3339},
    mail::newsletter::absolute,
    web::views::Sharing,
};

/// The CSS selector of the part of a post page that readers without access
/// do not get: the body (its teaser, for them).
pub const PAYWALLED_SELECTOR: &str = ".article .body";

pub fn for_article(article: &Article, config: &Config, site: &Publication) -> Sharing {
    let row = &article.row;
    let url_for = |path: &str| config.url_for(path);
    let canonical = url_for(&article.path());
    let image = row.feature_image.as_deref().map(|image| absolute(image, url_for));
    let published = row.published_at.unwrap_or(row.created_at);
    let free = article.visibility() == Visibility::Public;
    let mut data = json!({
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": row.title,
        "description": row.excerpt,
        "url": canonical,
        "mainEntityOfPage": canonical,
        "datePublished": rfc3339(published),
        "dateModified": rfc3339(row.updated_at),
        "author": article.authors.iter().map(|author| json!({
            "@type": "Person",
            "name": author.display_name(),
            "url": url_for(&format!("/author/{}", author.slug)),
        })).collect::<Vec<_>>(),
        "publisher": {
            "@type": "Organization",
            "name": site.title(),
            "url": url_for("/"),
        },
        "isAccessibleForFree": free,
    });
    if let Some(logo) = site.settings.logo_url.as_deref() {
        data["publisher"]["logo"] = json!({"@type": "ImageObject", "url": absolute(logo, url_for)});
    }
    if let Some(image) = &image {
        data["image"] = json!([image]);
    }
    if !article.tags.is_empty() {
        data["keywords"] = json!(article.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>());
    }
    if !free {
        data["hasPart"] = json!({
            "@type": "WebPageElement",
            "isAccessibleForFree": false,
            "cssSelector": PAYWALLED_SELECTOR,
        });
    }
    Sharing {
        canonical,
        image,
        modified_iso: rfc3339(row.updated_at),
        json_ld: script_safe(&data.to_string()),
    }
}

/// JSON that cannot end the `<script>` element holding it or open a
/// comment: `<`, `>` and `&` written as JSON escapes (same value).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_element_cannot_close_it() {
        let text = json!({"headline": "</script><script>alert(1)</script> & <!--"}).to_string();
        let safe = script_safe(&text);
        assert!(!safe.contains('<') && !safe.contains('>'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["headline"], "</script><script>alert(1)</script> & <!--");
    }
}
