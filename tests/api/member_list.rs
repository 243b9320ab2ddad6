//! The member list editors search and admins change: filters with totals,
//! roles, adding a member with a comp, labels and notes, the timeline,
//! deleting, and refusals of bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    email::{WAIT, app_sending_to, link_in},
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app},
    smtp::SmtpSink,
    tiers::{admin_key, call},
};
use broadsheet::domain::role::Role;

/// The emails on a page of `/admin/api/members?{query}`, and the total.
async fn emails_for(app: &TestApp, key: &str, query: &str) -> (Vec<String>, i64) {
    let (status, list) = call(
        app,
        key,
        Method::GET,
        &format!("/admin/api/members?{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    let mut emails: Vec<String> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    (emails, list["total"].as_i64().unwrap())
}

/// A member's timeline (`/admin/api/members/{id}/activity`) as JSON text.
pub(crate) async fn timeline_of(app: &TestApp, key: &str, id: impl std::fmt::Display) -> String {
    let path = format!("/admin/api/members/{id}/activity");
    let (status, timeline) = call(app, key, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    timeline.to_string()
}

async fn member_id(app: &TestApp, email: &str) -> i32 {
    app.user_id(email).await
}

#[tokio::test]
async fn each_filter_and_the_search_find_the_right_members_with_totals() {
    let app = spawn_app().await;
    let key = admin_key(&app).await;
    for email in [
        "paid@example.com",
        "comped@example.com",
        "lapsed@example.com",
        "card@example.com",
    ] {
        app.member(email).await;
    }
    app.add_verified_members("free", 3).await;
    app.add_subscription(member_id(&app, "paid@example.com").await, "active", 20)
        .await;
    app.add_comp(member_id(&app, "comped@example.com").await, None)
        .await;
    app.add_subscription(member_id(&app, "lapsed@example.com").await, "canceled", -5)
        .await;
    app.add_subscription(member_id(&app, "card@example.com").await, "past_due", -30)
        .await;
    let paid = member_id(&app, "paid@example.com").await;
    let (status, _) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/members/{paid}"),
        Some(json!({"name": "Ada Lovelace", "labels": ["Early backer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let paid_only = (vec!["paid@example.com".to_owned()], 1);
    assert_eq!(emails_for(&app, &key, "status=paid").await, paid_only);
    assert_eq!(
        emails_for(&app, &key, "status=comped").await,
        (vec!["comped@example.com".to_owned()], 1)
    );
    assert_eq!(
        emails_for(&app, &key, "status=lapsed").await,
        (vec!["lapsed@example.com".to_owned()], 1)
    );
    assert_eq!(
        emails_for(&app, &key, "status=card_failed").await,
        (vec!["card@example.com".to_owned()], 1)
    );
    assert_eq!(emails_for(&app, &key, "status=free").await.1, 3);
    assert_eq!(
        emails_for(&app, &key, "status=staff").await,
        (vec!["owner@example.com".to_owned()], 1)
    );
    assert_eq!(
        emails_for(&app, &key, "q=LOVELACE").await,
        paid_only,
        "names match, case aside"
    );
    assert_eq!(emails_for(&app, &key, "q=paid%40exa").await, paid_only);
    assert_eq!(emails_for(&app, &key, "label=early-backer").await, paid_only);
    assert_eq!(
        emails_for(&app, &key, "label=early-backer&status=free").await.1,
        0,
        "filters combine"
    );
    assert_eq!(emails_for(&app, &key, "label=no-such-label").await.1, 0);
    assert_eq!(
        emails_for(&app, &key, "source=signup").await.1,
        5,
        "four readers and the owner signed up"
    );
    assert_eq!(
        emails_for(&app, &key, "q=%25").await.1,
        0,
        "LIKE wildcards are text"
    );
    assert_eq!(
        emails_for(&app, &key, "newsletter=newsletter").await.1,
        8,
        "everyone joined the first newsletter"
    );

    let (_, first) = call(&app, &key, Method::GET, "/admin/api/members?per_page=4", None).await;
    assert_eq!(
        (first["total"].as_i64(), first["pages"].as_i64()),
        (Some(8), Some(2))
    );
    assert_eq!(first["members"].as_array().unwrap().len(), 4);
    let (_, second) = call(
        &app,
        &key,
        Method::GET,
        "/admin/api/members?per_page=4&page=2",
        None,
    )
    .await;
    let seen: Vec<&Value> = first["members"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["members"].as_array().unwrap())
        .collect();
    let mut ids: Vec<i64> = seen.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8, "two pages hold every member once, newest first");

    let (status, counts) = call(&app, &key, Method::GET, "/admin/api/members/counts", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        counts,
        json!({"total": 8, "free": 3, "paid": 1, "comped": 1, "lapsed": 1, "card_failed": 1, "staff": 1, "new_this_month": 8})
    );
}

#[tokio::test]
async fn bad_list_queries_get_a_clear_422_and_never_a_500() {
    let app = spawn_app().await;
    let key = admin_key(&app).await;
    let long = "q".repeat(10_000);
    for query in [
        "status=rich",
        "per_page=0",
        "per_page=1000",
        "page=0",
        "created_after=yesterday",
        "label=Not%20A%20Slug",
        &format!("q={long}"),
    ] {
        let (status, body) = call(
            &app,
            &key,
            Method::GET,
            &format!("/admin/api/members?{query}"),
            None,
        )
        .await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{query}: {status} {body}"
        );
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn editors_read_members_and_may_not_change_them_and_authors_may_do_neither() {
    let app = spawn_app().await;
    let editor = app.api_key_for("editor@example.com", Role::Editor).await;
    let author = app.author_key().await;
    let (_, reader) = app.member("reader@example.com").await;
    let path = format!("/admin/api/members/{reader}");
    assert_eq!(
        call(&app, &editor, Method::GET, "/admin/api/members", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, &editor, Method::GET, &path, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, &editor, Method::GET, &format!("{path}/activity"), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, &editor, Method::GET, "/admin/api/labels", None)
            .await
            .0,
        StatusCode::OK
    );
    let writes = [
        (
            Method::POST,
            "/admin/api/members".to_owned(),
            Some(json!({"email": "new@example.com"})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"note": "x"}))),
        (Method::DELETE, path.clone(), None),
        (
            Method::POST,
            "/admin/api/labels".to_owned(),
            Some(json!({"name": "VIP"})),
        ),
    ];
    for (method, path, body) in writes {
        let (status, _) = call(&app, &editor, method.clone(), &path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "editor {method} {path}");
    }
    for path in [
        "/admin/api/members",
        path.as_str(),
        "/admin/api/labels",
        "/admin/api/members/counts",
    ] {
        assert_eq!(
            call(&app, &author, Method::GET, path, None).await.0,
            StatusCode::FORBIDDEN,
            "author {path}"
        );
    }
}

#[tokio::test]
async fn a_member_added_with_a_comp_reads_paid_posts_at_once_from_the_sign_in_link() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let editor = app.editor_key().await;
    let paid = app
        .post_article(
            &editor,
            json!({"title": "Members only", "visibility": "paid", "publish": true,
            "markdown": format!("Free part.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")}),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::CREATED);

    let body = json!({"email": "Friend@Example.com", "name": "A Friend", "labels": ["Press", "Press"], "note": "Met at the fair.\nSends tips.",
        "comp": {"reason": "press pass"}, "send_sign_in_link": true});
    let (status, member) = call(&app, &key, Method::POST, "/admin/api/members", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["email"], "friend@example.com");
    assert_eq!(
        (member["status"].as_str(), member["standing"].as_str()),
        (Some("comped"), Some("paid"))
    );
    assert_eq!(member["labels"], json!(["Press"]));
    assert_eq!(member["note"], "Met at the fair.\nSends tips.");
    assert_eq!(
        member["newsletters"][0]["subscribed"], true,
        "new members join the default newsletter"
    );
    let (status, again) = call(&app, &key, Method::POST, "/admin/api/members", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // The owner's and the editor's confirmations, then the sign-in link.
    sink.wait_for(3, WAIT).await;
    let link = link_in(&sink, "friend@example.com", "/login/link/");
    let browser = new_client();
    assert_eq!(
        app.post_form(&browser, &link, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, page) = app.get_text(&browser, "/p/members-only").await;
    assert!(page.contains(PAID_MARKER), "the comp reads in full at once");
}

#[tokio::test]
async fn labels_and_notes_round_trip_and_are_in_the_data_rights_download() {
    let app = spawn_app().await;
    let key = admin_key(&app).await;
    let (browser, id) = app.member("noted@example.com").await;
    let path = format!("/admin/api/members/{id}");
    let (status, member) = call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"labels": ["Café regular", "VIP"], "note": "Prefers the weekly."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["labels"], json!(["Café regular", "VIP"]));
    let (_, labels) = call(&app, &key, Method::GET, "/admin/api/labels", None).await;
    assert_eq!(labels[0]["slug"], "cafe-regular");
    assert_eq!(labels[0]["members"], 1);

    let (_, data) = app.get_json(&browser, "/account/data.json").await;
    assert_eq!(data["account"]["labels"], json!(["Café regular", "VIP"]));
    assert_eq!(data["account"]["note"], "Prefers the weekly.");
    assert_eq!(data["account"]["newsletters"], json!(["Newsletter"]));

    let (status, _) = call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"labels": ["VIP"], "note": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, member) = call(&app, &key, Method::GET, &path, None).await;
    assert_eq!(
        (member["labels"].clone(), member["note"].clone()),
        (json!(["VIP"]), Value::Null)
    );

    let vip = labels[1]["id"].as_i64().unwrap();
    let (status, renamed) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/labels/{vip}"),
        Some(json!({"name": "Patron"})),
    )
    .await;
    assert_eq!(
        (status, renamed["slug"].as_str()),
        (StatusCode::OK, Some("patron"))
    );
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/labels",
        Some(json!({"name": "Patron"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/labels/{vip}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, member) = call(&app, &key, Method::GET, &path, None).await;
    assert_eq!(member["labels"], json!([]));
}

#[tokio::test]
async fn the_timeline_tells_what_happened_to_a_member_newest_first() {
    let app = spawn_app().await;
    let key = admin_key(&app).await;
    let (_, id) = app.member("story@example.com").await;
    app.add_comp(id, Some(30)).await;
    let (status, _) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/members/{id}"),
        Some(json!({"suppressed": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, timeline) = call(
        &app,
        &key,
        Method::GET,
        &format!("/admin/api/members/{id}/activity"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["joined", "signed_in", "comp_granted", "suppressed", "email"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(
        kinds.last(),
        Some(&"joined"),
        "newest first: joining is the oldest"
    );
    let (_, member) = call(&app, &key, Method::GET, &format!("/admin/api/members/{id}"), None).await;
    assert_eq!(member["emails"]["suppressed_because"], "manual");
    let (status, _) = call(
        &app,
        &key,
        Method::GET,
        "/admin/api/members/999999/activity",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_address_must_be_confirmed_and_a_taken_one_is_refused() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let (_, id) = app.member("old@example.com").await;
    app.member("taken@example.com").await;
    let path = format!("/admin/api/members/{id}");
    let (status, _) = call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"email": "taken@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, member) = call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"email": "new@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(
        (member["email"].as_str(), member["email_verified"].as_bool()),
        (Some("new@example.com"), Some(false))
    );
    sink.wait_for(4, WAIT).await;
    assert!(link_in(&sink, "new@example.com", "/verify/").starts_with("/verify/"));
}

#[tokio::test]
async fn deleting_a_member_erases_them_as_self_service_deletion_does() {
    let app = spawn_app().await;
    let key = admin_key(&app).await;
    let (browser, id) = app.member("leaving@example.com").await;
    let path = format!("/admin/api/members/{id}");
    call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"labels": ["Gone"], "note": "bye"})),
    )
    .await;
    let (status, _) = call(&app, &key, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, &key, Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count_rows("member_labels").await, 0);
    let (_, list) = call(&app, &key, Method::GET, "/admin/api/members?q=leaving", None).await;
    assert_eq!(list["total"], 0);
    let (_, home) = app.get_text(&browser, "/").await;
    assert!(!home.contains("leaving@example.com"), "their session ended");
    let owner = app.user_id("owner@example.com").await;
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/members/{owner}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "staff are not deleted here");
}

#[tokio::test]
async fn an_admin_finds_a_member_by_email_opens_them_and_adds_a_label_in_the_browser() {
    use crate::{browser::Browser, helpers::PASSWORD};
    let app = spawn_app().await;
    let (_, admin_id) = app.member("owner@example.com").await;
    app.set_role(admin_id, Role::Admin).await;
    app.add_verified_members("someone", 3).await;
    let (_, wanted) = app.member("wanted@example.com").await;
    app.add_subscription(wanted, "active", 20).await;

    let browser = Browser::start().await;
    browser.open(&app.url("/login?next=/admin/members")).await;
    browser.fill("#email", "owner@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    assert_eq!(browser.wait_for_path("/admin/members").await, "/admin/members");
    assert!(
        browser.wait_for_text("5 Members").await,
        "the counts: {}",
        browser.text().await
    );

    browser.fill("#q", "wanted@").await;
    browser.click("form.member-search button[type=submit]").await;
    assert!(
        browser.wait_for_text("1 member").await,
        "{}",
        browser.text().await
    );
    browser.click_link("wanted@example.com").await;
    assert!(browser.wait_for_text("Timeline").await);
    assert!(browser.text().await.contains("Paid"), "the member's status");

    browser.fill("#labels", "Early backer").await;
    browser.click("form[action$='/labels'] button[type=submit]").await;
    assert!(
        browser.wait_for_text("Labels saved.").await,
        "{}",
        browser.text().await
    );
    assert_eq!(browser.value_of("#labels").await, "Early backer");
    browser.resize(390, 844).await;
    assert!(browser.horizontal_overflow().await <= 0, "fits a phone");
    browser.close().await;

    let key = app.api_key_for("api@example.com", Role::Admin).await;
    assert_eq!(
        emails_for(&app, &key, "label=early-backer").await.0,
        vec!["wanted@example.com".to_owned()]
    );
}

#[tokio::test]
async fn the_members_page_is_for_editors_and_admins_and_only_admins_change_members_there() {
    let app = spawn_app().await;
    let (reader, id) = app.member("reader@example.com").await;
    let (editor, editor_id) = app.member("editor@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let (author, author_id) = app.member("author@example.com").await;
    app.set_role(author_id, Role::Author).await;
    let (admin, admin_id) = app.member("admin@example.com").await;
    app.set_role(admin_id, Role::Admin).await;

    let (status, page) = app.get_text(&editor, &format!("/admin/members/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Only admins change members") && !page.contains("Save labels"),
        "{page}"
    );
    assert_eq!(
        app.get_text(&author, "/admin/members").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = app.get_text(&reader, "/admin/members").await;
    assert_ne!(status, StatusCode::OK);
    let refused = app
        .post_form(&editor, &format!("/admin/members/{id}/note"), &[("note", "x")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let path = format!("/admin/members/{id}");
    let saved = app
        .post_form(&admin, &format!("{path}/note"), &[("note", "Met at the fair")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let granted = app
        .post_form(
            &admin,
            &format!("{path}/comp"),
            &[("until", "2099-01-31"), ("reason", "press")],
        )
        .await;
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let bad_date = app
        .post_form(
            &admin,
            &format!("{path}/comp"),
            &[("until", "soon"), ("reason", "")],
        )
        .await;
    assert_eq!(bad_date.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = app.get_text(&admin, &path).await;
    assert!(
        page.contains("Met at the fair")
            && page.contains("Comped")
            && page.contains("End complimentary access"),
        "{page}"
    );
    let wrong = app
        .post_form(
            &admin,
            &format!("{path}/delete"),
            &[("confirm_email", "someone@else.com")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = app
        .post_form(
            &admin,
            &format!("{path}/delete"),
            &[("confirm_email", "reader@example.com")],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_text(&admin, &path).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.get_text(&admin, "/admin/members?status=rich").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
