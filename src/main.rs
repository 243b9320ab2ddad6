use std::path::PathBuf;

use anyhow::Context;
use broadsheet::{
    accounts::{self, IssueKeyError},
    config::Config,
    db::{self, api_keys},
    domain::{email::EmailAddress, password::Password, role::Role, time::rfc3339},
    telemetry,
    web::startup::{self, Application},
};
use clap::{Parser, Subcommand};

/// Broadsheet: a paywalled newsletter in one binary.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A TOML file with settings (the environment still wins).
    #[arg(long, global = true, env = "BROADSHEET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the website and APIs (the default).
    Serve {
        /// Do not seed demo content, even into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Send email only (newsletters and transactional mail), for scale-out:
    /// run any number beside `serve` instances on the same database.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an editor (or admin) account, or promote an existing one.
    CreateEditor {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Make the account an admin rather than an editor.
        #[arg(long)]
        admin: bool,
        /// The password; one is generated and printed when left out. An
        /// existing account keeps its own unless --reset-password is given.
        #[arg(long, env = "BROADSHEET_EDITOR_PASSWORD")]
        password: Option<String>,
        /// Promote an existing account whose address was never confirmed.
        #[arg(long)]
        force: bool,
        /// Give an existing account the new password.
        #[arg(long)]
        reset_password: bool,
    },
    /// Issue an API key for an editor; it is printed once and stored hashed.
    ApiKey {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// List API keys: id, name, owner, last use, whether revoked.
    ApiKeys,
    /// Re-read every known customer's subscriptions from Stripe and fix drift.
    StripeSync,
    /// Link imported paying readers (Ghost, Substack) to their live
    /// subscriptions in this Stripe account: by the customer id the import
    /// kept, else by email. A dry run unless --apply; prints every reader
    /// matched, unmatched or ambiguous.
    StripeAdopt {
        /// The tier their prices join, as legacy prices (its slug).
        #[arg(long)]
        tier: String,
        /// Write the links (otherwise only report).
        #[arg(long)]
        apply: bool,
    },
    /// List the Stripe account's prices (and the tier each is in); with
    /// --tier and --price, add those prices to that tier (created when new).
    StripeImportPrices {
        /// The tier to add the prices to (its slug).
        #[arg(long, requires = "price")]
        tier: Option<String>,
        /// A new tier's name (default: the first price's product name).
        #[arg(long, requires = "tier")]
        name: Option<String>,
        /// A Stripe price id; repeat for several.
        #[arg(long, requires = "tier")]
        price: Vec<String>,
        /// Add them as legacy prices: they count for readers already on
        /// them but are not sold.
        #[arg(long, requires = "tier")]
        legacy: bool,
    },
    /// Revoke an API key by its id (see `api-keys`); it stops working at once.
    RevokeKey {
        #[arg(long)]
        id: i32,
    },
    /// Import members from a Ghost or Substack member export (CSV; the
    /// format is told by its header). All or nothing: any bad row is
    /// reported with its line number and nothing is imported. Importing
    /// the same file again changes nothing.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Export every member as CSV in Ghost's layout (re-importable).
    Export {
        /// Where to write; standard output when left out.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    // One TLS provider for every client (Stripe, SMTP): ring. Set explicitly
    // so a build that links two providers still knows which to use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve { no_demo: false }) {
        Command::Serve { no_demo } => {
            if no_demo {
                config.demo = Some(false);
            }
            serve(config).await
        }
        Command::Worker => {
            let state = std::sync::Arc::new(startup::prepare_state(config).await?);
            println!("Broadsheet email worker: sending via {}", state.mailer.describe());
            let webhooks = broadsheet::webhooks::dispatch::Dispatcher::new(state.clone());
            tokio::join!(broadsheet::newsletter::Worker::new(state).run(), webhooks.run());
            Ok(())
        }
        Command::Migrate => {
            startup::prepare_state(config).await?;
            println!("Migrations are up to date.");
            Ok(())
        }
        Command::Admin(command) => admin(config, command).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let public_url = config.public_url.clone();
    let app = Application::build(config).await?;
    if let Some(editor) = &app.demo_editor {
        println!(
            "Demo content created. Demo editor (shown once): {} / {}",
            editor.email, editor.password
        );
    }
    println!("Broadsheet is running at {public_url} (port {})", app.port());
    app.run_until_stopped().await.context("running the server")
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let state = startup::prepare_state(config).await?;
    match command {
        AdminCommand::CreateEditor {
            email,
            name,
            admin,
            password,
            force,
            reset_password,
        } => {
            let email = EmailAddress::parse(&email)?;
            let generated = password.is_none();
            let password =
                password.unwrap_or_else(|| broadsheet::security::token::generate("")[..20].to_owned());
            let role = if admin { Role::Admin } else { Role::Editor };
            let promotion = accounts::Promotion {
                force_unverified: force,
                reset_password,
            };
            let password_checked = Password::choose(password.clone(), Some(&email))?;
            let outcome = accounts::create_staff(&state, email, name, role, password_checked, promotion)
                .await
                .map_err(|e| match e {
                    accounts::StaffError::Internal(e) => e,
                    refused => anyhow::anyhow!("{refused}"),
                })?;
            let password_in_use = match outcome {
                accounts::StaffOutcome::Created(user) => {
                    println!(
                        "{} is now an {role} (user id {}): a new account.",
                        user.email, user.id
                    );
                    true
                }
                accounts::StaffOutcome::Promoted {
                    user,
                    sessions_ended,
                    password_replaced,
                } => {
                    println!(
                        "An existing account was promoted: {} (user id {}) is now an {role}.",
                        user.email, user.id
                    );
                    println!(
                        "Its {sessions_ended} session(s), unused emailed links and private feed address were ended; its password was {}.",
                        if password_replaced { "replaced" } else { "kept" }
                    );
                    password_replaced
                }
            };
            if generated && password_in_use {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
        AdminCommand::ApiKey { email, name } => {
            match accounts::issue_api_key(&state, EmailAddress::parse(&email)?, name).await {
                Ok(key) => {
                    println!("API key (shown once, store it now): {key}");
                    Ok(())
                }
                Err(IssueKeyError::Internal(e)) => Err(e),
                Err(e) => anyhow::bail!("{e}"),
            }
        }
        AdminCommand::ApiKeys => {
            let keys = db::run(&state.pool, |conn| Ok(api_keys::list(conn)?)).await?;
            println!(
                "{:>4}  {:<20} {:<32} {:<22} status",
                "id", "name", "owner", "last used"
            );
            for (key, owner) in keys {
                let last_used = key.last_used_at.map_or("never".to_owned(), rfc3339);
                let status = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:>4}  {:<20} {:<32} {:<22} {status}",
                    key.id, key.name, owner, last_used
                );
            }
            Ok(())
        }
        AdminCommand::StripeSync => {
            let setup = state
                .billing
                .clone()
                .context("billing is not configured: set STRIPE_SECRET_KEY")?;
            let changes = broadsheet::billing::sync::reconcile(&state, &setup, true).await?;
            for change in &changes {
                println!("{change}");
            }
            println!("{} subscription(s) corrected.", changes.len());
            let prices = broadsheet::catalogue::refresh_details(&state, &setup).await?;
            println!("{prices} catalogue price(s) re-read from Stripe.");
            Ok(())
        }
        AdminCommand::Import { file } => import_members(&state, &file).await,
        AdminCommand::Export { output } => {
            let csv = broadsheet::members::export_csv(&state).await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &csv).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("Members written to {}.", path.display());
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &csv)?,
            }
            Ok(())
        }
        AdminCommand::StripeAdopt { tier, apply } => {
            let setup = state
                .billing
                .clone()
                .context("billing is not configured: set STRIPE_SECRET_KEY")?;
            let reports = broadsheet::billing::adopt::adopt(&state, &setup, &tier, apply).await?;
            use broadsheet::billing::adopt::Outcome;
            for report in &reports {
                println!("{report}");
            }
            let matched = reports
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Matched { .. }))
                .count();
            let verb = if apply {
                "linked"
            } else {
                "would be linked (dry run: add --apply)"
            };
            println!("{matched} of {} imported paying reader(s) {verb}.", reports.len());
            Ok(())
        }
        AdminCommand::StripeImportPrices {
            tier,
            name,
            price,
            legacy,
        } => {
            let setup = state
                .billing
                .clone()
                .context("billing is not configured: set STRIPE_SECRET_KEY")?;
            let Some(tier) = tier else {
                for found in broadsheet::catalogue::account_prices(&state, &setup).await? {
                    let listed = &found.listed;
                    println!(
                        "{:<32} {:<24} {:<22} {:<8} {}",
                        listed.id,
                        listed.product_name.as_deref().unwrap_or(&listed.product_id),
                        listed.details.label(),
                        if listed.active { "active" } else { "archived" },
                        found
                            .in_tier
                            .map_or("-".to_owned(), |slug| format!("in tier {slug}")),
                    );
                }
                return Ok(());
            };
            use broadsheet::domain::tier::{PriceStatus, StripePriceId, tier_slug};
            let ids = price
                .iter()
                .map(|id| StripePriceId::parse(id))
                .collect::<Result<Vec<_>, _>>()?;
            let status = if legacy {
                PriceStatus::Legacy
            } else {
                PriceStatus::Active
            };
            let tier =
                broadsheet::catalogue::import_prices(&state, &setup, tier_slug(&tier)?, name, ids, status)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Tier {} ({}) now has:", tier.slug, tier.name);
            for price in &tier.prices {
                let label = price.details.as_ref().map_or("?".to_owned(), |d| d.label());
                println!("  {} {} ({})", price.stripe_price_id, label, price.status);
            }
            Ok(())
        }
        AdminCommand::RevokeKey { id } => {
            let revoked = db::run(&state.pool, move |conn| {
                Ok(api_keys::revoke(conn, id, db::now())?)
            })
            .await?;
            if !revoked {
                anyhow::bail!("there is no live API key with id {id}");
            }
            println!("API key {id} is revoked.");
            Ok(())
        }
    }
}

async fn import_members(state: &broadsheet::state::AppState, file: &std::path::Path) -> anyhow::Result<()> {
    use broadsheet::members::{self, ImportError};
    let csv = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    // Rows are counted for the bar; a malformed file is reported by the import.
    let rows = csv.iter().filter(|&&b| b == b'\n').count().saturating_sub(1) as u64;
    let bar = indicatif::ProgressBar::new(rows).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} members {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticker = bar.clone();
    let result = members::import(state, csv, move |done| ticker.set_position(done)).await;
    bar.finish_and_clear();
    match result {
        Ok((format, report)) => {
            println!(
                "Imported {} from {}: {} created, {} updated, {} unchanged, {} skipped (deleted there).",
                file.display(),
                format.name(),
                report.created,
                report.updated,
                report.unchanged,
                report.skipped
            );
            Ok(())
        }
        Err(ImportError::BadRows(rows)) => {
            for row in &rows {
                eprintln!("{}: {row}", file.display());
            }
            anyhow::bail!(
                "{} bad row(s) in {}; nothing was imported",
                rows.len(),
                file.display()
            )
        }
        Err(ImportError::Internal(e)) => Err(e),
    }
}
