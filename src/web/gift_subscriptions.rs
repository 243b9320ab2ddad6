//! Gift subscriptions on the site: `/gift` (anyone buys one), its thank-you
//! page, and `/redeem/{code}` (a member redeems one).

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    domain::gift_subscription::{GiftForm, GiftOrder, GiftStatus},
    gift_subscriptions::{self, GiftSubscriptionError, RedeemError},
    state::AppState,
    web::{
        csrf::CsrfForm,
        extract::{CurrentReader, SignedIn},
        views::{GiftChoice, GiftPage, GiftTierView, RedeemPage},
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(gift_page)
        .service(buy_gift)
        .service(gift_thanks)
        .service(redeem_page)
        .service(redeem);
}

/// The order form as typed, kept to show it again with an error.
#[derive(Deserialize, Default, Clone)]
struct GiftFields {
    #[serde(default)]
    option: String,
    #[serde(default)]
    buyer_email: String,
    #[serde(default)]
    buyer_name: String,
    #[serde(default)]
    recipient_email: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    deliver_on: String,
}

#[get("/gift")]
async fn gift_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
) -> PageResult<HttpResponse> {
    let fields = GiftFields {
        buyer_email: reader.user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        ..GiftFields::default()
    };
    show_form(&req, &state, &reader, fields, None).await
}

/// The form, with `error` (and a 422) when the last try was refused.
async fn show_form(
    req: &HttpRequest,
    state: &AppState,
    reader: &CurrentReader,
    fields: GiftFields,
    error: Option<String>,
) -> PageResult<HttpResponse> {
    let tiers = if state.billing.is_some() {
        gift_subscriptions::giftable(state).await?
    } else {
        Vec::new()
    };
    if tiers.is_empty() {
        let (title, message) = (
            "Gift subscriptions are not on sale",
            "This publication does not sell gift subscriptions yet.",
        );
        return pages::notice(req, reader, StatusCode::SERVICE_UNAVAILABLE, title, message).await;
    }
    let tiers = tiers
        .into_iter()
        .map(|tier| GiftTierView {
            choices: tier
                .options
                .iter()
                .map(|option| {
                    let value = format!("{}:{}:{}", tier.slug, option.months, option.currency);
                    GiftChoice {
                        checked: value == fields.option,
                        value,
                        label: option.label(),
                    }
                })
                .collect(),
            name: tier.name,
            description: tier.description,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = GiftPage {
        layout: pages::layout(req, reader).await,
        tiers,
        error,
        buyer_email: fields.buyer_email,
        buyer_name: fields.buyer_name,
        recipient_email: fields.recipient_email,
        message: fields.message,
        deliver_on: fields.deliver_on,
        today: crate::db::now().date().to_string(),
    };
    Ok(pages::render(req, status, &page)?)
}

/// Records the order and sends the buyer to Checkout; a refused form comes
/// back with what was typed and what to fix.
#[post("/gift")]
async fn buy_gift(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    CsrfForm(fields): CsrfForm<GiftFields>,
) -> PageResult<HttpResponse> {
    let Some(setup) = &state.billing else {
        return show_form(&req, &state, &reader, fields, None).await;
    };
    let form = GiftForm {
        option: &fields.option,
        buyer_email: &fields.buyer_email,
        buyer_name: &fields.buyer_name,
        recipient_email: &fields.recipient_email,
        message: &fields.message,
        deliver_on: &fields.deliver_on,
    };
    let order = match GiftOrder::parse(&form, crate::db::now().date()) {
        Ok(order) => order,
        Err(invalid) => return show_form(&req, &state, &reader, fields.clone(), Some(invalid.message)).await,
    };
    let client = pages::client_ip(&req, &state);
    match gift_subscriptions::buy(&state, setup, client, order).await {
        Ok(url) => Ok(pages::redirect(&url)),
        Err(GiftSubscriptionError::Throttled(retry)) => {
            Err(Problem::too_many_requests(retry.seconds()).into())
        }
        Err(GiftSubscriptionError::Invalid(invalid)) => {
            show_form(&req, &state, &reader, fields, Some(invalid.message)).await
        }
        Err(GiftSubscriptionError::StripeDown(e)) => {
            tracing::error!(error = ?e, "opening a gift Checkout");
            Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                "billing_unavailable",
                "Our payment provider did not answer. Please try again in a minute.",
            )
            .into())
        }
        Err(GiftSubscriptionError::Internal(e)) => Err(e.into()),
    }
}

