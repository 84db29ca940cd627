//! Every conformance case is run: each `pub async fn` case of a suite in
//! `src/testing/` is listed in its `*_conformance_tests!` macro, and the
//! macro lists nothing else. The lists are kept by hand, so a new case left
//! out of its macro would otherwise silently never run for any backend.

use std::collections::BTreeSet;

/// Each suite's source: its cases and its macro.
const SUITES: [(&str, &str); 4] = [
    (
        "store",
        concat!(
            include_str!("../../src/testing/store.rs"),
            include_str!("../../src/testing/store/methods.rs"),
            include_str!("../../src/testing/store/invites.rs"),
            include_str!("../../src/testing/store/secret.rs"),
            include_str!("../../src/testing/store/invite_secret.rs"),
        ),
    ),
    ("cache", include_str!("../../src/testing/cache.rs")),
    (
        "broadcaster",
        include_str!("../../src/testing/broadcaster.rs"),
    ),
    (
        "idempotency",
        include_str!("../../src/testing/idempotency.rs"),
    ),
];

/// The names of the `pub async fn`s of `source`: the suite's cases.
fn cases(source: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// The case names the suite's macro passes to `__conformance_tests!`.
fn listed(suite: &str, source: &str) -> BTreeSet<String> {
    let call = format!("$crate::__conformance_tests!({suite},");
    let start = source
        .find(&call)
        .unwrap_or_else(|| panic!("{suite}: no `{call}` in its source"));
    let after = &source[start..];
    let list_start = after
        .find("$make;")
        .expect("the case list follows `$make;`")
        + "$make;".len();
    let list_end = after[list_start..]
        .find(");")
        .expect("the case list ends with `);`");
    after[list_start..list_start + list_end]
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_case_of_every_suite_is_in_its_macro_and_nothing_else_is() {
    for (suite, source) in SUITES {
        let cases = cases(source);
        let listed = listed(suite, source);
        assert!(!cases.is_empty(), "{suite}: no cases found");
        let missing: Vec<_> = cases.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&cases).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{suite}: cases missing from its macro: {missing:?}; listed but not cases: {unknown:?}"
        );
    }
}
