//! The conformance suite every [`PollStore`](crate::PollStore),
//! [`ResultsCache`](crate::ResultsCache) and [`Broadcaster`](crate::Broadcaster)
//! runs, with helpers and test doubles for tests of code built on them.
//!
//! The suite pins down the contracts written on the traits. Each case is a
//! public `async fn` taking the backend under test ([`store`], [`cache`],
//! [`broadcaster`]) and panicking with a message that names the broken rule. A
//! backend crate runs every case as its own test with one macro call:
//!
//! | trait | macro | cases |
//! |---|---|---|
//! | `PollStore` | [`store_conformance_tests!`](crate::store_conformance_tests) | [`store`] |
//! | `ResultsCache` | [`cache_conformance_tests!`](crate::cache_conformance_tests) | [`cache`] |
//! | `Broadcaster` | [`broadcaster_conformance_tests!`](crate::broadcaster_conformance_tests) | [`broadcaster`] |
//! | `IdempotencyStore` | [`idempotency_conformance_tests!`](crate::idempotency_conformance_tests) | [`idempotency`] |
//!
//! Each macro takes the test attribute, the parameters that attribute hands the
//! test function, and an expression making a **fresh, empty** backend from
//! them; it expands to one `async fn` per case, named after the case:
//!
//! ```
//! // tests/conformance.rs of the in-process backends (polling-core itself):
//! polling_core::store_conformance_tests!(
//!     #[tokio::test(flavor = "multi_thread")] => polling_core::memory::MemoryStore::new()
//! );
//! # fn main() {}
//! ```
//!
//! A backend whose test attribute passes arguments names them before the `=>`,
//! as in a function's parameter list:
//!
//! ```ignore
//! // tests/conformance.rs of a PostgreSQL backend, with polling-core's
//! // `testing` feature enabled in its dev-dependencies:
//! polling_core::store_conformance_tests!(#[sqlx::test] pool: PgPool => PgPollStore::new(pool));
//! ```
//!
//! Run the suites on a multi-threaded runtime where the attribute allows it,
//! so the concurrency cases race for real.
//!
//! Besides the suites, this module offers [`sample_poll`],
//! [`sample_method_poll`], [`ballot`], [`choices`],
//! [`results_at`], [`assert_error`], [`shuffle`], [`eventually`] and the
//! broadcaster helpers of [`events`] for a backend's own tests,
//! and the doubles [`FailingCache`], [`FailingBroadcaster`],
//! [`CountingCache`], [`GatedStore`] and [`CountingStore`] for tests of the
//! [layers](crate::layer), and the
//! [`TestRecorder`] for tests that assert on [metrics](crate::metrics).

pub mod broadcaster;
pub mod cache;
mod doubles;
pub mod events;
mod eventually;
pub mod idempotency;
mod recorder;
pub mod store;

pub use doubles::{
    CountingCache, CountingStore, FailingBroadcaster, FailingCache, GatedStore, StoreMethod,
};
pub use eventually::eventually;
pub use recorder::TestRecorder;

use std::fmt::Debug;

use crate::domain::{
    Ballot, ManageToken, Marks, Method, NewPoll, OptionCount, OptionId, Poll, PollDraft, PollId,
    Results, VoterId,
};
use crate::error::{PollError, Result};

/// A fresh, open poll with `options` options (`"Option 1"`, `"Option 2"`, ...),
/// created now, with no closing time.
///
/// `max_choices` as in [`PollDraft::max_choices`]: `None` means every option
/// on a `multiple` poll and one otherwise.
///
/// # Panics
///
/// When the arguments break the [domain rules](crate::domain), for instance
/// fewer than two options.
pub fn sample_poll(options: usize, multiple: bool, max_choices: Option<u32>) -> Poll {
    open_sample(PollDraft {
        question: "Which option?".into(),
        options: option_texts(options),
        multiple,
        max_choices,
        ..PollDraft::default()
    })
}

/// A fresh, open `method` poll with `options` options, like
/// [`sample_poll`], whose voters may change their ballot if
/// `allow_vote_change`.
///
/// # Panics
///
/// When the arguments break the [domain rules](crate::domain).
pub fn sample_method_poll(method: Method, options: usize, allow_vote_change: bool) -> Poll {
    open_sample(PollDraft {
        question: format!("A {method} poll?"),
        options: option_texts(options),
        method,
        allow_vote_change,
        ..PollDraft::default()
    })
}

