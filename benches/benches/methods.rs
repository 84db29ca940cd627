//! What counting costs per voting method, on polls of 100,000 ballots: the
//! sums a vote updates (`Tally::add`), and the results recomputed for every
//! new version (`Tally::results`: for a ranked poll its whole instant
//! runoff), each beside plurality measured in the same run; then the size of
//! one live results message, which is what the fan-out sends each socket.
//!
//! ```text
//! cargo bench -p polling-benches --bench methods
//! ```
//!
//! Ranked polls are measured twice: 5 options ranked in any order (at most
//! 325 distinct rankings, as a room voting on a few options makes) and 20
//! options ranked 1 to 5 deep (nearly every one of the 100,000 rankings
//! distinct, the worst case: the runoff's cost grows with distinct
//! rankings, never with ballots).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use polling_benches::Tally as Figures;
use polling_core::{Marks, Method, OptionId, PollId, Tally};

const BALLOTS: usize = 100_000;
const SAMPLES: usize = 10;

/// A xorshift64* stream: the same ballots on every run, no `rand` needed.
struct Random(u64);

impl Random {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below as u64) as usize
    }
}

/// A measured configuration: its name, method, option count and ballots.
struct Case {
    name: &'static str,
    method: Method,
    options: usize,
    ballots: Vec<Marks>,
}

fn ids(raw: &[usize]) -> Vec<OptionId> {
    raw.iter().map(|&i| OptionId::new(i as u32)).collect()
}

/// A ranking of `depth` distinct options out of `options`.
fn ranking(random: &mut Random, options: usize, depth: usize) -> Marks {
    let mut order: Vec<usize> = (0..options).collect();
    for i in 0..depth {
        let j = i + random.next(options - i);
        order.swap(i, j);
    }
    Marks::ranking(ids(&order[..depth])).expect("a ranking")
}

fn cases() -> Vec<Case> {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut make =
        |name, method, options: usize, mark: &mut dyn FnMut(&mut Random) -> Marks| Case {
            name,
            method,
            options,
            ballots: (0..BALLOTS).map(|_| mark(&mut random)).collect(),
        };
    vec![
        make("plurality", Method::Plurality, 5, &mut |r| {
            Marks::choices(ids(&[r.next(5)])).expect("a choice")
        }),
        make("approval", Method::Approval, 5, &mut |r| {
            let chosen: Vec<usize> = (0..5).filter(|_| r.next(2) == 0).collect();
            Marks::choices(ids(if chosen.is_empty() { &[0] } else { &chosen })).expect("choices")
        }),
        make("star", Method::Star, 5, &mut |r| {
            Marks::scores((0..5).map(|_| r.next(6) as u8).collect()).expect("scores")
        }),
        make("ranked-5", Method::Ranked, 5, &mut |r| {
            let depth = 1 + r.next(5);
            ranking(r, 5, depth)
        }),
        make("ranked-20", Method::Ranked, 20, &mut |r| {
            let depth = 1 + r.next(5);
            ranking(r, 20, depth)
        }),
    ]
}

fn tally_of(case: &Case) -> Tally {
    let mut tally = Tally::new(case.method, case.options);
    for marks in &case.ballots {
        tally.add(marks);
    }
    tally
}

fn methods(c: &mut Criterion) {
    let cases = cases();
    let figures = Figures::new(SAMPLES);
    let mut group = c.benchmark_group("methods");
    group.sample_size(SAMPLES);
    group.measurement_time(Duration::from_secs(3));
    let poll = PollId::generate();
    for case in &cases {
        let tally = tally_of(case);
        group.bench_function(format!("{}/add", case.name), |b| {
            b.iter_custom(|rounds| {
                let started = Instant::now();
                for _ in 0..rounds {
                    std::hint::black_box(tally_of(case));
                }
                let elapsed = started.elapsed();
                figures.record(case.name, "add", rounds * BALLOTS as u64, elapsed);
                elapsed
            });
        });
        group.bench_function(format!("{}/results", case.name), |b| {
            b.iter_custom(|counts| {
                let started = Instant::now();
                for version in 0..counts {
                    std::hint::black_box(tally.results(poll, version));
                }
                let elapsed = started.elapsed();
                figures.record(case.name, "results", counts, elapsed);
                elapsed
            });
        });
    }
    group.finish();

    println!("\ncounting 100,000 ballots, beside plurality measured in the same run");
    println!(
        "{:>10} {:>10} {:>14} {:>8} {:>14} {:>10} {:>8} {:>12}",
        "method", "rankings", "adds/s", "ratio", "results/s", "per count", "ratio", "message"
    );
    let rate = |name: &str, column: &str| figures.rate(name, column).unwrap_or(0.0);
    let (base_add, base_results) = (rate("plurality", "add"), rate("plurality", "results"));
    for case in &cases {
        let tally = tally_of(case);
        let message = serde_json::to_vec(&tally.results(poll, 1))
            .expect("results serialize")
            .len();
        let (add, results) = (rate(case.name, "add"), rate(case.name, "results"));
        println!(
            "{:>10} {:>10} {:>14.0} {:>7.2}x {:>14.0} {:>10.2?} {:>7.3}x {:>10} B",
            case.name,
            tally.rankings().count(),
            add,
            add / base_add.max(f64::MIN_POSITIVE),
            results,
            Duration::from_secs_f64(1.0 / results.max(f64::MIN_POSITIVE)),
            results / base_results.max(f64::MIN_POSITIVE),
            message,
        );
    }
}

criterion_group!(benches, methods);
criterion_main!(benches);
