//! Offers: a named link that opens Checkout with a Stripe coupon or
//! promotion code applied, managed through `/admin/api/offers`.

use broadsheet::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    billing::billing_app,
    helpers::{TestApp, new_client},
    stripe::{self, PRICE_MONTHLY, PRICE_YEARLY},
    tiers::{admin_key, call},
};

fn black_friday() -> Value {
    json!({
        "code": "black-friday",
        "name": "Black Friday",
        "stripe_price_id": PRICE_YEARLY,
        "coupon": "BF40"
    })
}

async fn create(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    call(app, key, Method::POST, "/admin/api/offers", Some(body)).await
}

#[tokio::test]
async fn an_offer_link_opens_checkout_with_its_coupon_applied() {
    let fake = stripe::FakeStripe::start().await;
    let mut settings = stripe::billing_settings(&fake);
    // Typed codes are on: an offer's own discount replaces the field, since
    // Stripe refuses both in one session.
    settings.insert("STRIPE_PROMOTION_CODES", "true".to_owned());
    let app = crate::helpers::spawn_app_with(settings).await;
    fake.add_discount(stripe::coupon("BF40", Some(40.0), None, "repeating", Some(3)));
    let key = admin_key(&app).await;
    let (status, offer) = create(&app, &key, black_friday()).await;
    assert_eq!(status, StatusCode::CREATED, "{offer}");
    assert_eq!(offer["discount"], "40% off for 3 months");
    assert_eq!(offer["coupon"], "BF40");
    assert!(offer["url"].as_str().unwrap().ends_with("/offer/black-friday"));

    let (status, page) = app.get_text(&new_client(), "/offer/black-friday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Black Friday") && page.contains("40% off for 3 months"),
        "{page}"
    );
    assert!(page.contains("$80 a year"), "{page}");
    assert!(page.contains("/signup?next=%2Foffer%2Fblack%2Dfriday"), "{page}");

    let (reader, user_id) = app.member("bargain@example.com").await;
    let (_, page) = app.get_text(&reader, "/offer/black-friday").await;
    assert!(page.contains("Claim the offer"), "{page}");
    let response = app.post_form(&reader, "/offer/black-friday", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://checkout.stripe.test/")
    );
    let form = &fake.requests("/v1/checkout/sessions")[0].form;
    assert_eq!(form["discounts[0][coupon]"], "BF40");
    assert_eq!(form["line_items[0][price]"], PRICE_YEARLY);
    assert_eq!(form["client_reference_id"], user_id.to_string());
    assert!(!form.contains_key("allow_promotion_codes"), "{form:?}");
}

#[tokio::test]
async fn a_promotion_code_offer_works_until_it_is_switched_off() {
    let (app, fake) = billing_app().await;
    let five_off = stripe::coupon("FIVE", None, Some(500), "once", None);
    fake.add_discount(stripe::promotion_code("promo_spring", "SPRING", five_off, true));
    let key = admin_key(&app).await;
    let body = json!({"code": "spring", "name": "Spring", "stripe_price_id": PRICE_MONTHLY, "promotion_code": "promo_spring"});
    let (status, offer) = create(&app, &key, body).await;
    assert_eq!(status, StatusCode::CREATED, "{offer}");
    assert_eq!(offer["discount"], "$5 off the first payment");
    let id = offer["id"].as_i64().unwrap();

    let (reader, _) = app.member("spring@example.com").await;
    let response = app.post_form(&reader, "/offer/spring", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let form = &fake.requests("/v1/checkout/sessions")[0].form;
    assert_eq!(form["discounts[0][promotion_code]"], "promo_spring");

    let path = format!("/admin/api/offers/{id}");
    let (status, offer) = call(&app, &key, Method::PATCH, &path, Some(json!({"active": false}))).await;
    assert_eq!(status, StatusCode::OK, "{offer}");
    let (status, page) = app.get_text(&reader, "/offer/spring").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This offer has ended"), "{page}");
    let response = app.post_form(&reader, "/offer/spring", &[]).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(
        fake.requests("/v1/checkout/sessions").len(),
        1,
        "no second Checkout"
    );
    let (status, _) = app.get_text(&reader, "/offer/no-such-offer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bad_offer_is_refused_with_its_field_named_and_nothing_is_written() {
    let (app, fake) = billing_app().await;
    let mut expired = stripe::coupon("OLD", Some(10.0), None, "once", None);
    expired["valid"] = json!(false);
    fake.add_discount(expired);
    fake.add_discount(stripe::coupon("BF40", Some(40.0), None, "forever", None));
    let key = admin_key(&app).await;
    let cases = [
        (
            json!({"coupon": "MISSING"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "coupon",
        ),
        (
            json!({"coupon": "OLD"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "coupon",
        ),
        (
            json!({"promotion_code": "promo_1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "coupon",
        ),
        (
            json!({"stripe_price_id": "price_elsewhere"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "stripe_price_id",
        ),
        (
            json!({"code": "Not A Slug"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
        ),
        (json!({"name": " "}), StatusCode::UNPROCESSABLE_ENTITY, "name"),
    ];
    for (change, expected, field) in cases {
        let mut body = black_friday();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = create(&app, &key, body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
    }
    assert_eq!(app.count_rows("offers").await, 0);

    let (status, _) = create(&app, &key, black_friday()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = create(&app, &key, black_friday()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let editor = app.api_key_for("desk@example.com", Role::Editor).await;
    let (status, _) = create(
        &app,
        &editor,
        json!({"code": "x", "name": "X", "stripe_price_id": PRICE_YEARLY, "coupon": "BF40"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, listed) = call(&app, &editor, Method::GET, "/admin/api/offers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(app.count_rows("offers").await, 1);
}

#[tokio::test]
async fn a_price_an_offer_discounts_stays_until_the_offer_is_deleted() {
    let (app, fake) = billing_app().await;
    fake.add_discount(stripe::coupon("BF40", Some(40.0), None, "forever", None));
    let key = admin_key(&app).await;
    let (_, offer) = create(&app, &key, black_friday()).await;
    let price_path = format!("/admin/api/prices/{PRICE_YEARLY}");
    let (status, answer) = call(&app, &key, Method::DELETE, &price_path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("offer"));

    let offer_path = format!("/admin/api/offers/{}", offer["id"]);
    let (status, _) = call(&app, &key, Method::DELETE, &offer_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &key, Method::DELETE, &price_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &key, Method::GET, &offer_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_subscriber_following_an_offer_link_is_told_it_is_for_new_subscribers() {
    let (app, fake) = billing_app().await;
    fake.add_discount(stripe::coupon("BF40", Some(40.0), None, "forever", None));
    let key = admin_key(&app).await;
    create(&app, &key, black_friday()).await;
    let (reader, user_id) = app.member("already@example.com").await;
    app.add_subscription(user_id, "active", 20).await;
    let (status, page) = app.get_text(&reader, "/offer/black-friday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("it is for new subscribers") && !page.contains("Claim the offer"),
        "{page}"
    );
}
