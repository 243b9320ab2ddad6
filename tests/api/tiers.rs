//! The price catalogue: tiers and their Stripe prices, managed through the
//! admin API, shown on /subscribe with Stripe's own amounts, and deciding
//! which new subscriptions are ours.

use broadsheet::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    billing::{billing_app, days, paying_reader},
    helpers::{PAID_MARKER, TestApp},
    stripe::{self, PRICE_MONTHLY, PRICE_YEARLY},
};

pub(crate) async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app.admin(method, Some(key), path, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn admin_key(app: &TestApp) -> String {
    app.api_key_for("owner@example.com", Role::Admin).await
}

/// The id of the tier seeded from the configured prices.
async fn seeded_tier(app: &TestApp, key: &str) -> i64 {
    let (_, tiers) = call(app, key, Method::GET, "/admin/api/tiers", None).await;
    tiers[0]["id"].as_i64().unwrap()
}

/// Puts `price_gold_eur` (€12.50 a month) on sale in the seeded tier.
async fn add_euro_price_to_the_seeded_tier(app: &TestApp, fake: &stripe::FakeStripe) {
    fake.add_price(stripe::price("price_gold_eur", "eur", 1250, Some("month")));
    let key = admin_key(app).await;
    let tier = seeded_tier(app, &key).await;
    let path = format!("/admin/api/tiers/{tier}/prices");
    let body = json!({"stripe_price_id": "price_gold_eur"});
    let (status, answer) = call(app, &key, Method::POST, &path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

fn gold() -> Value {
    json!({
        "slug": "gold",
        "name": "Gold",
        "description": "For the regulars.",
        "benefits": ["Every post in full", "The monthly call"],
        "position": 1,
        "prices": [{"stripe_price_id": "price_gold_eur", "trial_days": 14}]
    })
}

#[tokio::test]
async fn the_configured_prices_become_the_first_tier_and_the_subscribe_page_shows_stripes_amounts() {
    let (app, fake) = billing_app().await;
    let key = admin_key(&app).await;
    let (status, tiers) = call(&app, &key, Method::GET, "/admin/api/tiers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tiers.as_array().unwrap().len(), 1, "{tiers}");
    assert_eq!(tiers[0]["slug"], "paid");
    let ids: Vec<&str> = tiers[0]["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stripe_price_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [PRICE_MONTHLY, PRICE_YEARLY]);

    let (reader, _) = app.member("browser@example.com").await;
    let (status, page) = app.get_text(&reader, "/subscribe").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("$8 a month") && page.contains("$80 a year"),
        "{page}"
    );
    // Read once from Stripe, then cached: the next view asks Stripe nothing.
    let reads = fake.requests(&format!("/v1/prices/{PRICE_MONTHLY}")).len();
    app.get_text(&reader, "/subscribe").await;
    assert_eq!(fake.requests(&format!("/v1/prices/{PRICE_MONTHLY}")).len(), reads);
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn an_admin_adds_a_tier_whose_trial_reaches_checkout_and_editors_only_read() {
    let (app, fake) = billing_app().await;
    fake.add_price(stripe::price("price_gold_eur", "eur", 1250, Some("month")));
    let key = admin_key(&app).await;
    let (status, tier) = call(&app, &key, Method::POST, "/admin/api/tiers", Some(gold())).await;
    assert_eq!(status, StatusCode::CREATED, "{tier}");
    assert_eq!(
        tier["benefits"],
        json!(["Every post in full", "The monthly call"])
    );
    let price = &tier["prices"][0];
    assert_eq!(price["currency"], "eur");
    assert_eq!(price["unit_amount"], 1250);
    assert_eq!(price["interval"], "month");
    assert_eq!(price["label"], "€12.50 a month");
    assert_eq!(price["trial_days"], 14);

    let editor = app.api_key_for("desk@example.com", Role::Editor).await;
    let (status, listed) = call(&app, &editor, Method::GET, "/admin/api/tiers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (status, body) = call(
        &app,
        &editor,
        Method::POST,
        "/admin/api/tiers",
        Some(json!({"slug": "x", "name": "X"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (reader, user_id) = app.member("gold@example.com").await;
    let (_, page) = app.get_text(&reader, "/subscribe").await;
    assert!(page.contains("Gold") && page.contains("The monthly call"));
    assert!(
        page.contains("€12.50 a month") && page.contains("14-day free trial"),
        "{page}"
    );
    let response = app
        .post_form(&reader, "/subscribe", &[("price", "price_gold_eur")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let checkout = fake.requests("/v1/checkout/sessions").pop().unwrap();
    assert_eq!(checkout.form["line_items[0][price]"], "price_gold_eur");
    assert_eq!(checkout.form["subscription_data[trial_period_days]"], "14");
    assert_eq!(checkout.form["client_reference_id"], user_id.to_string());
}

#[tokio::test]
async fn a_price_stripe_does_not_have_or_bad_input_is_refused_and_nothing_is_written() {
    let (app, _fake) = billing_app().await;
    let key = admin_key(&app).await;
    let (status, body) = call(&app, &key, Method::POST, "/admin/api/tiers", Some(gold())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "stripe_price_id");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("price_gold_eur")
    );
    for bad in [
        json!({"slug": "Gold!", "name": "Gold"}),
        json!({"slug": "gold", "name": "  "}),
        json!({"slug": "gold", "name": "Gold", "benefits": ["two\nlines"]}),
        json!({"slug": "gold", "name": "Gold", "prices": [{"stripe_price_id": "price_x", "trial_days": 0}]}),
        json!({"slug": "paid", "name": "Taken"}),
        // More prices at once than the schema allows (schemathesis found
        // this accepted).
        json!({"slug": "many", "name": "Many", "prices": (0..21).map(|i| json!({"stripe_price_id": format!("price_{i}")})).collect::<Vec<_>>()}),
    ] {
        let (status, body) = call(&app, &key, Method::POST, "/admin/api/tiers", Some(bad.clone())).await;
        assert!(status.is_client_error(), "{bad} → {status} {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    assert_eq!(app.count_rows("tiers").await, 1, "only the seeded tier");
}

#[tokio::test]
async fn a_new_subscription_counts_only_on_a_catalogue_price_active_or_legacy() {
    let (app, fake) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let key = admin_key(&app).await;
    let (reader, user_id) = app.member("migrant@example.com").await;
    app.link_customer(user_id, "cus_migrant").await;
    let on = |id: &str, price: &str| {
        stripe::event(
            id,
            "customer.subscription.created",
            stripe::now(),
            stripe::subscription("sub_migrant", "cus_migrant", "active", price, days(30)),
        )
    };
    // A price from another product of the account: not ours.
    assert_eq!(
        app.webhook(&on("evt_t1", "price_founding_2024")).await,
        StatusCode::OK
    );
    assert_eq!(app.count_rows("subscriptions").await, 0);

    // The admin adds it as a legacy price of the tier: sold no more, but a
    // subscription on it now counts.
    fake.add_price(stripe::price("price_founding_2024", "usd", 500, Some("month")));
    let (status, tier) = call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/api/tiers/{}/prices", seeded_tier(&app, &key).await),
        Some(json!({"stripe_price_id": "price_founding_2024", "status": "legacy"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tier}");
    assert_eq!(
        app.webhook(&on("evt_t2", "price_founding_2024")).await,
        StatusCode::OK
    );
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER), "a reader on a legacy price reads");

    // Legacy prices are not offered, nor accepted from a hand-made form.
    let (_, page) = app.get_text(&reader, "/subscribe").await;
    assert!(!page.contains("price_founding_2024") && !page.contains("$5 a month"));
    let response = app
        .post_form(&reader, "/subscribe", &[("price", "price_founding_2024")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_price_change_followed_by_a_cancellation_on_the_old_price_ends_access() {
    let (app, fake) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let key = admin_key(&app).await;
    let (reader, user_id) = app.member("loyal@example.com").await;
    app.link_customer(user_id, "cus_loyal").await;
    let created = stripe::event(
        "evt_c1",
        "customer.subscription.created",
        stripe::now() - 60,
        stripe::subscription("sub_loyal", "cus_loyal", "active", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);

    // The publisher raises the price: the old one becomes legacy, a new one
    // goes on sale.
    fake.add_price(stripe::price("price_monthly_2027", "usd", 1000, Some("month")));
    let (status, _) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/prices/{PRICE_MONTHLY}"),
        Some(json!({"status": "legacy"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/api/tiers/{}/prices", seeded_tier(&app, &key).await),
        Some(json!({"stripe_price_id": "price_monthly_2027"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The reader on the old price cancels: access ends.
    let cancelled = stripe::event(
        "evt_c2",
        "customer.subscription.deleted",
        stripe::now(),
        stripe::subscription("sub_loyal", "cus_loyal", "canceled", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&cancelled).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER), "a cancelled reader reads no more");
    let (_, page) = app.get_text(&reader, "/subscribe").await;
    assert!(
        page.contains("$10 a month") && !page.contains("$8 a month"),
        "{page}"
    );
}

#[tokio::test]
async fn a_tier_or_price_readers_depend_on_cannot_be_deleted_only_taken_off_sale() {
    let (app, fake) = billing_app().await;
    let key = admin_key(&app).await;
    let (_, user_id) = app.member("kept@example.com").await;
    app.link_customer(user_id, "cus_kept").await;
    let created = stripe::event(
        "evt_d1",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_kept", "cus_kept", "active", PRICE_YEARLY, days(300)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);

    let (status, body) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/prices/{PRICE_YEARLY}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("legacy"),
        "{body}"
    );
    let (status, body) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/tiers/{}", seeded_tier(&app, &key).await),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("active"),
        "{body}"
    );

    // Off sale: gone from /subscribe, still there for its readers.
    let (status, tier) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/tiers/{}", seeded_tier(&app, &key).await),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tier}");
    assert_eq!(tier["active"], false);
    let (reader, _) = app.member("late@example.com").await;
    let (_, page) = app.get_text(&reader, "/subscribe").await;
    assert!(!page.contains("$80 a year"));

    // A price nobody is on goes; then an unused tier goes too.
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/prices/{PRICE_MONTHLY}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    fake.add_price(stripe::price("price_spare", "usd", 300, Some("week")));
    let (status, spare) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/tiers",
        Some(json!({"slug": "spare", "name": "Spare", "prices": [{"stripe_price_id": "price_spare"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(spare["prices"][0]["label"], "$3 a week");
    let id = spare["id"].as_i64().unwrap();
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/tiers/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, &key, Method::GET, &format!("/admin/api/tiers/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A catalogue without billing (prices are not checked against Stripe):
/// `silver` on `price_silver`, `gold` on `price_gold`; returns gold's id and
/// silver's.
async fn silver_and_gold(app: &TestApp, key: &str) -> (i32, i32) {
    let mut ids = Vec::new();
    for (slug, price) in [("silver", "price_silver"), ("gold", "price_gold")] {
        let (status, tier) = call(
            app,
            key,
            Method::POST,
            "/admin/api/tiers",
            Some(json!({"slug": slug, "name": slug, "prices": [{"stripe_price_id": price}]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{tier}");
        ids.push(tier["id"].as_i64().unwrap() as i32);
    }
    (ids[1], ids[0])
}

const GOLD_MARKER: &str = "GOLD-ONLY-7c1e";

#[tokio::test]
async fn a_gold_only_post_reaches_gold_readers_in_full_and_nobody_else_in_any_output() {
    use crate::email::{app_sending_to, wait_until_finished};
    use crate::helpers::new_client;
    use crate::smtp::{Parsed, SmtpSink};

    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let (gold, silver) = silver_and_gold(&app, &key).await;

    // Signed-up (so logged-in) members with confirmed addresses, so the
    // newsletter reaches them too.
    let mut clients = std::collections::HashMap::new();
    let mut add = async |who: &'static str| {
        let email = format!("{who}@example.com");
        let (client, id) = app.member(&email).await;
        app.db(move |conn| {
            Ok(broadsheet::db::users::mark_email_verified(
                conn,
                id,
                broadsheet::db::now(),
            )?)
        })
        .await;
        clients.insert(email.clone(), client);
        (email, id)
    };
    let (gold_reader, id) = add("gold").await;
    app.add_subscription_on(id, "active", 30, "price_gold").await;
    let (gold_comp, id) = add("goldcomp").await;
    app.add_comp_of_tier(id, None, Some(gold)).await;
    let (silver_reader, id) = add("silver").await;
    app.add_subscription_on(id, "active", 30, "price_silver").await;
    let (silver_comp, id) = add("silvercomp").await;
    app.add_comp_of_tier(id, None, Some(silver)).await;
    let (unknown_price, id) = add("unknownprice").await;
    app.add_subscription_on(id, "active", 30, "price_elsewhere").await;
    let (gold_stale, id) = add("goldstale").await;
    app.add_subscription_on(id, "active", -20, "price_gold").await;
    let (gold_failed, id) = add("goldfailed").await;
    app.add_subscription_on(id, "unpaid", -3, "price_gold").await;
    let (free, _) = add("free").await;

    let response = app
        .post_article(
            &key,
            json!({"title": "For gold", "visibility": "paid", "tiers": ["gold"], "publish": true, "email": "all",
                   "markdown": format!("Everyone sees this.\n\n<!-- paywall -->\n\nThe {GOLD_MARKER} part.")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["tiers"], json!(["gold"]));
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["status"], "finished", "{progress}");

    // Email: in full for gold and gold comps only; the rest get the preview,
    // and paying readers of another tier are asked to upgrade.
    let full_readers = [gold_reader.clone(), gold_comp.clone()];
    let upgraders = [silver_reader.clone(), silver_comp.clone(), unknown_price.clone()];
    let mails = sink.newsletters();
    assert!(mails.len() >= 8, "{} newsletters", mails.len());
    for message in sink.newsletters() {
        let to = &message.to[0];
        let (text, html) = message.bodies();
        let full = full_readers.contains(to);
        assert_eq!(html.contains(GOLD_MARKER), full, "{to}: html");
        assert_eq!(text.contains(GOLD_MARKER), full, "{to}: text");
        if upgraders.contains(to) {
            assert!(html.contains("Upgrade"), "{to} is asked to upgrade");
        }
    }

    // Site, JSON and feeds: the same decision for every reader state.
    let mut readers = vec![("anonymous", new_client())];
    for (who, email) in [
        ("silver", &silver_reader),
        ("silver comp", &silver_comp),
        ("price outside the catalogue", &unknown_price),
        ("gold, renewal news missed", &gold_stale),
        ("gold, card failed", &gold_failed),
        ("free", &free),
    ] {
        readers.push((who, clients[email.as_str()].clone()));
    }
    let slug = article["slug"].as_str().unwrap();
    let paths = [
        "/".to_owned(),
        format!("/p/{slug}"),
        "/api/articles".to_owned(),
        format!("/api/articles/{slug}"),
        "/feed.xml".to_owned(),
        "/sitemap.xml".to_owned(),
    ];
    for (who, client) in &readers {
        for path in &paths {
            let body = app.get_with(client, path).await.text().await.unwrap();
            assert!(!body.contains(GOLD_MARKER), "{who} saw the gold part at {path}");
        }
    }
    let (_, json) = app
        .get_json(&readers[1].1, &format!("/api/articles/{slug}"))
        .await;
    assert_eq!(json["cta"]["kind"], "upgrade", "{json}");
    let (_, page) = app.get_text(&clients[&gold_reader], &format!("/p/{slug}")).await;
    assert!(page.contains(GOLD_MARKER), "the scan above means something");
}

#[tokio::test]
async fn tiers_are_only_for_paid_posts_and_must_exist() {
    let app = crate::helpers::spawn_app().await;
    let key = admin_key(&app).await;
    silver_and_gold(&app, &key).await;
    for (body, field) in [
        (
            json!({"title": "A", "markdown": "x", "visibility": "members", "tiers": ["gold"]}),
            "tiers",
        ),
        (
            json!({"title": "B", "markdown": "x", "visibility": "paid", "tiers": ["platinum"]}),
            "tiers",
        ),
    ] {
        let response = app.post_article(&key, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    assert_eq!(app.count_rows("articles").await, 0);
    let response = app
        .post_article(
            &key,
            json!({"title": "C", "markdown": "x", "visibility": "paid", "tiers": ["gold", "silver"]}),
        )
        .await;
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["tiers"], json!(["silver", "gold"]), "in display order");
    // Made free to members: no longer for some tiers; a gated tier cannot go.
    let id = article["id"].as_i64().unwrap();
    let (_, tiers) = call(&app, &key, Method::GET, "/admin/api/tiers", None).await;
    let gold_id = tiers
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "gold")
        .unwrap()["id"]
        .clone();
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/tiers/{gold_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, edited) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/articles/{id}"),
        Some(json!({"visibility": "members"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["tiers"], json!([]));
}

#[tokio::test]
async fn stripe_import_prices_lists_the_account_and_adds_the_chosen_prices_to_a_tier() {
    let (app, fake) = billing_app().await;
    fake.add_price(stripe::price("price_founders", "gbp", 4000, Some("year")));
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .args(["admin", "stripe-import-prices"])
            .args(args)
            .envs(stripe::billing_settings(&fake))
            .env("DATABASE_URL", &app.config.database_url)
            .env("BROADSHEET_DATA_DIR", app.data_dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let listing = run(&[]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(
        listing.contains("price_founders") && listing.contains("£40 a year"),
        "{listing}"
    );
    assert!(
        listing.contains("The Ledger membership"),
        "product names: {listing}"
    );
    assert!(
        listing.contains("in tier paid"),
        "the configured prices are in the catalogue: {listing}"
    );

    let added = run(&["--tier", "founders", "--price", "price_founders", "--legacy"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let key = admin_key(&app).await;
    let (_, tiers) = call(&app, &key, Method::GET, "/admin/api/tiers", None).await;
    let founders = tiers
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "founders")
        .unwrap();
    assert_eq!(founders["name"], "The Ledger membership");
    assert_eq!(founders["prices"][0]["status"], "legacy");
    assert_eq!(founders["prices"][0]["label"], "£40 a year");

    // All or nothing: a price already in the catalogue, or one the account
    // lacks, adds nothing.
    let again = run(&[
        "--tier",
        "founders",
        "--price",
        "price_missing",
        "--price",
        "price_founders",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("price_missing"));
    assert_eq!(app.count_rows("tier_prices").await, 3);
}

#[tokio::test]
async fn stripe_tax_and_typed_promotion_codes_reach_checkout_when_turned_on() {
    let fake = stripe::FakeStripe::start().await;
    let mut settings = stripe::billing_settings(&fake);
    settings.insert("STRIPE_AUTOMATIC_TAX", "true".to_owned());
    settings.insert("STRIPE_PROMOTION_CODES", "true".to_owned());
    let app = crate::helpers::spawn_app_with(settings).await;
    let (reader, _) = app.member("taxed@example.com").await;
    let response = app
        .post_form(&reader, "/subscribe", &[("price", PRICE_YEARLY)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let form = &fake.requests("/v1/checkout/sessions")[0].form;
    assert_eq!(form["automatic_tax[enabled]"], "true");
    assert_eq!(form["billing_address_collection"], "required");
    assert_eq!(form["tax_id_collection[enabled]"], "true");
    assert_eq!(form["customer_update[address]"], "auto");
    assert_eq!(form["customer_update[name]"], "auto");
    assert_eq!(form["allow_promotion_codes"], "true");

    // Off by default.
    let (plain, fake_plain) = billing_app().await;
    let (reader, _) = plain.member("plain@example.com").await;
    plain
        .post_form(&reader, "/subscribe", &[("price", PRICE_YEARLY)])
        .await;
    let form = &fake_plain.requests("/v1/checkout/sessions")[0].form;
    assert!(!form.contains_key("automatic_tax[enabled]") && !form.contains_key("allow_promotion_codes"));
}

#[tokio::test]
async fn a_trialing_member_sees_when_the_trial_ends_on_their_account_page() {
    let (app, _fake) = billing_app().await;
    let (reader, user_id) = app.member("trial@example.com").await;
    app.link_customer(user_id, "cus_trial").await;
    let trialing = stripe::event(
        "evt_tr1",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_trial", "cus_trial", "trialing", PRICE_MONTHLY, days(14)),
    );
    assert_eq!(app.webhook(&trialing).await, StatusCode::OK);
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(account.contains("Free trial until"), "{account}");
    let active = stripe::event(
        "evt_tr2",
        "customer.subscription.updated",
        stripe::now() + 1,
        stripe::subscription("sub_trial", "cus_trial", "active", PRICE_MONTHLY, days(44)),
    );
    assert_eq!(app.webhook(&active).await, StatusCode::OK);
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(
        !account.contains("Free trial") && account.contains("Renews on"),
        "{account}"
    );
    let failed = stripe::event(
        "evt_tr3",
        "customer.subscription.updated",
        stripe::now() + 2,
        stripe::subscription("sub_trial", "cus_trial", "past_due", PRICE_MONTHLY, days(74)),
    );
    assert_eq!(app.webhook(&failed).await, StatusCode::OK);
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(
        account.contains("Payment failed on"),
        "trial → active → past_due: {account}"
    );
}

#[tokio::test]
async fn stripe_adopt_links_imported_paying_readers_who_then_lapse_when_they_cancel() {
    let (app, fake) = billing_app().await;
    let key = admin_key(&app).await;
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/tiers",
        Some(json!({"slug": "founders", "name": "Founders", "active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // A Ghost export keeps the customer id; a Substack one does not.
    let files = tempfile::tempdir().unwrap();
    let ghost = files.path().join("ghost.csv");
    std::fs::write(
        &ghost,
        "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n\
         1,carol@example.com,Carol,,true,false,cus_carol,2023-03-01T00:00:00.000Z,,,Gold\n",
    )
    .unwrap();
    let substack = files.path().join("substack.csv");
    std::fs::write(
        &substack,
        "email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n\
         dan@example.com,true,2099-01-01T00:00:00.000Z,yearly,false,2022-05-01T12:00:00.000Z,2022-05-01T12:00:00.000Z\n\
         gil@example.com,true,2099-01-01T00:00:00.000Z,monthly,false,2022-05-01T12:00:00.000Z,2022-05-01T12:00:00.000Z\n\
         hal@example.com,true,2099-01-01T00:00:00.000Z,monthly,false,2022-05-01T12:00:00.000Z,2022-05-01T12:00:00.000Z\n",
    )
    .unwrap();
    let settings = stripe::billing_settings(&fake);
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .arg("admin")
            .args(args)
            .envs(settings.clone())
            .env("DATABASE_URL", &app.config.database_url)
            .env("BROADSHEET_DATA_DIR", app.data_dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    for file in [&ghost, &substack] {
        let out = cli(&["import", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    fake.set_subscriptions(
        "cus_carol",
        vec![stripe::subscription(
            "sub_carol",
            "cus_carol",
            "active",
            "price_ghost_gold",
            days(20),
        )],
    );
    fake.add_customer("dan@example.com", "cus_dan");
    fake.set_subscriptions(
        "cus_dan",
        vec![
            stripe::subscription(
                "sub_dan_old",
                "cus_dan",
                "canceled",
                "price_substack_2021",
                days(-300),
            ),
            stripe::subscription("sub_dan", "cus_dan", "active", "price_substack_yearly", days(200)),
        ],
    );
    fake.add_customer("gil@example.com", "cus_gil_1");
    fake.add_customer("gil@example.com", "cus_gil_2");

    // The dry run reports and writes nothing.
    let dry = cli(&["stripe-adopt", "--tier", "founders"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let report = String::from_utf8(dry.stdout).unwrap();
    for line in [
        "matched    carol@example.com → cus_carol: sub_carol (price_ghost_gold, active)",
        "matched    dan@example.com → cus_dan: sub_dan (price_substack_yearly, active)",
        "ambiguous  gil@example.com: customers cus_gil_1, cus_gil_2",
        "unmatched  hal@example.com: no Stripe customer has this email",
        "2 of 4 imported paying reader(s) would be linked",
    ] {
        assert!(report.contains(line), "{line:?} in:\n{report}");
    }
    assert_eq!(app.count_rows("subscriptions").await, 0);

    let applied = cli(&["stripe-adopt", "--tier", "founders", "--apply"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(String::from_utf8_lossy(&applied.stdout).contains("2 of 4 imported paying reader(s) linked"));
    assert_eq!(
        app.count_rows("subscriptions").await,
        2,
        "only live subscriptions"
    );
    let (_, tiers) = call(&app, &key, Method::GET, "/admin/api/tiers", None).await;
    let founders = tiers
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "founders")
        .unwrap();
    let prices: Vec<(&str, &str)> = founders["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["stripe_price_id"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        prices,
        [
            ("price_ghost_gold", "legacy"),
            ("price_substack_yearly", "legacy")
        ]
    );
    // Dan's stand-in comp is gone; gil and hal keep theirs.
    let comps_left = app.count_rows("comps").await;
    assert_eq!(comps_left, 2);

    // Dan reads because he pays; when he cancels (after the adoption), he lapses.
    let dan_id = app.user_id("dan@example.com").await;
    let dan_standing = async || {
        let member = app
            .db(move |conn| {
                let user = broadsheet::db::users::find(conn, dan_id)?.unwrap();
                Ok(broadsheet::db::members::load_member(conn, &user)?)
            })
            .await;
        broadsheet::domain::access::Standing::of(&member, broadsheet::db::now(), &Default::default())
    };
    assert!(dan_standing().await.is_paying());
    let cancelled = stripe::event(
        "evt_adopt1",
        "customer.subscription.deleted",
        stripe::now() + 2,
        stripe::subscription(
            "sub_dan",
            "cus_dan",
            "canceled",
            "price_substack_yearly",
            days(200),
        ),
    );
    assert_eq!(app.webhook(&cancelled).await, StatusCode::OK);
    assert_eq!(app.stored_status("sub_dan").await.as_deref(), Some("canceled"));
    assert!(
        !dan_standing().await.is_paying(),
        "a migrated reader who cancels is no longer paying"
    );
}

#[tokio::test]
async fn a_subscriber_choosing_another_price_goes_to_the_portal_never_to_a_second_checkout() {
    let (app, fake) = billing_app().await;
    let reader = crate::billing::paying_reader(&app, "switcher@example.com", "cus_switcher").await;
    let (_, page) = app.get_text(&reader, "/subscribe").await;
    assert!(page.contains("You already subscribe"), "{page}");
    let response = app
        .post_form(&reader, "/subscribe", &[("price", PRICE_YEARLY)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "https://billing.stripe.test/session/portal"
    );
    assert!(
        fake.requests("/v1/checkout/sessions").is_empty(),
        "no second subscription"
    );

    // Once it has ended, choosing a price is a new Checkout again.
    let ended = stripe::event(
        "evt_sw2",
        "customer.subscription.deleted",
        stripe::now() + 1,
        stripe::subscription(
            "sub_cus_switcher",
            "cus_switcher",
            "canceled",
            PRICE_MONTHLY,
            days(20),
        ),
    );
    assert_eq!(app.webhook(&ended).await, StatusCode::OK);
    let response = app
        .post_form(&reader, "/subscribe", &[("price", PRICE_YEARLY)])
        .await;
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://checkout.stripe.test/")
    );
}

#[tokio::test]
async fn prices_in_several_currencies_show_one_currency_at_a_time_in_the_readers_choice() {
    let (app, fake) = billing_app().await;
    add_euro_price_to_the_seeded_tier(&app, &fake).await;

    let (reader, _) = app.member("reader@example.com").await;
    let german = reader
        .get(app.url("/subscribe"))
        .header("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        german.contains("€12.50 a month") && !german.contains("$8 a month"),
        "{german}"
    );
    assert!(german.contains("href=\"/subscribe?currency=usd\""), "{german}");

    let (_, chosen) = app.get_text(&reader, "/subscribe?currency=usd").await;
    assert!(
        chosen.contains("$8 a month") && chosen.contains("$80 a year"),
        "{chosen}"
    );
    assert!(!chosen.contains("€12.50"), "{chosen}");
    let (status, _) = app.get_text(&reader, "/subscribe?currency=zzz").await;
    assert_eq!(status, StatusCode::OK, "an unknown currency shows the default");
    let (status, _) = app.get_text(&reader, "/subscribe?currency=%00zz").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a NUL in any query string is refused"
    );
}

#[tokio::test]
async fn the_billing_portal_lets_a_subscriber_switch_between_the_catalogues_prices() {
    let (app, fake) = billing_app().await;
    let reader = paying_reader(&app, "switcher@example.com", "cus_switch").await;
    let response = app.post_form(&reader, "/billing/portal", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let made = fake.requests("/v1/billing_portal/configurations");
    assert_eq!(made.len(), 1);
    let form = &made[0].form;
    let product = "features[subscription_update][products][0]";
    assert_eq!(form[&format!("{product}[prices][0]")], PRICE_MONTHLY);
    assert_eq!(form[&format!("{product}[prices][1]")], PRICE_YEARLY);
    assert!(form.contains_key(&format!("{product}[product]")), "{form:?}");
    assert_eq!(form["features[subscription_update][enabled]"], "true");
    assert_eq!(form["features[subscription_cancel][mode]"], "at_period_end");
    let session = fake.requests("/v1/billing_portal/sessions").pop().unwrap();
    assert_eq!(session.form["configuration"], "bpc_test1");
    assert_eq!(session.form["customer"], "cus_switch");

    // The same catalogue: the same configuration.
    app.post_form(&reader, "/billing/portal", &[]).await;
    assert_eq!(fake.requests("/v1/billing_portal/configurations").len(), 1);

    // A new price on sale: a new configuration that offers it.
    add_euro_price_to_the_seeded_tier(&app, &fake).await;
    app.post_form(&reader, "/billing/portal", &[]).await;
    let made = fake.requests("/v1/billing_portal/configurations");
    assert_eq!(made.len(), 2);
    assert!(
        made[1].form.values().any(|v| v == "price_gold_eur"),
        "{:?}",
        made[1].form
    );
    let session = fake.requests("/v1/billing_portal/sessions").pop().unwrap();
    assert_ne!(session.form["configuration"], "bpc_test1");
}
