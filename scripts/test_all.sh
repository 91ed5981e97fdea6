#!/usr/bin/env bash
# Sets up everything and runs every check: Rust format, lint and tests; the wheel built by maturin
# and installed into a fresh virtual environment; ruff, the stub check and pytest against the
# installed package (so the install path is what is tested); last, a bounded run of every fuzz
# target (scripts/fuzz_smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${ACTOK_TEST_VENV:-.venv-test}

echo "== cargo fmt / clippy / test (core needs no Python)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --locked

echo "== fresh virtual environment in $venv"
rm -rf "$venv" dist
"$python" -m venv "$venv"
venv=$(cd "$venv" && pwd)  # absolute, so it still resolves after the cd into tests/ below
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "maturin>=1.5,<2"

echo "== build and install the wheel"
"$venv/bin/maturin" build --release --locked --out dist --interpreter "$venv/bin/python"
wheel=$(ls dist/actok-*.whl)
"$venv/bin/python" -m pip install -q "${wheel}[test]"

echo "== ruff and the typing stubs"
"$venv/bin/ruff" check python tests scripts benches
"$venv/bin/ruff" format --check python tests scripts benches
"$venv/bin/python" -m mypy.stubtest actok

echo "== pytest against the installed package"
# Run from outside the source tree so `import actok` can only find the installed wheel.
cd tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"

echo "== fuzz smoke run (each cargo-fuzz target for at most 60 s)"
# Set ACTOK_FUZZ_SMOKE=0 to skip locally; CI always runs it.
cd ..
if [ "${ACTOK_FUZZ_SMOKE:-1}" != 0 ]; then
    bash scripts/fuzz_smoke.sh
fi
