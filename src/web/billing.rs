//! Subscribing, the Billing Portal, and Stripe's webhook.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    billing::events::{self, Outcome, WebhookError},
    catalogue::{
        self,
        offers::{OfferLookup, OpenOffer},
    },
    db::{self, billing as stored},
    domain::{access::Reader, attribution::Trail, offer::DiscountRef, tier::preferred_currency},
    state::AppState,
    stripe::SubscriptionCheckout,
    web::{
        csrf::CsrfForm,
        extract::{CurrentReader, SignedIn, ThenSubscribe},
        views::{CurrencyChoice, OfferPage, SubscribePage, TierCard},
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(subscribe_page)
        .service(subscribe)
        .service(portal)
        .service(offer_page)
        .service(claim_offer);
}

/// The webhook lives outside the site scope: no CSRF cookie, raw bytes.
pub fn configure_webhook(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stripe/webhook")
            .app_data(web::PayloadConfig::default().limit(1024 * 1024))
            .route(web::post().to(webhook)),
    );
}

async fn not_configured(req: &HttpRequest, reader: &CurrentReader) -> PageResult<HttpResponse> {
    pages::notice(
        req,
        reader,
        StatusCode::SERVICE_UNAVAILABLE,
        "Billing is not configured",
        "Paid subscriptions are not open on this server yet. You can still read free and members-only posts.",
    )
    .await
}

/// `/subscribe?currency=eur`: prices in that currency (`?trail=` is read
/// by `pages::arrival`).
#[derive(Deserialize)]
struct SubscribeQuery {
    currency: Option<String>,
}

