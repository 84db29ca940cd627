//! Rebuilds the crate when a file of the browser app is added, changed or
//! removed: the embedding derive (`src/http/frontend.rs`) tracks the files it
//! read, not the folder, so a new `frontend/js/` module would otherwise be
//! missing from the binary until some other change.

fn main() {
    println!("cargo::rerun-if-changed=frontend");
}
