//! The admin API's article workflow, for every role.

use broadsheet::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PAID_MARKER, TestApp, new_client, spawn_app};

struct Fixture {
    app: TestApp,
    editor: String,
    author: String,
    /// A draft by the editor.
    editors_draft: i64,
    /// A published paid article by the editor.
    published: i64,
    /// A draft by the author.
    authors_draft: i64,
}

async fn create(app: &TestApp, key: &str, body: Value) -> i64 {
    let response = app.post_article(key, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let editor = app.editor_key().await;
    let author = app.author_key().await;
    let editors_draft = create(
        &app,
        &editor,
        json!({"title": "Editor draft", "markdown": "Draft.", "visibility": "public"}),
    )
    .await;
    let published = create(
        &app,
        &editor,
        json!({"title": "Paid story", "markdown": format!("Intro.\n\n<!-- paywall -->\n\n{PAID_MARKER}"), "visibility": "paid", "publish": true}),
    )
    .await;
    let authors_draft = create(
        &app,
        &author,
        json!({"title": "Author draft", "markdown": "Mine.", "visibility": "members"}),
    )
    .await;
    Fixture {
        app,
        editor,
        author,
        editors_draft,
        published,
        authors_draft,
    }
}

/// What each role gets on each route. `None` in the key column is "no key".
#[tokio::test]
async fn every_admin_route_answers_each_role_as_its_permissions_say() {
    use StatusCode as S;
    // (route name, admin, editor, author, reader key, no key)
    type Row = (&'static str, [S; 5]);
    let rows: [Row; 14] = [
        ("list", [S::OK, S::OK, S::OK, S::FORBIDDEN, S::UNAUTHORIZED]),
        (
            "create draft",
            [S::CREATED, S::CREATED, S::CREATED, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "create published",
            [
                S::CREATED,
                S::CREATED,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::UNAUTHORIZED,
            ],
        ),
        (
            "get another's article",
            [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "get the author's draft",
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "patch another's draft",
            [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "patch the author's draft",
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "publish",
            [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "unpublish",
            [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "delete a published article",
            [
                S::CONFLICT,
                S::CONFLICT,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::UNAUTHORIZED,
            ],
        ),
        (
            "delete the author's draft",
            [
                S::NO_CONTENT,
                S::NO_CONTENT,
                S::NO_CONTENT,
                S::FORBIDDEN,
                S::UNAUTHORIZED,
            ],
        ),
        (
            "read the settings",
            [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "change the settings",
            [S::OK, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN, S::UNAUTHORIZED],
        ),
        (
            "get a missing article",
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::UNAUTHORIZED,
            ],
        ),
    ];
    for (column, role) in ["admin", "editor", "author", "reader", "none"]
        .into_iter()
        .enumerate()
    {
        for (route, expected) in &rows {
            // A fresh world per cell: routes change what they touch.
            let f = fixture().await;
            let key = match role {
                "admin" => Some(f.app.api_key_for("admin@example.com", Role::Admin).await),
                "editor" => Some(f.editor.clone()),
                "author" => Some(f.author.clone()),
                "reader" => Some(f.app.api_key_for("reader@example.com", Role::Reader).await),
                _ => None,
            };
            let (method, path, body) = match *route {
                "list" => (Method::GET, "/admin/api/articles".to_owned(), None),
                "create draft" => (
                    Method::POST,
                    "/admin/api/articles".to_owned(),
                    Some(json!({"title": "New", "markdown": "x", "visibility": "public"})),
                ),
                "create published" => (
                    Method::POST,
                    "/admin/api/articles".to_owned(),
                    Some(json!({"title": "New", "markdown": "x", "visibility": "public", "publish": true})),
                ),
                "get another's article" => {
                    (Method::GET, format!("/admin/api/articles/{}", f.published), None)
                }
                "get the author's draft" => (
                    Method::GET,
                    format!("/admin/api/articles/{}", f.authors_draft),
                    None,
                ),
                "patch another's draft" => (
                    Method::PATCH,
                    format!("/admin/api/articles/{}", f.editors_draft),
                    Some(json!({"title": "Renamed"})),
                ),
                "patch the author's draft" => (
                    Method::PATCH,
                    format!("/admin/api/articles/{}", f.authors_draft),
                    Some(json!({"title": "Renamed"})),
                ),
                "publish" => (
                    Method::POST,
                    format!("/admin/api/articles/{}/publish", f.editors_draft),
                    None,
                ),
                "unpublish" => (
                    Method::POST,
                    format!("/admin/api/articles/{}/unpublish", f.published),
                    None,
                ),
                "delete a published article" => (
                    Method::DELETE,
                    format!("/admin/api/articles/{}", f.published),
                    None,
                ),
                "delete the author's draft" => (
                    Method::DELETE,
                    format!("/admin/api/articles/{}", f.authors_draft),
                    None,
                ),
                "get a missing article" => (Method::GET, "/admin/api/articles/999999".to_owned(), None),
                "read the settings" => (Method::GET, "/admin/api/settings".to_owned(), None),
                "change the settings" => (
                    Method::PATCH,
                    "/admin/api/settings".to_owned(),
                    Some(json!({"title": "Renamed"})),
                ),
                other => unreachable!("{other}"),
            };
            let response = f.app.admin(method, key.as_deref(), &path, body).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, expected[column], "{role} on {route}: {text}");
            if !status.is_success() {
                let json: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{role} on {route}: not JSON: {text}"));
                assert!(json["error"]["message"].is_string(), "{role} on {route}");
                assert!(
                    !text.contains(PAID_MARKER),
                    "{role} on {route} leaked the paid body"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_author_lists_only_their_own_articles_and_an_editor_filters_by_status_and_visibility() {
    let f = fixture().await;
    let mine: Value = f
        .app
        .admin(Method::GET, Some(&f.author), "/admin/api/articles", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["articles"][0]["id"], f.authors_draft);

    let all: Value = f
        .app
        .admin(Method::GET, Some(&f.editor), "/admin/api/articles", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    let drafts: Value = f
        .app
        .admin(
            Method::GET,
            Some(&f.editor),
            "/admin/api/articles?status=draft",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafts["total"], 2);
    let paid: Value = f
        .app
        .admin(
            Method::GET,
            Some(&f.editor),
            "/admin/api/articles?visibility=paid&per_page=1",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["total"], 1);
    assert_eq!(paid["articles"][0]["id"], f.published);
    for bad in ["?status=gone", "?page=0", "?per_page=500", "?sort=title"] {
        let response = f
            .app
            .admin(
                Method::GET,
                Some(&f.editor),
                &format!("/admin/api/articles{bad}"),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_sent_and_null_clears_what_can_be_cleared() {
    let f = fixture().await;
    let path = format!("/admin/api/articles/{}", f.editors_draft);
    let before: Value = f
        .app
        .admin(Method::GET, Some(&f.editor), &path, None)
        .await
        .json()
        .await
        .unwrap();
    let after: Value = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &path,
            Some(json!({"markdown": "New **body**.", "email": "paid"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["title"], before["title"]);
    assert_eq!(after["visibility"], before["visibility"]);
    assert!(after["html"].as_str().unwrap().contains("<strong>body</strong>"));
    assert_eq!(after["email"], "paid");
    assert!(after["updated_at"].as_str() >= before["updated_at"].as_str());

    let cleared: Value = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &path,
            Some(json!({"email": null})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["email"], "none");
    for (field, body) in [
        ("title", json!({"title": null})),
        ("visibility", json!({"visibility": null})),
    ] {
        let response = f
            .app
            .admin(Method::PATCH, Some(&f.editor), &path, Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    let unknown = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &path,
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn renaming_a_published_slug_leaves_the_old_one_answering_301() {
    let f = fixture().await;
    let path = format!("/admin/api/articles/{}", f.published);
    let renamed: Value = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &path,
            Some(json!({"slug": "a-better-name"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["slug"], "a-better-name");

    let old = f.app.get("/p/paid-story").await;
    assert_eq!(old.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(old.headers()["location"], "/p/a-better-name");
    let old_api = f.app.get("/api/articles/paid-story").await;
    assert_eq!(old_api.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(old_api.headers()["location"], "/api/articles/a-better-name");
    assert_eq!(f.app.get("/p/a-better-name").await.status(), StatusCode::OK);

    let taken = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &format!("/admin/api/articles/{}", f.editors_draft),
            Some(json!({"slug": "a-better-name"})),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn publishing_unpublishing_and_scheduling_move_an_article_between_states() {
    let f = fixture().await;
    let id = f.editors_draft;
    let publish = format!("/admin/api/articles/{id}/publish");
    let published: Value = f
        .app
        .admin(Method::POST, Some(&f.editor), &publish, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(published["status"], "published");
    assert_eq!(f.app.get("/p/editor-draft").await.status(), StatusCode::OK);
    let again: Value = f
        .app
        .admin(Method::POST, Some(&f.editor), &publish, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["published_at"], published["published_at"],
        "publishing twice changes nothing"
    );

    let draft: Value = f
        .app
        .admin(
            Method::POST,
            Some(&f.editor),
            &format!("/admin/api/articles/{id}/unpublish"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["status"], "draft");
    assert!(draft["published_at"].is_null());
    assert_eq!(f.app.get("/p/editor-draft").await.status(), StatusCode::NOT_FOUND);

    let scheduled: Value = f
        .app
        .admin(
            Method::POST,
            Some(&f.editor),
            &publish,
            Some(json!({"publish_at": "2099-06-01T10:00:00Z"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(f.app.get("/p/editor-draft").await.status(), StatusCode::NOT_FOUND);
    let unscheduled: Value = f
        .app
        .admin(
            Method::PATCH,
            Some(&f.editor),
            &format!("/admin/api/articles/{id}"),
            Some(json!({"publish_at": null})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unscheduled["status"], "draft");

    let bad = f
        .app
        .admin(
            Method::POST,
            Some(&f.editor),
            &publish,
            Some(json!({"publish_at": "soon"})),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = f
        .app
        .client
        .post(f.app.url(&publish))
        .bearer_auth(&f.editor)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_scheduled_article_is_published_once_by_two_instances_sharing_the_database() {
    let f = fixture().await;
    f.app.second_instance().await;
    let id = f.editors_draft;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let at = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let response = f
        .app
        .admin(
            Method::POST,
            Some(&f.editor),
            &format!("/admin/api/articles/{id}/publish"),
            Some(json!({"publish_at": at})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let mut status = String::new();
    for _ in 0..100 {
        let article: Value = f
            .app
            .admin(
                Method::GET,
                Some(&f.editor),
                &format!("/admin/api/articles/{id}"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        status = article["status"].as_str().unwrap().to_owned();
        if status == "published" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, "published", "the scheduler published the article");
    // Give the other instance every chance to publish it a second time.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let published_events = f
        .app
        .db(move |conn| {
            Ok(broadsheet::db::articles::count_events(
                conn,
                id as i32,
                "published",
            )?)
        })
        .await;
    assert_eq!(published_events, 1, "published exactly once");
}

#[tokio::test]
async fn a_repeated_post_with_the_same_idempotency_key_replays_the_first_answer() {
    let f = fixture().await;
    let body = json!({"title": "Once only", "markdown": "x", "visibility": "public"});
    let send = |body: Value, key: &'static str| {
        f.app
            .client
            .post(f.app.url("/admin/api/articles"))
            .bearer_auth(&f.editor)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(body.clone(), "key-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = send(body.clone(), "key-1").await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    assert_eq!(
        f.app.count_rows("articles").await,
        4,
        "one article was created, not two"
    );

    let other = send(
        json!({"title": "Something else", "markdown": "x", "visibility": "public"}),
        "key-1",
    )
    .await
    .unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(f.app.count_rows("articles").await, 4);

    let fresh = send(body, "key-2").await.unwrap();
    assert_eq!(fresh.status(), StatusCode::CREATED);
    assert_eq!(f.app.count_rows("articles").await, 5);
}

#[tokio::test]
async fn the_openapi_document_lists_every_admin_route_and_each_route_exists() {
    let f = fixture().await;
    let (status, doc) = f.app.get_json(&new_client(), "/admin/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let routes = [
        ("get", "/admin/api/articles"),
        ("post", "/admin/api/articles"),
        ("get", "/admin/api/articles/{id}"),
        ("patch", "/admin/api/articles/{id}"),
        ("delete", "/admin/api/articles/{id}"),
        ("post", "/admin/api/articles/{id}/publish"),
        ("post", "/admin/api/articles/{id}/email"),
        ("post", "/admin/api/articles/{id}/test-email"),
        ("get", "/admin/api/articles/{id}/stats"),
        ("get", "/admin/api/tags"),
        ("patch", "/admin/api/tags/{id}"),
        ("post", "/admin/api/articles/{id}/unpublish"),
        ("get", "/admin/api/sends/{id}"),
        ("post", "/admin/api/sends/{id}/retry"),
        ("get", "/admin/api/members"),
        ("post", "/admin/api/members"),
        ("get", "/admin/api/members/counts"),
        ("get", "/admin/api/members/{id}"),
        ("patch", "/admin/api/members/{id}"),
        ("delete", "/admin/api/members/{id}"),
        ("get", "/admin/api/members/{id}/activity"),
        ("get", "/admin/api/labels"),
        ("post", "/admin/api/labels"),
        ("patch", "/admin/api/labels/{id}"),
        ("delete", "/admin/api/labels/{id}"),
        ("get", "/admin/api/newsletters"),
        ("post", "/admin/api/newsletters"),
        ("get", "/admin/api/newsletters/{id}"),
        ("patch", "/admin/api/newsletters/{id}"),
        ("post", "/admin/api/members/{id}/comp"),
        ("delete", "/admin/api/members/{id}/comp"),
        ("get", "/admin/api/members/export"),
        ("get", "/admin/api/members/{id}/billing"),
        ("get", "/admin/api/settings"),
        ("patch", "/admin/api/settings"),
        ("get", "/admin/api/tiers"),
        ("post", "/admin/api/tiers"),
        ("get", "/admin/api/tiers/{id}"),
        ("patch", "/admin/api/tiers/{id}"),
        ("delete", "/admin/api/tiers/{id}"),
        ("post", "/admin/api/tiers/{id}/prices"),
        ("patch", "/admin/api/prices/{id}"),
        ("delete", "/admin/api/prices/{id}"),
        ("get", "/admin/api/offers"),
        ("post", "/admin/api/offers"),
        ("get", "/admin/api/offers/{id}"),
        ("patch", "/admin/api/offers/{id}"),
        ("delete", "/admin/api/offers/{id}"),
        ("get", "/admin/api/authors"),
        ("get", "/admin/api/authors/{id}"),
        ("patch", "/admin/api/authors/{id}"),
        ("post", "/admin/api/media"),
        ("get", "/admin/api/webhooks"),
        ("post", "/admin/api/webhooks"),
        ("get", "/admin/api/webhooks/{id}"),
        ("patch", "/admin/api/webhooks/{id}"),
        ("delete", "/admin/api/webhooks/{id}"),
        ("get", "/admin/api/webhooks/{id}/deliveries"),
        ("get", "/admin/api/stats"),
    ];
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "the document lists exactly the admin routes"
    );
    for (method, path) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
        let concrete = path.replace("{id}", &f.authors_draft.to_string());
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = f
            .app
            .admin(method.clone(), Some(&f.editor), &concrete, Some(json!({})))
            .await;
        let json: Value = response.json().await.unwrap_or_default();
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with("There is nothing at"),
            "{method} {concrete} is not routed"
        );
    }
}

#[tokio::test]
async fn the_editor_warns_before_and_says_after_when_an_email_would_reach_nobody() {
    let app = crate::helpers::spawn_app().await;
    let (editor, editor_id) = app.member("boss@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let (_, page) = app.get_text(&editor, "/admin/articles/new").await;
    assert!(page.contains("id=\"no-recipients\""), "warned before: {page}");

    let key = app.api_key_for("editor@example.com", Role::Editor).await;
    let id = create(
        &app,
        &key,
        json!({"title": "Into the void", "markdown": "Hello?", "visibility": "public", "publish": true, "email": "all"}),
    )
    .await;
    let (_, page) = app.get_text(&editor, &format!("/admin/articles/{id}")).await;
    assert!(
        page.contains("0 recipients: nobody has confirmed their email yet"),
        "{page}"
    );

    app.add_verified_members("reader", 1).await;
    let (_, page) = app.get_text(&editor, "/admin/articles/new").await;
    assert!(
        !page.contains("id=\"no-recipients\""),
        "one confirmed reader: no warning"
    );
}