fn option_texts(options: usize) -> Vec<String> {
    (1..=options).map(|i| format!("Option {i}")).collect()
}

fn open_sample(draft: PollDraft) -> Poll {
    let now = crate::now();
    let new = NewPoll::new(draft, now).expect("sample poll arguments break the domain rules");
    Poll::open(new, ManageToken::generate().hash(), now)
}

/// A ballot by `voter` in `poll` choosing the options at `choices`.
///
/// # Panics
///
/// When `choices` is empty or names an option twice (see [`Ballot::new`]).
pub fn ballot(poll: &Poll, voter: &VoterId, choices: &[u32]) -> Ballot {
    let choices = choices.iter().copied().map(OptionId::new).collect();
    Ballot::new(poll.id, voter.clone(), choices).expect("a well-formed ballot")
}

/// The [`Marks`] choosing the options at `raw`.
///
/// # Panics
///
/// When `raw` is empty or names an option twice.
pub fn choices(raw: &[u32]) -> Marks {
    Marks::choices(raw.iter().copied().map(OptionId::new).collect()).expect("well-formed choices")
}

/// Made-up results of poll `poll_id` at `version`: two options, every ballot
/// for the first one (so different versions are different values).
pub fn results_at(poll_id: PollId, version: u64) -> Results {
    Results {
        poll_id,
        version,
        total: version,
        counts: vec![
            OptionCount {
                option_id: OptionId::new(0),
                votes: version,
            },
            OptionCount {
                option_id: OptionId::new(1),
                votes: 0,
            },
        ],
        ranked: None,
        star: None,
    }
}

/// Asserts that `result` is the error with [`code`](PollError::code)
/// `expected`; `what` names the operation in the panic message.
///
/// # Panics
///
/// When `result` is `Ok` or another error.
#[track_caller]
pub fn assert_error<T: Debug>(result: Result<T>, expected: &str, what: &str) {
    match result {
        Err(error) if error.code() == expected => {}
        Err(error) => panic!(
            "{what}: expected the error `{expected}`, got `{}`: {error:?}",
            error.code()
        ),
        Ok(value) => panic!("{what}: expected the error `{expected}`, got Ok({value:?})"),
    }
}

/// Whether `result` is the error with code `expected` (for use in `matches!`-like checks).
pub fn is_error<T>(result: &Result<T>, expected: &str) -> bool {
    matches!(result, Err(error) if PollError::code(error) == expected)
}

/// Shuffles `items` in place, the same way for the same `seed`: a
/// Fisher–Yates shuffle driven by xorshift64*, good enough to scramble test
/// inputs without a `rand` dependency.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    // xorshift must not start from 0; any other fixed value will do.
    let mut state = if seed == 0 {
        0x9E37_79B9_7F4A_7C15
    } else {
        seed
    };
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in (1..items.len()).rev() {
        // i + 1 <= items.len(), which fits in u64; the modulo bias is irrelevant here.
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Generates one test per case of a suite; the shared body of the
/// `*_conformance_tests!` macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($suite:ident, #[$attr:meta] $params:tt => $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[$attr]
            async fn $case $params {
                let subject = $make;
                $crate::testing::$suite::$case(subject).await;
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_deterministic_permutation() {
        let mut a: Vec<u32> = (1..=100).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b, "the same seed gives the same order");
        assert_ne!(a, (1..=100).collect::<Vec<_>>(), "the order changed");
        let mut c: Vec<u32> = (1..=100).collect();
        shuffle(&mut c, 8);
        assert_ne!(a, c, "another seed gives another order");
        a.sort_unstable();
        assert_eq!(a, (1..=100).collect::<Vec<_>>(), "nothing lost or repeated");
    }

    #[test]
    fn sample_polls_follow_their_arguments() {
        let poll = sample_poll(4, true, Some(2));
        assert_eq!(poll.options.len(), 4);
        assert_eq!(poll.options[3].text, "Option 4");
        assert!(poll.multiple);
        assert_eq!(poll.max_choices, 2);
        assert_eq!(sample_poll(2, false, None).max_choices, 1);
    }
}