#[get("/subscribe")]
async fn subscribe_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn { member, reader, .. }: SignedIn<ThenSubscribe>,
    query: web::Query<SubscribeQuery>,
) -> PageResult<HttpResponse> {
    if state.billing.is_none() {
        return not_configured(&req, &reader).await;
    }
    let tiers = catalogue::on_sale(&state).await?;
    if tiers.is_empty() {
        return not_configured(&req, &reader).await;
    }
    // Several currencies: one at a time, with a chooser.
    let mut currencies: Vec<String> = Vec::new();
    for price in tiers.iter().flat_map(|t| &t.prices) {
        if let Some(details) = &price.details
            && !currencies.contains(&details.currency)
        {
            currencies.push(details.currency.clone());
        }
    }
    let accept_language = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let shown = preferred_currency(query.currency.as_deref(), accept_language, &currencies);
    let in_shown = |price: &catalogue::PriceOnSale| match (&price.details, &shown) {
        (Some(details), Some(shown)) => &details.currency == shown,
        _ => true,
    };
    // A tier not sold in that currency keeps its prices: never hide a tier.
    let cards = tiers
        .into_iter()
        .map(|mut tier| {
            if tier.prices.iter().any(in_shown) {
                tier.prices.retain(in_shown);
            }
            TierCard::from(tier)
        })
        .collect();
    let trail = pages::arrival(&req, &state.config);
    let choices = if currencies.len() > 1 {
        currencies
            .iter()
            .map(|code| CurrencyChoice {
                code: code.to_uppercase(),
                href: trail.link(&format!("/subscribe?currency={code}")),
                current: shown.as_ref() == Some(code),
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = SubscribePage {
        layout: pages::layout(&req, &reader).await,
        tiers: cards,
        subscribed: member.has_ongoing_subscription(),
        currencies: choices,
        trail: trail.encode(),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

/// The price chosen on `/subscribe`; older forms (and links) name a
/// `plan`, monthly or yearly, meaning the configured prices.
#[derive(Deserialize)]
struct PriceForm {
    price: Option<String>,
    plan: Option<String>,
    /// How the reader reached the page, for attribution.
    #[serde(default)]
    trail: String,
}

/// Creates (or reuses) the Stripe customer and sends the reader to Checkout.
#[post("/subscribe")]
async fn subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn {
        user, member, reader, ..
    }: SignedIn<ThenSubscribe>,
    CsrfForm(form): CsrfForm<PriceForm>,
) -> PageResult<HttpResponse> {
    let Some(setup) = &state.billing else {
        return not_configured(&req, &reader).await;
    };
    let price = catalogue::price_for_checkout(&state, setup, form.price.as_deref(), form.plan.as_deref())
        .await?
        .ok_or_else(|| Problem::bad_request("Choose one of the prices on this page.").on_field("price"))?;
    let trail = Trail::decode(&form.trail);
    checkout_or_portal(&state, setup, (&user, &member), &price, None, &trail).await
}

/// Sends a member to Checkout for `price` (with an offer's `discount`),
/// creating their Stripe customer the first time. A member who already
/// subscribes goes to the Billing Portal instead: a second Checkout would
/// start a second subscription and charge them twice.
async fn checkout_or_portal(
    state: &AppState,
    setup: &crate::stripe::BillingSetup,
    (user, member): (&db::users::User, &crate::domain::access::Member),
    price: &db::tiers::StoredPrice,
    discount: Option<&DiscountRef>,
    trail: &Trail,
) -> PageResult<HttpResponse> {
    if let (true, Some(customer_id)) = (member.has_ongoing_subscription(), &user.stripe_customer_id) {
        return open_portal(state, setup, customer_id).await;
    }
    let customer_id = match &user.stripe_customer_id {
        Some(id) => id.clone(),
        None => {
            let id = setup
                .client
                .create_customer(&user.email, user.id)
                .await
                .map_err(stripe_down)?;
            let (user_id, stored_id) = (user.id, id.clone());
            db::run(&state.pool, move |conn| {
                Ok(stored::set_customer(conn, user_id, &stored_id)?)
            })
            .await?;
            id
        }
    };
    let checkout = SubscriptionCheckout {
        customer_id: &customer_id,
        user_id: user.id,
        price_id: &price.stripe_price_id,
        trial_days: price.trial_days.and_then(|d| u32::try_from(d).ok()),
        discount,
        trail: &trail.encode(),
    };
    let url = setup.client.checkout_url(&checkout).await.map_err(|e| match discount {
        Some(_) if stripe_refused(&e) => Problem::new(
            StatusCode::CONFLICT,
            "offer_refused",
            "Stripe did not accept this offer: it may have ended or been used up. The subscribe page has the current prices.",
        ),
        _ => stripe_down(e),
    })?;
    Ok(pages::redirect(&url))
}

/// Stripe answered, and said no (a 4xx): not worth retrying.
fn stripe_refused(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<stripe::StripeError>(),
            Some(stripe::StripeError::Stripe(_, status)) if (400..500).contains(status)
        )
    })
}

/// An offer's page: what it discounts, and a button that claims it (for a
/// signed-in reader) or the way to an account first.
#[get("/offer/{code}")]
async fn offer_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    code: web::Path<String>,
) -> PageResult<HttpResponse> {
    let open = match open_offer(&req, &state, &reader, &code).await? {
        Ok(open) => open,
        Err(page) => return Ok(page),
    };
    let subscribed = matches!(&reader.reader, Reader::Member(member) if member.has_ongoing_subscription());
    // The trail goes with the claim, and through sign-up back to this page.
    let trail = pages::arrival(&req, &state.config);
    let next = trail.link(&format!("/offer/{}", open.offer.code));
    let layout = pages::layout(&req, &reader).await;
    let ends_on = open.offer.ends_at.map(|end| layout.site.date(end));
    let page = OfferPage {
        layout,
        card: TierCard::from(catalogue::TierOnSale {
            prices: vec![catalogue::PriceOnSale::from(&open.price)],
            tier: open.tier.clone(),
        }),
        name: open.offer.name.clone(),
        discount: open.offer.discount_label.clone(),
        ends_on,
        signed_in: reader.user.is_some(),
        subscribed,
        action: format!("/offer/{}", open.offer.code),
        trail: trail.encode(),
        signup_url: pages::via("/signup", &next),
        login_url: pages::via("/login", &next),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

/// Claims an offer: Checkout for its price with its discount applied.
#[post("/offer/{code}")]
async fn claim_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn {
        user, member, reader, ..
    }: SignedIn,
    CsrfForm(form): CsrfForm<ClaimForm>,
    code: web::Path<String>,
) -> PageResult<HttpResponse> {
    let Some(setup) = &state.billing else {
        return not_configured(&req, &reader).await;
    };
    let open = match open_offer(&req, &state, &reader, &code).await? {
        Ok(open) => open,
        Err(page) => return Ok(page),
    };
    let mut trail = Trail::decode(&form.trail);
    trail.offer = Some(open.offer.id);
    let buyer = (&user, &member);
    checkout_or_portal(&state, setup, buyer, &open.price, Some(&open.discount), &trail).await
}

/// An offer's claim button: only the page's trail.
#[derive(Deserialize)]
struct ClaimForm {
    #[serde(default)]
    trail: String,
}

/// The offer behind a code, or the page that says why there is none.
async fn open_offer(
    req: &HttpRequest,
    state: &AppState,
    reader: &CurrentReader,
    code: &str,
) -> PageResult<Result<OpenOffer, HttpResponse>> {
    if state.billing.is_none() {
        return Ok(Err(not_configured(req, reader).await?));
    }
    let (status, title, message) = match catalogue::offers::lookup(state, code).await? {
        OfferLookup::Open(open) => return Ok(Ok(*open)),
        OfferLookup::Ended => (
            StatusCode::GONE,
            "This offer has ended",
            "The offer behind this link is over. The subscribe page has the current prices.",
        ),
        OfferLookup::Unknown => (
            StatusCode::NOT_FOUND,
            "There is no such offer",
            "Check the link you followed. The subscribe page has the current prices.",
        ),
    };
    Ok(Err(pages::notice(req, reader, status, title, message).await?))
}

/// Opens the Stripe Billing Portal (update the card, cancel, switch plan).
#[post("/billing/portal")]
async fn portal(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn { user, reader, .. }: SignedIn,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let Some(setup) = &state.billing else {
        return not_configured(&req, &reader).await;
    };
    let Some(customer_id) = &user.stripe_customer_id else {
        return Ok(pages::redirect("/subscribe"));
    };
    open_portal(&state, setup, customer_id).await
}

/// The Billing Portal, configured to the catalogue so a subscriber can
/// switch tier or price there.
async fn open_portal(
    state: &AppState,
    setup: &crate::stripe::BillingSetup,
    customer_id: &str,
) -> PageResult<HttpResponse> {
    let configuration = catalogue::portal_configuration(state, setup).await;
    let url = setup
        .client
        .portal_url(customer_id, configuration.as_deref())
        .await
        .map_err(stripe_down)?;
    Ok(pages::redirect(&url))
}

/// Stripe unreachable or refusing: a 502 with a plain message, details logged.
fn stripe_down(e: anyhow::Error) -> Problem {
    tracing::error!(error = ?e, "a Stripe request failed");
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "billing_unavailable",
        "Our payment provider did not answer. Please try again in a minute.",
    )
}

async fn webhook(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok());
    match events::receive(&state, header, &body).await {
        Ok(outcome) => {
            let word = match outcome {
                Outcome::Applied => "applied",
                Outcome::Duplicate => "duplicate",
                Outcome::Ignored => "ignored",
                Outcome::Refused(_) => "refused",
            };
            HttpResponse::Ok().json(serde_json::json!({ "received": true, "outcome": word }))
        }
        Err(WebhookError::NotConfigured) => Problem::new(
            StatusCode::NOT_FOUND,
            "not_configured",
            "Billing is not configured.",
        )
        .to_json_response(),
        Err(WebhookError::BadSignature(e)) => {
            Problem::bad_request(format!("Signature check failed: {e}.")).to_json_response()
        }
        Err(WebhookError::Malformed(e)) => {
            Problem::bad_request(format!("The event could not be read: {e}")).to_json_response()
        }
        Err(WebhookError::Failed(e)) => Problem::internal(e).to_json_response(),
    }
}
