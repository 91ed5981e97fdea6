#!/usr/bin/env bash
# A bounded run of every cargo-fuzz target (fuzz/), for CI: each target gets at most
# FUZZ_SECONDS (default 60) of fuzzing, starting from its committed seeds in fuzz/corpus/<target>/.
# Any crash, failed invariant, timeout (> 10 s on one input) or out-of-memory fails the script;
# libFuzzer then leaves the reproducer in fuzz/artifacts/<target>/.
#
# cargo-fuzz is installed if missing (from crates.io, `--locked`; about two minutes). Only a
# stable toolchain exists, so RUSTC_BOOTSTRAP=1 lets it pass the nightly-only flags it needs
# (-Zsanitizer=address and friends). New inputs go to a temporary corpus, so the committed seeds
# are never modified. One target runs at a time, on one core.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets=$(cargo fuzz list --fuzz-dir fuzz)
echo "== building the fuzz targets: $(echo $targets)"
cargo fuzz build --fuzz-dir fuzz

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
    echo "== fuzzing $target for ${seconds} s"
    mkdir -p "$scratch/$target"
    status=0
    cargo fuzz run --fuzz-dir fuzz "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$scratch/$target.log" 2>&1 ||
        status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 80 "$scratch/$target.log"
        echo "== fuzz target $target FAILED (exit $status)"
        exit 1
    fi
    grep -E '^(Done|#[0-9]+[[:space:]]+DONE|stat::(number_of_executed_units|peak_rss_mb))' \
        "$scratch/$target.log"
done
n=$(echo $targets | wc -w)
echo "== fuzz smoke run passed"
echo "fuzz: $n passed, 0 failed"
