//! The publication's figures over a range of days: `GET /admin/api/stats`
//! and the editor's `/admin/stats` page, against members, subscriptions
//! and sends with known dates.

use broadsheet::{
    db::{self, tiers},
    domain::{
        role::Role,
        slug::Slug,
        tier::{Interval, PriceDetails, PriceStatus, TierDraft},
    },
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestApp, spawn_app};

fn day(days_ago: i64) -> String {
    (OffsetDateTime::now_utc().date() - Duration::days(days_ago)).to_string()
}

/// The figures `GET /admin/api/stats{query}` answers.
async fn figures(app: &TestApp, key: &str, query: &str) -> Value {
    let path = format!("/admin/api/stats{query}");
    let response = app.admin(Method::GET, Some(key), &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Moves a member's account, and their subscriptions, back in time.
async fn joined_days_ago(app: &TestApp, user_id: i32, days: i64) {
    app.db(move |conn| {
        use broadsheet::db::schema::{subscriptions, users};
        use diesel::prelude::*;
        let then = db::now() - Duration::days(days);
        diesel::update(users::table.find(user_id))
            .set(users::created_at.eq(then))
            .execute(conn)?;
        diesel::update(subscriptions::table.filter(subscriptions::user_id.eq(user_id)))
            .set((
                subscriptions::created_at.eq(then),
                subscriptions::stripe_updated_at.eq(then),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await;
}

/// A tier with an $8 monthly and an $80 yearly price, amounts known.
async fn catalogue(app: &TestApp) {
    app.db(|conn| {
        let draft = TierDraft {
            slug: Slug::parse("supporter").unwrap(),
            name: "Supporter".into(),
            description: String::new(),
            benefits: Vec::new(),
            active: true,
            position: 0,
        };
        let tier = tiers::insert(conn, &draft, db::now())?;
        for (id, amount, interval) in [
            ("price_monthly", 800, Interval::Month),
            ("price_yearly", 8000, Interval::Year),
        ] {
            let details = PriceDetails {
                currency: "usd".into(),
                unit_amount: Some(amount),
                interval: Some(interval),
                interval_count: 1,
                product: None,
            };
            tiers::insert_price(
                conn,
                tier,
                id,
                PriceStatus::Active,
                None,
                Some(&details),
                db::now(),
            )?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_overview_counts_members_per_day_revenue_churn_and_sends_for_a_range() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let editor = app.editor_key().await;
    // Ten days ago: two members, one paying monthly. Five days ago: one
    // more, paying yearly. Yesterday: the monthly one cancelled.
    let mut ids = Vec::new();
    for (email, days) in [("a@example.com", 10), ("b@example.com", 10), ("c@example.com", 5)] {
        let (_, id) = app.member(email).await;
        ids.push((id, days));
    }
    app.add_subscription_on(ids[0].0, "active", 20, "price_monthly")
        .await;
    app.add_subscription_on(ids[2].0, "active", 300, "price_yearly")
        .await;
    for (id, days) in &ids {
        joined_days_ago(&app, *id, *days).await;
    }
    let monthly = ids[0].0;
    app.db(move |conn| {
        use broadsheet::db::schema::subscriptions;
        use diesel::prelude::*;
        diesel::update(subscriptions::table.filter(subscriptions::user_id.eq(monthly)))
            .set((
                subscriptions::status.eq("canceled"),
                subscriptions::stripe_updated_at.eq(db::now() - Duration::days(1)),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await;

    let path = format!("/admin/api/stats?from={}&to={}", day(12), day(0));
    let response = app.admin(Method::GET, Some(&editor), &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stats: Value = response.json().await.unwrap();
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 13);
    let on = |days_ago: i64| days.iter().find(|d| d["date"] == day(days_ago)).unwrap().clone();
    // The editor's own account is staff: not a member.
    assert_eq!(
        (on(11)["total"].clone(), on(11)["paid"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        (
            on(10)["total"].clone(),
            on(10)["paid"].clone(),
            on(10)["signups"].clone()
        ),
        (json!(2), json!(1), json!(2))
    );
    assert_eq!(
        (
            on(5)["total"].clone(),
            on(5)["paid"].clone(),
            on(5)["free"].clone()
        ),
        (json!(3), json!(2), json!(1))
    );
    assert_eq!(
        (on(1)["paid"].clone(), on(1)["cancellations"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(stats["cancellations"], 1);
    assert_eq!(stats["paid_at_start"], 0);
    assert_eq!(
        stats["mrr"],
        json!({"usd": 667}),
        "$80 a year is $6.67 a month; the cancelled one pays nothing"
    );

    // Over the last three days: one of the two paying at the start ended.
    let stats = figures(&app, &editor, &format!("?from={}", day(2))).await;
    assert_eq!(
        (stats["paid_at_start"].clone(), stats["cancellations"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(stats["churn_rate"], 0.5);

    for bad in [
        "?from=yesterday",
        "?from=2026-12-08&to=2026-12-01",
        "?from=2020-01-01&to=2026-01-01",
    ] {
        let response = app
            .admin(
                Method::GET,
                Some(&editor),
                &format!("/admin/api/stats{bad}"),
                None,
            )
            .await;
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
    }
    let author = app.author_key().await;
    let response = app
        .admin(Method::GET, Some(&author), "/admin/api/stats", None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_figures_page_draws_its_charts_on_the_server_and_lists_the_same_figures() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let (_, reader) = app.member("reader@example.com").await;
    app.add_subscription_on(reader, "active", 20, "price_monthly")
        .await;
    let (editor, editor_id) = app.member("editor@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let (status, html) = app.get_text(&editor, "/admin/stats").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        html.matches("<svg class=\"chart\"").count(),
        2,
        "two charts, no script needed"
    );
    assert!(html.contains("$8"), "monthly revenue from the catalogue: {html}");
    assert!(
        html.contains(&format!(
            "<td>{}</td><td>1</td><td>1</td><td>0</td><td>1</td>",
            day(0)
        )),
        "{html}"
    );
    let (status, html) = app.get_text(&editor, "/admin/stats?from=nonsense").await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        html.contains("from must be a date"),
        "the page says what was wrong"
    );
    let (reader_client, _) = app.member("other@example.com").await;
    let (status, _) = app.get_text(&reader_client, "/admin/stats").await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_overview_counts_the_ranges_sends_and_what_their_recipients_did() {
    let sink = crate::smtp::SmtpSink::start().await;
    let app = crate::email::app_sending_to(&sink, &[]).await;
    let readers = app.add_verified_members("reader", 3).await;
    let editor = app.editor_key().await;
    let response = app
        .post_article(
            &editor,
            json!({"title": "Counted", "markdown": "See [this](https://elsewhere.example.org/).",
                   "visibility": "public", "publish": true, "email": "all"}),
        )
        .await;
    let article: Value = response.json().await.unwrap();
    crate::email::wait_until_finished(&app, &editor, &article["send_id"]).await;
    // One recipient follows the tracked link.
    let message = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == readers[0])
        .unwrap();
    let (_, html) = crate::smtp::Parsed::bodies(&message);
    let link = html
        .split('"')
        .find(|s| s.contains("/r/"))
        .expect("a tracked link")
        .replace("http://127.0.0.1:8080", "");
    let followed = app.get_with(&crate::helpers::new_client(), &link).await;
    assert_eq!(followed.status(), StatusCode::FOUND);

    let stats = figures(&app, &editor, "").await;
    assert_eq!(
        stats["sends"],
        json!({"sends": 1, "recipients": 3, "delivered": 3, "failed": 0, "opened": 0, "clicked": 1})
    );
    let before = figures(&app, &editor, &format!("?to={}", day(1))).await;
    assert_eq!(before["sends"]["sends"], 0, "yesterday had none");
}

const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

async fn open_with_agent(app: &TestApp, path: &str, user_agent: Option<&str>) -> StatusCode {
    let mut request = crate::helpers::new_client().get(app.url(path));
    if let Some(agent) = user_agent {
        request = request.header("User-Agent", agent);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn page_views_are_counted_per_post_and_day_leaving_out_crawlers_staff_and_redirects() {
    let app = crate::helpers::spawn_app_with(std::collections::HashMap::from([(
        "BROADSHEET_PAGE_VIEW_FLUSH_MS",
        "50".to_owned(),
    )]))
    .await;
    let (public, _, paid) = app.publish_one_of_each().await;
    let editor = app.editor_key().await;
    for _ in 0..3 {
        assert_eq!(
            open_with_agent(&app, &format!("/p/{public}"), Some(BROWSER)).await,
            StatusCode::OK
        );
    }
    // A teaser is a view of the paid post too.
    assert_eq!(
        open_with_agent(&app, &format!("/p/{paid}"), Some(BROWSER)).await,
        StatusCode::OK
    );
    for agent in [
        Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
        Some("Twitterbot/1.0"),
        Some("curl/8.5.0"),
        None,
    ] {
        assert_eq!(
            open_with_agent(&app, &format!("/p/{public}"), agent).await,
            StatusCode::OK
        );
    }
    // A post asked for at a page's address is a redirect, not a view; a
    // missing one is nothing.
    assert_eq!(
        open_with_agent(&app, &format!("/{public}"), Some(BROWSER)).await,
        StatusCode::MOVED_PERMANENTLY
    );
    assert_eq!(
        open_with_agent(&app, "/p/no-such-post", Some(BROWSER)).await,
        StatusCode::NOT_FOUND
    );
    // Staff reading their own site are not readers.
    let (staff, staff_id) = app.member("writer@example.com").await;
    app.set_role(staff_id, Role::Editor).await;
    let response = staff
        .get(app.url(&format!("/p/{public}")))
        .header("User-Agent", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let ids: Vec<(String, i64)> = app
        .db(|conn| {
            use broadsheet::db::schema::articles;
            use diesel::prelude::*;
            let rows: Vec<(String, i32)> = articles::table
                .select((articles::slug, articles::id))
                .load(conn)?;
            Ok(rows.into_iter().map(|(s, id)| (s, i64::from(id))).collect())
        })
        .await;
    let id_of = |slug: &str| ids.iter().find(|(s, _)| s == slug).unwrap().1;
    let views_of = |id: i64| {
        let (app, editor) = (&app, &editor);
        async move {
            let stats: Value = app
                .admin(
                    Method::GET,
                    Some(editor),
                    &format!("/admin/api/articles/{id}/stats"),
                    None,
                )
                .await
                .json()
                .await
                .unwrap();
            stats["views"].clone()
        }
    };
    let mut views = Value::Null;
    for _ in 0..200 {
        views = views_of(id_of(&public)).await;
        if views["total"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(views, json!({"total": 3, "days": [{"date": day(0), "views": 3}]}));
    assert_eq!(views_of(id_of(&paid)).await["total"], 1);
    let stats = figures(&app, &editor, "").await;
    let today = stats["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["views"], 4, "{today}");
}
