//! A fake Stripe for the tests: an HTTP server answering the endpoints the
//! real async-stripe client calls with complete objects built from Stripe's
//! own fixtures, recording each request; and webhook events signed exactly
//! as Stripe signs them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

pub const PRICE_MONTHLY: &str = "price_monthly_test";
pub const PRICE_YEARLY: &str = "price_yearly_test";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

fn fixtures() -> &'static Value {
    static FIXTURES: OnceLock<Value> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/stripe/fixtures3.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("the Stripe fixtures")).unwrap()
    })
}

pub fn fixture(resource: &str) -> Value {
    fixtures()["resources"][resource].clone()
}

/// A request the fake received: method, path, and its form fields.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub form: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct FakeState {
    requests: Arc<Mutex<Vec<Request>>>,
    subscriptions: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    /// Whose charge each charge id is, for `GET /v1/charges/{id}`.
    charges: Arc<Mutex<HashMap<String, String>>>,
    /// Customer ids by email, for `GET /v1/customers?email=`.
    customers_by_email: Arc<Mutex<HashMap<String, Vec<String>>>>,
    /// The account's prices by id: the two configured ones to start with.
    prices: Arc<Mutex<Vec<Value>>>,
    /// Coupons and promotion codes by id.
    discounts: Arc<Mutex<HashMap<String, Value>>>,
    counter: Arc<Mutex<u32>>,
    /// Answer 500 to subscription updates (Stripe having a bad day).
    failing_updates: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeState {
    fn next_id(&self, prefix: &str) -> String {
        let mut counter = self.counter.lock().unwrap();
        *counter += 1;
        format!("{prefix}_test{}", *counter)
    }
}

pub struct FakeStripe {
    pub url: String,
    state: FakeState,
}

