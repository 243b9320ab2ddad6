//! What every site page shares: the layout, flash messages, safe redirects.

use std::sync::Arc;

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::{StatusCode, header},
};

use crate::{
    config::Config,
    domain::{
        access::{Reader, Standing},
        attribution::{REF_PARAMETER, TRAIL_PARAMETER, Trail},
        settings::{Publication, SiteSettings},
    },
    web::{
        csrf,
        extract::{CurrentReader, SESSION_COOKIE},
        views::{self, Layout},
    },
};

pub const FLASH_COOKIE: &str = "bs_flash";

/// A form with nothing but its CSRF token (a button).
#[derive(serde::Deserialize)]
pub struct EmptyForm {}

pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .map(str::to_owned)
}

/// The client's address for throttling: the TCP peer, or behind
/// `BROADSHEET_TRUSTED_PROXIES` proxies the address the outermost of them
/// saw (see `client_address`).
pub fn client_ip(req: &HttpRequest, state: &crate::state::AppState) -> std::net::IpAddr {
    let config = &state.config;
    let peer = req.peer_addr().map(|a| a.ip());
    let header = if config.trust_forwarded_header {
        actix_web::http::header::FORWARDED
    } else {
        actix_web::http::header::HeaderName::from_static("x-forwarded-for")
    };
    let hops: Vec<&str> = req
        .headers()
        .get_all(header)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    crate::security::client_address::from_hops(
        peer,
        &hops,
        config.trusted_proxies,
        config.trust_forwarded_header,
    )
    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}

/// The publication's settings for this request, loaded once per request
/// (the read cache's entry, or the database when the cache is off) and
/// shared by everything that renders it: the page cache's key and the
/// layout see the very same load.
pub async fn publication(req: &HttpRequest, state: &crate::state::AppState) -> Arc<Publication> {
    let loaded = req.extensions().get::<Arc<Publication>>().cloned();
    if let Some(site) = loaded {
        return site;
    }
    let site = crate::publication::current(state).await;
    req.extensions_mut().insert(site.clone());
    site
}

/// The header and footer of a page, with the publication's current settings.
pub async fn layout(req: &HttpRequest, reader: &CurrentReader) -> Layout {
    let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
    let site = match state {
        Some(state) => publication(req, state).await,
        None => Arc::new(Publication::new(SiteSettings::defaults(
            "Broadsheet",
            "Broadsheet",
        ))),
    };
    layout_with(req, reader, site)
}

/// The layout with the settings this process last saw, asking the database
/// nothing: for the page that says the database is unreachable.
pub fn layout_offline(req: &HttpRequest) -> Layout {
    let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
    let site = state
        .and_then(|state| state.read_cache.last_publication())
        .unwrap_or_else(|| {
            Arc::new(Publication::new(SiteSettings::defaults(
                "Broadsheet",
                "Broadsheet",
            )))
        });
    layout_with(req, &CurrentReader::anonymous(), site)
}

/// What the layout shows differently to different signed-in readers, short
/// of their own email and form token: part of a shared page's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderFlags {
    /// A signed-in member who could pay but does not: "Upgrade" in the header.
    pub upgrade: bool,
    /// Authors, editors and admins get a link to the editor.
    pub is_staff: bool,
}

impl ReaderFlags {
    pub fn of(req: &HttpRequest, reader: &CurrentReader) -> Self {
        let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
        let billing_on = state.is_some_and(|state| state.billing.is_some());
        let upgrade = billing_on
            && match (&reader.reader, state) {
                (Reader::Member(member), Some(state)) => matches!(
                    Standing::of(member, crate::db::now(), &state.policy),
                    Standing::Free | Standing::Lapsed
                ),
                _ => false,
            };
        Self {
            upgrade,
            is_staff: reader.user.as_ref().is_some_and(|u| u.role().is_staff()),
        }
    }
}

/// Set on a request whose page is rendered once for every signed-in reader
/// with the same key (`page_cache`): the layout writes these stand-ins where
/// the reader's own email and form token go, and each response gets its
/// reader's put in their place.
#[derive(Clone)]
pub struct SharedRender {
    pub csrf_token: &'static str,
    pub email: &'static str,
}

