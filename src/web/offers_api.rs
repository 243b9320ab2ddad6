//! Offers in the admin API: `/admin/api/offers`. Staff read them; admins
//! create, change and delete them. Listed in the admin API's OpenAPI document.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    catalogue::offers::{self, OfferDraft},
    db::offers::StoredOffer,
    domain::{
        InvalidInput,
        offer::{self, DiscountRef},
        tier::StripePriceId,
    },
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_offers)
        .service(create_offer)
        .service(get_offer)
        .service(patch_offer)
        .service(delete_offer);
}

/// An offer as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct OfferJson {
    id: i32,
    code: String,
    name: String,
    /// The link to share.
    url: String,
    /// The catalogue price it discounts.
    stripe_price_id: String,
    /// One of the two is set.
    coupon: Option<String>,
    promotion_code: Option<String>,
    /// What Stripe said of the discount when the offer was made:
    /// "40% off for 3 months".
    discount: String,
    /// When Stripe stops accepting the discount, if it said (RFC 3339, UTC).
    ends_at: Option<String>,
    active: bool,
}

impl OfferJson {
    fn of(offer: StoredOffer, state: &AppState) -> Self {
        Self {
            url: state.config.url_for(&format!("/offer/{}", offer.code)),
            id: offer.id,
            code: offer.code,
            name: offer.name,
            stripe_price_id: offer.stripe_price_id,
            coupon: offer.stripe_coupon_id,
            promotion_code: offer.stripe_promotion_code_id,
            discount: offer.discount_label,
            ends_at: offer.ends_at.map(crate::domain::time::rfc3339),
            active: offer.active,
        }
    }
}

/// The body of `POST /admin/api/offers`: a price on sale and exactly one of
/// `coupon` or `promotion_code`, both made in the Stripe dashboard.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOfferBody {
    /// The link's last part: `/offer/{code}`.
    #[schema(
        max_length = 100,
        pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$",
        example = "black-friday"
    )]
    code: String,
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$",
        example = "Black Friday"
    )]
    name: String,
    #[schema(
        pattern = "^[A-Za-z0-9_-]{1,255}$",
        example = "price_1PgafmB7WZ01zgkW6dKueIc5"
    )]
    stripe_price_id: String,
    /// A Stripe coupon id.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,255}$", example = "BLACKFRIDAY40")]
    coupon: Option<String>,
    /// A Stripe promotion code id (`promo_…`).
    #[schema(pattern = "^[A-Za-z0-9_-]{1,255}$")]
    promotion_code: Option<String>,
    /// Default true.
    active: Option<bool>,
}

impl TryFrom<CreateOfferBody> for OfferDraft {
    type Error = InvalidInput;

    fn try_from(body: CreateOfferBody) -> Result<Self, InvalidInput> {
        Ok(OfferDraft {
            code: offer::offer_code(&body.code)?,
            name: offer::offer_name(&body.name)?,
            stripe_price_id: StripePriceId::parse(&body.stripe_price_id)?,
            discount: DiscountRef::parse(body.coupon.as_deref(), body.promotion_code.as_deref())?,
            active: body.active.unwrap_or(true),
        })
    }
}

/// The body of `PATCH /admin/api/offers/{id}`: the discount and price stay
/// (make a new offer for another); the name and the switch change.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchOfferBody {
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: Option<String>,
    /// false: the link shows "this offer has ended".
    active: Option<bool>,
}

fn offer_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "offer")
}

/// Every offer, newest first. Any staff member.
#[utoipa::path(get, path = "/admin/api/offers",
    responses((status = 200, body = Vec<OfferJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/offers")]
async fn list_offers(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<web::Json<Vec<OfferJson>>> {
    let list = offers::list(&state, staff.actor).await?;
    Ok(web::Json(
        list.into_iter().map(|o| OfferJson::of(o, &state)).collect(),
    ))
}

/// Creates an offer: the discount is read from Stripe (422 when the account
/// has no such coupon or promotion code, or Stripe no longer accepts it).
/// Admins only.
#[utoipa::path(post, path = "/admin/api/offers", request_body = CreateOfferBody,
    responses((status = 201, body = OfferJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/offers")]
async fn create_offer(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateOfferBody>,
) -> ApiResult<HttpResponse> {
    let draft = OfferDraft::try_from(body.into_inner()).map_err(Problem::from)?;
    let offer = offers::create(&state, staff.actor, draft).await?;
    Ok(HttpResponse::Created().json(OfferJson::of(offer, &state)))
}

#[utoipa::path(get, path = "/admin/api/offers/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = OfferJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/offers/{id}")]
async fn get_offer(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<OfferJson>> {
    let offer = offers::get(&state, staff.actor, offer_id(&id)?).await?;
    Ok(web::Json(OfferJson::of(offer, &state)))
}

/// Renames an offer or switches its link off or on. Admins only.
#[utoipa::path(patch, path = "/admin/api/offers/{id}", params(("id" = i32, Path)), request_body = PatchOfferBody,
    responses((status = 200, body = OfferJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/offers/{id}")]
async fn patch_offer(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchOfferBody>,
) -> ApiResult<web::Json<OfferJson>> {
    let id = offer_id(&id)?;
    let body = body.into_inner();
    let name = body
        .name
        .as_deref()
        .map(offer::offer_name)
        .transpose()
        .map_err(Problem::from)?;
    let offer = offers::update(&state, staff.actor, id, name, body.active).await?;
    Ok(web::Json(OfferJson::of(offer, &state)))
}

/// Deletes an offer; its link stops working. Readers who took it keep the
/// discount Stripe applied. Admins only.
#[utoipa::path(delete, path = "/admin/api/offers/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/offers/{id}")]
async fn delete_offer(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    offers::delete(&state, staff.actor, offer_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
