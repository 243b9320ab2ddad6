//! Member import (Ghost and Substack exports, from the command line) and
//! export (CLI and admin API), with real-shaped files.

use reqwest::StatusCode;

use crate::{
    cli::broadsheet,
    helpers::{TestApp, spawn_app},
};
use broadsheet::domain::role::Role;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/members/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn import(app: &TestApp, file: &str) -> std::process::Output {
    broadsheet(&app.config.database_url, &["admin", "import", file])
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// (email, name, newsletter, verified, stripe customer) of a member.
async fn member_row(app: &TestApp, email: &'static str) -> (Option<String>, bool, bool, Option<String>) {
    app.db(move |conn| {
        use broadsheet::db::schema::{newsletter_subscriptions, users};
        use diesel::prelude::*;
        let (name, newsletter, verified, customer) = users::table
            .filter(users::email.eq(email))
            .select((
                users::name,
                diesel::dsl::exists(
                    newsletter_subscriptions::table.filter(newsletter_subscriptions::user_id.eq(users::id)),
                ),
                users::email_verified_at,
                users::stripe_customer_id,
            ))
            .first::<(
                Option<String>,
                bool,
                Option<time::PrimitiveDateTime>,
                Option<String>,
            )>(conn)?;
        Ok((name, newsletter, verified.is_some(), customer))
    })
    .await
}

/// (expires_at, reason) of every comp of a member.
async fn comps_of(app: &TestApp, email: &'static str) -> Vec<(Option<time::PrimitiveDateTime>, String)> {
    app.db(move |conn| {
        use broadsheet::db::schema::{comps, users};
        use diesel::prelude::*;
        Ok(comps::table
            .inner_join(users::table.on(users::id.eq(comps::user_id)))
            .filter(users::email.eq(email))
            .select((comps::expires_at, comps::reason))
            .load(conn)?)
    })
    .await
}

#[tokio::test]
async fn a_ghost_export_imports_members_with_consent_comps_and_stripe_customers_and_a_second_import_changes_nothing()
 {
    let app = spawn_app().await;
    let out = stdout(&import(&app, &fixture("ghost.csv")));
    assert!(
        out.contains("from Ghost: 3 created, 0 updated, 0 unchanged, 1 skipped"),
        "{out}"
    );

    assert_eq!(
        member_row(&app, "ada@example.com").await,
        (Some("Ada Lovelace".into()), true, true, None)
    );
    let (name, newsletter, _, _) = member_row(&app, "grace@example.com").await;
    assert_eq!(name.as_deref(), Some("Hopper, Grace"));
    assert!(!newsletter, "no consent in the file, no newsletter");
    assert_eq!(
        comps_of(&app, "grace@example.com").await,
        [(None, "imported from Ghost".to_owned())]
    );
    let (_, _, _, customer) = member_row(&app, "carol@example.com").await;
    assert_eq!(customer.as_deref(), Some("cus_NffrFeUfNV2Hib"));
    assert_eq!(
        app.count_rows("users").await,
        3,
        "the deleted member is not imported"
    );

    let out = stdout(&import(&app, &fixture("ghost.csv")));
    assert!(out.contains("0 created, 0 updated, 3 unchanged"), "{out}");
    assert_eq!(app.count_rows("users").await, 3);
    assert_eq!(app.count_rows("comps").await, 1);
}

#[tokio::test]
async fn a_substack_export_makes_paying_subscribers_comps_until_their_paid_period_ends() {
    let app = spawn_app().await;
    let out = stdout(&import(&app, &fixture("substack.csv")));
    assert!(out.contains("from Substack: 4 created"), "{out}");
    let dan = comps_of(&app, "dan@example.com").await;
    assert_eq!(dan.len(), 1);
    assert_eq!(dan[0].0.unwrap().year(), 2099);
    assert!(dan[0].1.contains("paid on Substack"));
    assert_eq!(
        comps_of(&app, "fay@example.com").await.len(),
        1,
        "a Substack comp stays a comp"
    );
    assert!(
        comps_of(&app, "gus@example.com").await.is_empty(),
        "a paid period long over grants nothing"
    );
    let (_, newsletter, _, _) = member_row(&app, "eve@example.com").await;
    assert!(!newsletter, "email_disabled means no newsletter");
}

#[tokio::test]
async fn a_file_with_bad_rows_names_every_bad_line_and_imports_nothing() {
    let app = spawn_app().await;
    let output = import(&app, &fixture("substack-malformed.csv"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (line, why) in [
        (3, "\"not-an-email\" is not an email address"),
        (4, "active_subscription must be true or false"),
        (5, "without an expiry"),
        (6, "created_at \"last tuesday\" is not a date"),
        (7, "2 fields where the header has 7"),
        (8, "hal@example.com is already on line 2"),
    ] {
        let reported = stderr
            .lines()
            .find(|l| l.contains(&format!(": line {line}: ")))
            .unwrap_or_else(|| panic!("line {line} is not reported:\n{stderr}"));
        assert!(reported.contains(why), "{reported}");
    }
    assert!(stderr.contains("6 bad row(s)"), "{stderr}");
    assert_eq!(app.count_rows("users").await, 0, "nothing half-written");

    let output = broadsheet(
        &app.config.database_url,
        &["admin", "import", "/no/such/file.csv"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("reading /no/such/file.csv"));
}

#[tokio::test]
async fn importing_over_existing_members_fills_gaps_and_keeps_their_own_choices() {
    let app = spawn_app().await;
    let (_, _) = app.member("ada@example.com").await;
    let out = stdout(&import(&app, &fixture("ghost.csv")));
    assert!(out.contains("2 created, 1 updated"), "{out}");
    let (name, newsletter, _, _) = member_row(&app, "ada@example.com").await;
    assert_eq!(
        name.as_deref(),
        Some("Ada Lovelace"),
        "the missing name is filled in"
    );
    assert!(newsletter);
}

#[tokio::test]
async fn the_admin_api_exports_csv_that_imports_back_into_a_fresh_database() {
    let app = spawn_app().await;
    stdout(&import(&app, &fixture("ghost.csv")));
    stdout(&import(&app, &fixture("substack.csv")));
    let admin = app.api_key_for("admin@example.com", Role::Admin).await;
    let editor = app.editor_key().await;

    let response = app
        .admin(
            reqwest::Method::GET,
            Some(&editor),
            "/admin/api/members/export",
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .admin(
            reqwest::Method::GET,
            Some(&admin),
            "/admin/api/members/export",
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("id,email,name,note,subscribed_to_emails,complimentary_plan,"));
    assert!(csv.contains("\"Hopper, Grace\""), "{csv}");
    assert!(csv.contains(",dan@example.com,"), "{csv}");

    let file = app.data_dir.path().join("export.csv");
    let cli_export = stdout(&broadsheet(
        &app.config.database_url,
        &["admin", "export", "--output", file.to_str().unwrap()],
    ));
    assert!(cli_export.is_empty(), "the CSV went to the file");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        csv,
        "CLI and API export the same"
    );

    let fresh = spawn_app().await;
    let out = stdout(&import(&fresh, file.to_str().unwrap()));
    let members = app.count_rows("users").await;
    assert!(out.contains(&format!("{members} created")), "{out}");
    let (name, newsletter, _, _) = member_row(&fresh, "grace@example.com").await;
    assert_eq!(name.as_deref(), Some("Hopper, Grace"));
    assert!(!newsletter);
    assert_eq!(comps_of(&fresh, "grace@example.com").await.len(), 1);
    assert_eq!(
        comps_of(&fresh, "dan@example.com").await.len(),
        1,
        "a comp until 2099 carries over"
    );
}

#[tokio::test]
async fn an_import_never_hands_a_comp_or_customer_to_whoever_signed_up_with_the_address_unproven() {
    let app = spawn_app().await;
    // A squatter registers the addresses of a comped and a paying reader
    // before the publisher imports their list.
    let (comped_squatter, _) = app.member("grace@example.com").await;
    let (paying_squatter, _) = app.member("paid@example.com").await;
    let file = app.data_dir.path().join("list.csv");
    std::fs::write(
        &file,
        "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n\
         1,grace@example.com,Grace,,true,true,,2023-02-01T08:30:00.000Z,,,\n\
         2,paid@example.com,Paid,,true,false,cus_imported1,2023-02-01T08:30:00.000Z,,,\n",
    )
    .unwrap();
    stdout(&import(&app, file.to_str().unwrap()));
    for (squatter, email) in [
        (&comped_squatter, "grace@example.com"),
        (&paying_squatter, "paid@example.com"),
    ] {
        assert_eq!(
            app.get_with(squatter, "/account").await.status(),
            StatusCode::SEE_OTHER,
            "{email}: the squatter is signed out"
        );
        assert_eq!(
            app.login(&crate::helpers::new_client(), email, "correct horse battery")
                .await
                .status(),
            StatusCode::UNAUTHORIZED,
            "{email}: the squatter's password no longer opens it"
        );
    }
    assert_eq!(
        comps_of(&app, "grace@example.com").await.len(),
        1,
        "the owner keeps the comp"
    );
}
