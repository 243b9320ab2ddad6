//! Mail providers' feedback webhooks: `POST /webhooks/email/{provider}`
//! (and `/webhooks/email/postmark/{token}`) for `mailgun`, `postmark`,
//! `sendgrid` and `ses`. JSON answers: 200 with how many events were new,
//! 401 for a failed signature or token, 400 for an authentic payload we
//! cannot read, 404 for a provider not configured, 502 when an SNS
//! subscription could not be confirmed (SNS sends the confirmation again).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::ExposeSecret;

use crate::{
    domain::feedback::ProviderEvent,
    feedback::{self, Refused, mailgun, postmark, sendgrid, ses, sns},
    state::AppState,
    web::error::Problem,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A scope: every other request is told apart by its static prefix,
    // without running these patterns (routing is on every page's path).
    cfg.service(
        web::scope("/webhooks/email").service(
            web::resource(["/{provider}", "/{provider}/{token}"])
                .app_data(web::PayloadConfig::default().limit(1024 * 1024))
                .route(web::post().to(receive)),
        ),
    );
}

async fn receive(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let provider = req.match_info().get("provider").unwrap_or_default().to_owned();
    let path_token = req.match_info().get("token").map(str::to_owned);
    let parsed = match provider.as_str() {
        "mailgun" if path_token.is_none() => from_mailgun(&state, &body),
        "postmark" => from_postmark(&state, &req, path_token.as_deref(), &body),
        "sendgrid" if path_token.is_none() => from_sendgrid(&state, &req, &body),
        "ses" if path_token.is_none() => from_ses(&state, &body).await,
        _ => {
            return Problem::not_found(format!("There is no email webhook for {provider:?}."))
                .to_json_response();
        }
    };
    let events = match parsed {
        Ok(events) => events,
        Err(Refused::NotConfigured(name)) => {
            return Problem::new(
                StatusCode::NOT_FOUND,
                "not_configured",
                format!("{name} webhooks are not configured on this server."),
            )
            .to_json_response();
        }
        Err(Refused::Unauthenticated(why)) => {
            tracing::warn!(provider, why, "an email webhook failed authentication");
            return Problem::unauthorized(format!("Authentication failed: {why}.")).to_json_response();
        }
        Err(Refused::Unreadable(why)) => {
            return Problem::bad_request(format!("The event could not be read: {why}")).to_json_response();
        }
        Err(Refused::Unconfirmed(why)) => {
            tracing::warn!(provider, why, "an SNS subscription could not be confirmed");
            return Problem::new(StatusCode::BAD_GATEWAY, "not_confirmed", why).to_json_response();
        }
    };
    match feedback::record(&state.pool, state.config.soft_bounce_limit, events).await {
        Ok(new) => HttpResponse::Ok().json(serde_json::json!({ "received": true, "new_events": new })),
        Err(e) => Problem::internal(e).to_json_response(),
    }
}

fn from_mailgun(state: &AppState, body: &[u8]) -> Result<Vec<ProviderEvent>, Refused> {
    let key = state
        .config
        .mailgun_webhook_signing_key
        .as_ref()
        .ok_or(Refused::NotConfigured("Mailgun"))?;
    let now = time::OffsetDateTime::now_utc();
    Ok(mailgun::parse(key.expose_secret().as_bytes(), body, now)?
        .into_iter()
        .collect())
}

fn from_postmark(
    state: &AppState,
    req: &HttpRequest,
    path_token: Option<&str>,
    body: &[u8],
) -> Result<Vec<ProviderEvent>, Refused> {
    let configured = state
        .config
        .postmark_webhook_token
        .as_ref()
        .ok_or(Refused::NotConfigured("Postmark"))?;
    let given = path_token.map(str::to_owned).or_else(|| basic_auth_password(req));
    let Some(given) = given else {
        return Err(Refused::Unauthenticated("no token in the path or basic auth"));
    };
    if !postmark::token_matches(configured.expose_secret(), &given) {
        return Err(Refused::Unauthenticated("the token does not match"));
    }
    Ok(postmark::parse(body)?.into_iter().collect())
}

fn from_sendgrid(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<Vec<ProviderEvent>, Refused> {
    let key = state
        .feedback
        .sendgrid_key
        .as_ref()
        .ok_or(Refused::NotConfigured("SendGrid"))?;
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    sendgrid::parse(
        key,
        header(sendgrid::SIGNATURE_HEADER),
        header(sendgrid::TIMESTAMP_HEADER),
        body,
        time::OffsetDateTime::now_utc(),
    )
}

/// An SNS message: a subscription to confirm, or SES's notification.
async fn from_ses(state: &AppState, body: &[u8]) -> Result<Vec<ProviderEvent>, Refused> {
    let sns = state.feedback.sns.as_ref().ok_or(Refused::NotConfigured("SES"))?;
    let envelope = sns::Envelope::parse(body)?;
    let now = time::OffsetDateTime::now_utc();
    sns.authenticate(&envelope, &state.config.ses_sns_topic_arns, now)
        .await?;
    match envelope.kind.as_str() {
        "SubscriptionConfirmation" => {
            sns.confirm(&envelope)
                .await
                .map_err(|e| Refused::Unconfirmed(format!("The subscription could not be confirmed: {e}")))?;
            tracing::info!(topic = envelope.topic_arn, "confirmed the SNS subscription");
            Ok(Vec::new())
        }
        "Notification" => ses::parse(&envelope.message, now),
        _ => Ok(Vec::new()),
    }
}

/// The password of `Authorization: Basic …`.
fn basic_auth_password(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    decoded.split_once(':').map(|(_, password)| password.to_owned())
}