fn layout_with(req: &HttpRequest, reader: &CurrentReader, site: Arc<Publication>) -> Layout {
    let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>();
    let billing_on = state.is_some_and(|state| state.billing.is_some());
    let flags = ReaderFlags::of(req, reader);
    let shared = req.extensions().get::<SharedRender>().cloned();
    let (user_email, csrf_token) = match shared {
        Some(stand_ins) => (
            reader.user.as_ref().map(|_| stand_ins.email.to_owned()),
            stand_ins.csrf_token.to_owned(),
        ),
        None => (reader.email(), csrf::token_for(req)),
    };
    Layout {
        subscribe_url: if billing_on { "/subscribe" } else { "/join" },
        upgrade: flags.upgrade,
        copyright: site.copyright(crate::db::now()),
        site,
        user_email,
        is_staff: flags.is_staff,
        csrf_token,
        flash: req
            .cookie(FLASH_COOKIE)
            .map(|c| {
                percent_encoding::percent_decode_str(c.value())
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .filter(|f| !f.is_empty()),
        here: req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned(),
    }
}

/// Renders a page with `status`; a shown flash message is cleared.
pub fn render(
    req: &HttpRequest,
    status: StatusCode,
    page: &impl askama::Template,
) -> anyhow::Result<HttpResponse> {
    Ok(html_page(req, status, views::render(page)?))
}

/// A rendered page as the response; a one-time message it showed is
/// forgotten.
pub fn html_page(
    req: &HttpRequest,
    status: StatusCode,
    html: impl Into<actix_web::web::Bytes>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    if req.cookie(FLASH_COOKIE).is_some() {
        let mut gone = Cookie::new(FLASH_COOKIE, "");
        gone.set_path("/");
        gone.make_removal();
        response.cookie(gone);
    }
    response.body(html.into())
}

/// 303 See Other to `to`, carrying a one-time message for the next page.
pub fn redirect_with_flash(to: &str, flash: &str) -> HttpResponse {
    // Encoded: a cookie value ends at `;` and may not hold every character.
    let encoded =
        percent_encoding::utf8_percent_encode(flash, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut cookie = Cookie::new(FLASH_COOKIE, encoded);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .cookie(cookie)
        .finish()
}

/// 301: the thing lives at `to` now (a renamed article).
pub fn moved_permanently(to: &str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// An error message as a sentence for a page: capitalized, with a full stop.
pub fn as_sentence(message: &str) -> String {
    let mut chars = message.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

/// A `next` target that stays on this site: a local path, not `//host` or
/// `/\host` (which browsers read as another host) and not a URL.
/// `page?next=then`: a sign-in or sign-up page that returns to `then`.
pub fn via(page: &str, then: &str) -> String {
    format!(
        "{page}?next={}",
        percent_encoding::utf8_percent_encode(then, percent_encoding::NON_ALPHANUMERIC)
    )
}

pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub fn session_cookie(config: &Config, token: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(
            crate::accounts::SESSION_LIFETIME.whole_days(),
        ))
        .finish()
}

pub fn session_cookie_removal() -> Cookie<'static> {
    let mut cookie = Cookie::new(SESSION_COOKIE, "");
    cookie.set_path("/");
    cookie.make_removal();
    cookie
}

/// A page with a title and one message ("Check your inbox", "Link expired").
pub async fn notice(
    req: &HttpRequest,
    reader: &CurrentReader,
    status: StatusCode,
    title: &'static str,
    message: impl Into<std::borrow::Cow<'static, str>>,
) -> crate::web::error::PageResult<HttpResponse> {
    let page = views::NoticePage {
        layout: layout(req, reader).await,
        title,
        message: message.into(),
    };
    Ok(render(req, status, &page)?)
}

/// How the reader arrived at this page, for the attribution of a sign-up
/// from it: the trail a call to action's link carried (`?trail=`), then the
/// page's `?ref=`, else the host of another site's `Referer`.
pub fn arrival(req: &HttpRequest, config: &Config) -> Trail {
    let mut carried = None;
    let mut named = None;
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match &*name {
            TRAIL_PARAMETER => carried = Some(Trail::decode(&value)),
            REF_PARAMETER => named = Some(value.into_owned()),
            _ => {}
        }
    }
    let mut trail = carried.unwrap_or_default();
    let referer = req.headers().get(header::REFERER).and_then(|v| v.to_str().ok());
    trail.arrived(named.as_deref(), referer, config.public_host());
    trail
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(local_path(Some("/p/hello?x=1")), "/p/hello?x=1");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
