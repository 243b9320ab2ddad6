//! The benchmark's smoke run (CI): it must keep working end to end.

use std::process::Command;

/// Keeps the benchmark from rotting: it runs end to end on tiny sizes. It
/// measures nothing here; the figures come from release runs (README).
#[test]
fn the_benchmark_harness_runs_end_to_end_on_tiny_sizes() {
    let stdout = run_bench(&[
        "--articles",
        "12",
        "--members",
        "30",
        "--duration-secs",
        "1",
        "--connections",
        "2",
        "--fanout",
        "30",
        "--workers",
        "2",
        "--kill-one-worker",
        "--logins",
        "3",
    ]);
    for row in [
        "| baseline: hello, 5 KB |",
        "| anonymous teaser GET /p/{slug} |",
        "| subscriber full article |",
        "| tag page GET /tag/{slug} |",
        "| archive GET /archive |",
        "| search GET /search?q=",
        "| cold: subscriber full article |",
        "during 3 concurrent logins (3 succeeded)",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in:\n{stdout}");
    }
    // With one of the two workers killed halfway, every recipient still
    // got the issue (the sink counts by Message-ID).
    let fan_out = stdout
        .lines()
        .find(|line| line.starts_with("| 30 | 2, one killed halfway |"))
        .unwrap_or_else(|| panic!("no fan-out row in:\n{stdout}"));
    let missing = fan_out.split('|').nth(8).map(str::trim);
    assert_eq!(missing, Some("0"), "{fan_out}");
}

/// The scaling curves' harness, on tiny sizes: it grows the publication
/// between steps and prints a row per size.
#[test]
fn the_scaling_curves_grow_the_publication_and_print_a_row_per_size() {
    let stdout = run_bench(&[
        "--scaling",
        "--scale-articles",
        "5,15",
        "--scale-members",
        "20,40",
        "--duration-secs",
        "1",
        "--connections",
        "2",
        "--logins",
        "2",
    ]);
    for row in ["| 5 | 20 | ", "| 15 | 20 | ", "| 15 | 40 | "] {
        assert!(stdout.contains(row), "missing {row:?} in:\n{stdout}");
    }
}

/// Runs the benchmark on SQLite with `args`; its output, once it succeeded.
fn run_bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_broadsheet-bench"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("running the benchmark");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