/// Where Checkout returns the buyer.
#[get("/gift/thanks")]
async fn gift_thanks(req: HttpRequest, reader: CurrentReader) -> PageResult<HttpResponse> {
    let message = "As soon as Stripe confirms the payment we email you the gift link (and the person it is for, \
                   if you gave their address, on the date you chose).";
    pages::notice(&req, &reader, StatusCode::OK, "Thank you for your gift", message).await
}

/// What a gift gives and who it is from; a button for a member, the way to
/// a free account for anyone else.
#[get("/redeem/{code}")]
async fn redeem_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    code: web::Path<String>,
) -> PageResult<HttpResponse> {
    let Some(gift) = gift_subscriptions::lookup(&state, &code).await? else {
        return gift_notice(&req, &reader, RedeemError::Unknown).await;
    };
    let refusal = match gift.status {
        GiftStatus::Paid => None,
        GiftStatus::Pending => Some(RedeemError::NotPaid),
        GiftStatus::Redeemed => Some(RedeemError::AlreadyRedeemed),
        GiftStatus::Revoked => Some(RedeemError::Revoked),
    };
    if let Some(refusal) = refusal {
        return gift_notice(&req, &reader, refusal).await;
    }
    let here = format!("/redeem/{code}");
    let page = RedeemPage {
        layout: pages::layout(&req, &reader).await,
        gift: gift.gift,
        from: gift.from,
        message: gift.message,
        signed_in_as: reader.user.as_ref().map(|u| u.email.clone()),
        signup_url: pages::via("/signup", &here),
        login_url: pages::via("/login", &here),
        action: here,
    };
    let mut response = pages::render(&req, StatusCode::OK, &page)?;
    // The code is in the path: keep it out of Referer headers.
    response.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[post("/redeem/{code}")]
async fn redeem(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn { user, reader, .. }: SignedIn,
    _form: CsrfForm<pages::EmptyForm>,
    code: web::Path<String>,
) -> PageResult<HttpResponse> {
    match gift_subscriptions::redeem(&state, &code, user.id).await? {
        Ok(redeemed) => {
            let site = crate::publication::current(&state).await;
            let flash = format!(
                "Your gift is redeemed: {}, until {}. Enjoy the reading.",
                redeemed.gift,
                site.date(redeemed.until)
            );
            Ok(pages::redirect_with_flash("/account", &flash))
        }
        Err(refusal) => gift_notice(&req, &reader, refusal).await,
    }
}

async fn gift_notice(
    req: &HttpRequest,
    reader: &CurrentReader,
    refusal: RedeemError,
) -> PageResult<HttpResponse> {
    let (status, title, message) = match refusal {
        RedeemError::Unknown => (
            StatusCode::NOT_FOUND,
            "This gift link does not work",
            "Check that the whole link was copied from the email.",
        ),
        RedeemError::NotPaid => (
            StatusCode::CONFLICT,
            "This gift is not paid for yet",
            "The payment has not been confirmed. Try the link again in a few minutes.",
        ),
        RedeemError::AlreadyRedeemed => (
            StatusCode::GONE,
            "This gift has been redeemed",
            "Each gift link works once, and this one has been used. If it was you, your account page shows the gift.",
        ),
        RedeemError::Revoked => (
            StatusCode::GONE,
            "This gift was refunded",
            "The payment for this gift was refunded, so it can no longer be redeemed.",
        ),
    };
    pages::notice(req, reader, status, title, message).await
}