fn form_of(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<FakeState>) -> HttpResponse {
    let form = form_of(&body);
    let path = req.path().to_owned();
    state.requests.lock().unwrap().push(Request {
        path: path.clone(),
        form: form.clone(),
    });
    match (req.method().as_str(), path.as_str()) {
        ("POST", "/v1/customers") => {
            let mut customer = fixture("customer");
            customer["id"] = json!(state.next_id("cus"));
            customer["email"] = json!(form.get("email"));
            HttpResponse::Ok().json(customer)
        }
        ("GET", "/v1/customers") => {
            let query = form_of(req.query_string().as_bytes());
            let email = query.get("email").cloned().unwrap_or_default();
            let ids = state
                .customers_by_email
                .lock()
                .unwrap()
                .get(&email)
                .cloned()
                .unwrap_or_default();
            let data: Vec<Value> = ids
                .iter()
                .map(|id| {
                    let mut customer = fixture("customer");
                    customer["id"] = json!(id);
                    customer["email"] = json!(email);
                    customer
                })
                .collect();
            HttpResponse::Ok()
                .json(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/customers"}))
        }
        ("POST", "/v1/checkout/sessions") => {
            let mut session = fixture("checkout.session");
            let id = state.next_id("cs");
            session["url"] = json!(format!("https://checkout.stripe.test/pay/{id}"));
            session["id"] = json!(id);
            session["mode"] = json!(form.get("mode").cloned().unwrap_or_else(|| "subscription".into()));
            session["customer"] = json!(form.get("customer"));
            session["client_reference_id"] = json!(form.get("client_reference_id"));
            HttpResponse::Ok().json(session)
        }
        ("POST", "/v1/billing_portal/configurations") => {
            let mut configuration = fixture("billing_portal.configuration");
            configuration["id"] = json!(state.next_id("bpc"));
            HttpResponse::Ok().json(configuration)
        }
        ("POST", "/v1/billing_portal/sessions") => {
            let mut portal = fixture("billing_portal.session");
            portal["id"] = json!(state.next_id("bps"));
            portal["customer"] = json!(form.get("customer"));
            portal["url"] = json!("https://billing.stripe.test/session/portal");
            HttpResponse::Ok().json(portal)
        }
        ("GET", "/v1/subscriptions") => {
            let query = form_of(req.query_string().as_bytes());
            let customer = query.get("customer").cloned().unwrap_or_default();
            let data = state
                .subscriptions
                .lock()
                .unwrap()
                .get(&customer)
                .cloned()
                .unwrap_or_default();
            HttpResponse::Ok()
                .json(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/subscriptions"}))
        }
        ("GET", p) if p.starts_with("/v1/charges/") => {
            let id = p.trim_start_matches("/v1/charges/");
            match state.charges.lock().unwrap().get(id) {
                Some(customer) => HttpResponse::Ok().json(charge(id, customer, 800, 0)),
                None => HttpResponse::NotFound().json(json!({"error": {
                    "type": "invalid_request_error", "code": "resource_missing",
                    "message": format!("No such charge: '{id}'"),
                }})),
            }
        }
        ("GET", p) if p.starts_with("/v1/coupons/") || p.starts_with("/v1/promotion_codes/") => {
            let id = p.rsplit('/').next().unwrap_or_default();
            let found = state.discounts.lock().unwrap().get(id).cloned();
            match found {
                Some(object) => HttpResponse::Ok().json(object),
                None => HttpResponse::NotFound().json(json!({"error": {
                    "type": "invalid_request_error", "code": "resource_missing",
                    "message": format!("No such object: '{id}'"),
                }})),
            }
        }
        ("GET", "/v1/prices") => {
            let mut data = state.prices.lock().unwrap().clone();
            // `expand[]=data.product` turns each product id into the product.
            if req.query_string().contains("data.product") {
                for price in &mut data {
                    let mut product = fixture("product");
                    product["id"] = price["product"].clone();
                    product["name"] = json!("The Ledger membership");
                    price["product"] = product;
                }
            }
            HttpResponse::Ok()
                .json(json!({"object": "list", "data": data, "has_more": false, "url": "/v1/prices"}))
        }
        ("GET", p) if p.starts_with("/v1/prices/") => {
            let id = p.trim_start_matches("/v1/prices/");
            let found = state
                .prices
                .lock()
                .unwrap()
                .iter()
                .find(|p| p["id"] == id)
                .cloned();
            match found {
                Some(price) => HttpResponse::Ok().json(price),
                None => HttpResponse::NotFound().json(json!({"error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "price",
                    "message": format!("No such price: '{id}'"),
                }})),
            }
        }
        ("POST", p) if p.starts_with("/v1/subscriptions/") => {
            if state.failing_updates.load(std::sync::atomic::Ordering::SeqCst) {
                return HttpResponse::InternalServerError()
                    .json(json!({"error": {"type": "api_error", "message": "An unknown error occurred"}}));
            }
            let id = p.trim_start_matches("/v1/subscriptions/");
            let mut sub = subscription(id, "cus_fake", "active", PRICE_MONTHLY, now() + 30 * 86_400);
            sub["cancel_at_period_end"] = json!(form.get("cancel_at_period_end").map(|v| v == "true"));
            HttpResponse::Ok().json(sub)
        }
        _ => HttpResponse::NotFound().json(
            json!({"error": {"type": "invalid_request_error", "message": format!("no fake for {path}")}}),
        ),
    }
}

impl FakeStripe {
    pub async fn start() -> Self {
        let state = FakeState::default();
        *state.prices.lock().unwrap() = vec![
            price(PRICE_MONTHLY, "usd", 800, Some("month")),
            price(PRICE_YEARLY, "usd", 8000, Some("year")),
        ];
        let data = web::Data::new(state.clone());
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(handle)))
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
        let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        tokio::spawn(server.run());
        Self { url, state }
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Makes subscription updates fail (or work again).
    pub fn fail_updates(&self, failing: bool) {
        self.state
            .failing_updates
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    /// A charge made to `customer` (disputes name only their charge).
    pub fn add_charge(&self, id: &str, customer: &str) {
        self.state
            .charges
            .lock()
            .unwrap()
            .insert(id.to_owned(), customer.to_owned());
    }

    /// A customer of the account with `email` (for lookups by email).
    pub fn add_customer(&self, email: &str, id: &str) {
        self.state
            .customers_by_email
            .lock()
            .unwrap()
            .entry(email.to_owned())
            .or_default()
            .push(id.to_owned());
    }

    /// Adds a price to the account (or replaces the one with its id).
    /// A coupon or promotion code the account has (`coupon()`, `promotion_code()`).
    pub fn add_discount(&self, object: Value) {
        let id = object["id"].as_str().expect("a discount has an id").to_owned();
        self.state.discounts.lock().unwrap().insert(id, object);
    }

    pub fn add_price(&self, price: Value) {
        let mut prices = self.state.prices.lock().unwrap();
        prices.retain(|p| p["id"] != price["id"]);
        prices.push(price);
    }

    /// What `GET /v1/subscriptions?customer=…` answers from now on.
    pub fn set_subscriptions(&self, customer: &str, subscriptions: Vec<Value>) {
        self.state
            .subscriptions
            .lock()
            .unwrap()
            .insert(customer.to_owned(), subscriptions);
    }
}

/// A price object as Stripe would send it: `interval` `None` for a one-time price.
pub fn price(id: &str, currency: &str, unit_amount: i64, interval: Option<&str>) -> Value {
    let mut price = fixture("price");
    price["id"] = json!(id);
    price["currency"] = json!(currency);
    price["unit_amount"] = json!(unit_amount);
    price["unit_amount_decimal"] = json!(unit_amount.to_string());
    match interval {
        Some(interval) => price["recurring"]["interval"] = json!(interval),
        None => {
            price["recurring"] = json!(null);
            price["type"] = json!("one_time");
        }
    }
    price
}

/// A coupon: `percent_off` or `amount_off` (USD cents), for `duration`
/// (`once`, `repeating` with `months`, `forever`).
pub fn coupon(
    id: &str,
    percent_off: Option<f64>,
    amount_off: Option<i64>,
    duration: &str,
    months: Option<i64>,
) -> Value {
    let mut coupon = fixture("coupon");
    coupon["id"] = json!(id);
    coupon["percent_off"] = json!(percent_off);
    coupon["amount_off"] = json!(amount_off);
    coupon["currency"] = json!(amount_off.map(|_| "usd"));
    coupon["duration"] = json!(duration);
    coupon["duration_in_months"] = json!(months);
    coupon["redeem_by"] = json!(null);
    coupon["valid"] = json!(true);
    coupon
}

/// A promotion code (as `GET /v1/promotion_codes/{id}?expand[]=promotion.coupon`
/// returns it) over `coupon`.
pub fn promotion_code(id: &str, code: &str, coupon: Value, active: bool) -> Value {
    let mut promotion = fixture("promotion_code");
    promotion["id"] = json!(id);
    promotion["code"] = json!(code);
    promotion["active"] = json!(active);
    promotion["expires_at"] = json!(null);
    promotion["promotion"] = json!({"type": "coupon", "coupon": coupon});
    promotion
}

/// A completed Checkout Session in payment mode, as a gift purchase ends:
/// `metadata` names our gift, `amount_subtotal` is what was charged before tax.
pub fn gift_session_completed(
    session_id: &str,
    gift_id: i32,
    currency: &str,
    amount: i64,
    payment_intent: &str,
) -> Value {
    let mut session = fixture("checkout.session");
    session["id"] = json!(session_id);
    session["mode"] = json!("payment");
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["customer"] = json!(null);
    session["client_reference_id"] = json!(format!("gift-{gift_id}"));
    session["metadata"] = json!({"broadsheet_gift_id": gift_id.to_string()});
    session["currency"] = json!(currency);
    session["amount_subtotal"] = json!(amount);
    session["amount_total"] = json!(amount);
    session["payment_intent"] = json!(payment_intent);
    session["subscription"] = json!(null);
    session
}

/// A charge of a guest payment (no customer) made through `payment_intent`,
/// `amount_refunded` of it refunded.
pub fn guest_charge(id: &str, payment_intent: &str, amount: i64, amount_refunded: i64) -> Value {
    let mut charge = charge(id, "", amount, amount_refunded);
    charge["customer"] = json!(null);
    charge["payment_intent"] = json!(payment_intent);
    charge
}

/// A charge object: `amount` charged to `customer`, `amount_refunded` of it
/// refunded.
pub fn charge(id: &str, customer: &str, amount: i64, amount_refunded: i64) -> Value {
    let mut charge = fixture("charge");
    charge["id"] = json!(id);
    charge["customer"] = json!(customer);
    charge["amount"] = json!(amount);
    charge["amount_captured"] = json!(amount);
    charge["amount_refunded"] = json!(amount_refunded);
    charge["refunded"] = json!(amount_refunded >= amount);
    charge["currency"] = json!("usd");
    charge
}

/// A dispute object about the charge `charge_id`, in `status`.
pub fn dispute(id: &str, charge_id: &str, status: &str, amount: i64) -> Value {
    let mut dispute = fixture("dispute");
    dispute["id"] = json!(id);
    dispute["charge"] = json!(charge_id);
    dispute["status"] = json!(status);
    dispute["amount"] = json!(amount);
    dispute["currency"] = json!("usd");
    dispute
}

/// A subscription object as Stripe would send it.
pub fn subscription(id: &str, customer: &str, status: &str, price: &str, period_end: i64) -> Value {
    let mut sub = fixture("subscription");
    sub["id"] = json!(id);
    sub["customer"] = json!(customer);
    sub["status"] = json!(status);
    sub["cancel_at_period_end"] = json!(false);
    sub["cancel_at"] = json!(null);
    sub["canceled_at"] = json!(null);
    sub["ended_at"] = json!(null);
    let item = &mut sub["items"]["data"][0];
    item["price"]["id"] = json!(price);
    item["current_period_start"] = json!(period_end - 30 * 86_400);
    item["current_period_end"] = json!(period_end);
    item["subscription"] = json!(id);
    sub
}

/// `subscription` whose current period began at `start` (Unix seconds).
pub fn with_period_start(mut subscription: Value, start: i64) -> Value {
    subscription["items"]["data"][0]["current_period_start"] = json!(start);
    subscription
}

pub fn checkout_session_completed(customer: &str, client_reference_id: &str, subscription_id: &str) -> Value {
    let mut session = fixture("checkout.session");
    session["id"] = json!("cs_test_completed");
    session["mode"] = json!("subscription");
    session["status"] = json!("complete");
    session["customer"] = json!(customer);
    session["client_reference_id"] = json!(client_reference_id);
    session["subscription"] = json!(subscription_id);
    session
}

pub fn invoice(customer: &str) -> Value {
    let mut invoice = fixture("invoice");
    invoice["id"] = json!("in_test_1");
    invoice["customer"] = json!(customer);
    invoice
}

/// An event of `type_` about `object`, created at `created` (Unix seconds).
pub fn event(id: &str, type_: &str, created: i64, object: Value) -> String {
    let mut event = fixture("event");
    event["id"] = json!(id);
    event["type"] = json!(type_);
    event["created"] = json!(created);
    event["api_version"] = json!("2026-09-30.endive");
    event["data"] = json!({ "object": object });
    event.to_string()
}

/// `Stripe-Signature` for `payload` at `timestamp`, as Stripe computes it:
/// HMAC-SHA256 over "{t}.{payload}" with the endpoint secret, hex.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Settings for an app whose billing talks to `fake`.
pub fn billing_settings(fake: &FakeStripe) -> HashMap<&'static str, String> {
    HashMap::from([
        ("STRIPE_SECRET_KEY", "sk_test_fake".to_owned()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("STRIPE_PRICE_MONTHLY", PRICE_MONTHLY.to_owned()),
        ("STRIPE_PRICE_YEARLY", PRICE_YEARLY.to_owned()),
        ("STRIPE_API_BASE", fake.url.clone()),
    ])
}
