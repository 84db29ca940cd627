//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds
//! `migrations/` at compile time, and without this cargo only notices a
//! change to the files it already embedded.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
