//! Rebuilds when a migration is added: `embed_migrations!` reads the
//! migration folders at compile time, and cargo does not otherwise notice a
//! new folder (a new migration was silently left out of a local build).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
