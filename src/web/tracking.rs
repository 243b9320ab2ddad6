//! Newsletter tracking on the web: `/r/{token}` (a tracked link to another
//! site), links to this site carrying `?bs_click=`, and `/o/{token}.gif`
//! (the open pixel). See `mail::tracking` for how the links are made.

use actix_web::{
    HttpRequest, HttpResponse,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    get,
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};

use crate::{
    domain::{
        attribution::{self, REF_PARAMETER},
        tracking::CLICK_PARAMETER,
    },
    newsletter::engagement,
    state::AppState,
    web::{
        error::{PageResult, Problem},
        extract::CurrentReader,
        pages,
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(follow_link).service(open_pixel);
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// A tracked link: counts the recipient's first click and sends them on to
/// the address the newsletter had. Anything else is a 404 page, never a
/// redirect.
#[get("/r/{token}")]
async fn follow_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    match engagement::follow_click(&state, &token).await? {
        Some(target) => Ok(redirect(&target.url)),
        None => {
            pages::notice(
                &req,
                &reader,
                StatusCode::NOT_FOUND,
                "Link not found",
                "This link is not one of ours, or it was changed on the way. Check the email it came from.",
            )
            .await
        }
    }
}

/// The open pixel: records the first open, answers the same image always
/// (a mail client shows nothing either way).
#[get("/o/{file}")]
async fn open_pixel(state: web::Data<AppState>, file: web::Path<String>) -> PageResult<HttpResponse> {
    let Some(token) = file.strip_suffix(".gif") else {
        return Err(Problem::not_found("There is no image here.").into());
    };
    if !engagement::record_open(&state, token).await? {
        return Err(Problem::not_found("There is no image here.").into());
    }
    Ok(HttpResponse::Ok()
        .content_type("image/gif")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(PIXEL))
}

/// A 302 that tells nobody where the reader came from.
fn redirect(url: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

/// A GET of a page here with `?bs_click=` (a tracked link to this site):
/// counts the click and redirects to the same address without the
/// parameter, so the address a reader shares never carries their token. A
/// token that does not check out is dropped just the same.
pub async fn follow_site_click(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let marked = req.method() == Method::GET && req.query_string().contains(CLICK_PARAMETER);
    let Some((token, rest)) = marked.then(|| split_click(req.query_string())).flatten() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let followed = match req.app_data::<web::Data<AppState>>() {
        Some(state) => engagement::follow_click(state, &token).await,
        None => Ok(None),
    };
    let newsletter = match followed {
        Ok(target) => target.map(|target| target.post_slug),
        Err(e) => {
            tracing::warn!(error = ?e, "recording a click on a link to the site failed");
            None
        }
    };
    let rest = with_newsletter_ref(rest, newsletter.as_deref());
    let clean = match rest.is_empty() {
        true => req.path().to_owned(),
        false => format!("{}?{rest}", req.path()),
    };
    Ok(req.into_response(redirect(&clean)).map_into_right_body())
}

/// The query a reader lands on: names the newsletter post the link was in
/// (`ref=newsletter:{slug}`, for the attribution of a sign-up from the
/// page) unless the link named its own `ref`.
fn with_newsletter_ref(query: String, post_slug: Option<&str>) -> String {
    let Some(slug) = post_slug else { return query };
    if url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == REF_PARAMETER) {
        return query;
    }
    let mut with_ref = url::form_urlencoded::Serializer::new(query);
    with_ref.append_pair(REF_PARAMETER, &attribution::newsletter_ref(slug));
    with_ref.finish()
}

/// The click token of a query string and the query without it.
fn split_click(query: &str) -> Option<(String, String)> {
    let mut token = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == CLICK_PARAMETER {
            token = Some(value.into_owned());
        } else {
            rest.append_pair(&name, &value);
        }
    }
    Some((token?, rest.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_click_parameter_is_taken_out_and_the_rest_of_the_query_kept() {
        assert_eq!(
            split_click("page=2&bs_click=abc_-1&q=a+b"),
            Some(("abc_-1".into(), "page=2&q=a+b".into()))
        );
        assert_eq!(split_click("bs_click=abc"), Some(("abc".into(), String::new())));
        assert_eq!(split_click("bs_clicks=abc"), None);
    }

    #[test]
    fn the_landing_address_names_the_newsletter_post_unless_the_link_had_a_ref() {
        assert_eq!(
            with_newsletter_ref("page=2".into(), Some("monday")),
            "page=2&ref=newsletter%3Amonday"
        );
        assert_eq!(
            with_newsletter_ref(String::new(), Some("monday")),
            "ref=newsletter%3Amonday"
        );
        assert_eq!(with_newsletter_ref("ref=hn".into(), Some("monday")), "ref=hn");
        assert_eq!(with_newsletter_ref("page=2".into(), None), "page=2");
    }
}
