#!/usr/bin/env bash
# Sets up everything and runs every check: Rust format, lint and tests; the release wheel
# (abi3, manylinux2014) and sdist built by scripts/build_wheels.sh, the wheel installed into a fresh
# virtual environment; ruff, the stub check and pytest against the installed package (so the install
# path is what is tested); the C ABI (rust/actok-c: its client test and examples against fixtures
# the installed package writes); the release checks (scripts/check_release.sh: the wheel's tag, the
# wheel on the oldest and newest CPython without Rust, the sdist, the release workflow's schema,
# `cargo package`); last, a bounded run of every fuzz target (scripts/fuzz_smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${ACTOK_TEST_VENV:-.venv-test}
build_venv=${ACTOK_BUILD_VENV:-.venv-build}

echo "== cargo fmt / clippy / test (core needs no Python)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --locked

echo "== the release wheel and sdist (scripts/build_wheels.sh, its tools in a fresh $build_venv)"
rm -rf "$venv" "$build_venv" dist
ACTOK_PYTHON=$python ACTOK_BUILD_VENV=$build_venv bash scripts/build_wheels.sh

echo "== fresh virtual environment in $venv, with the wheel and its test extras"
"$python" -m venv "$venv"
venv=$(cd "$venv" && pwd)  # absolute, so it still resolves after the cd into tests/ below
"$venv/bin/python" -m pip install -q --upgrade pip
# Not for this run: scripts/mutation_check.py and a developer's rebuilds use the venv's maturin.
"$venv/bin/python" -m pip install -q "maturin>=1.5,<2"
wheel=$(ls dist/actok-*.whl)
"$venv/bin/python" -m pip install -q "${wheel}[test]"

echo "== ruff and the typing stubs"
"$venv/bin/ruff" check python tests scripts benches
"$venv/bin/ruff" format --check python tests scripts benches
"$venv/bin/python" -m mypy.stubtest actok

echo "== transformers 4.x beside the test environment's 5.x, for the AutoProcessor layout test"
# tests/test_hf_layouts.py runs AutoProcessor under both majors; this environment holds only
# what its processor class (tests/hf_processor/) needs, not actok.
tf4=${ACTOK_TF4_VENV:-.venv-tf4}
rm -rf "$tf4"
"$python" -m venv "$tf4"
"$tf4/bin/python" -m pip install -q "transformers==4.57.*" scipy
export ACTOK_TRANSFORMERS4_PYTHON
ACTOK_TRANSFORMERS4_PYTHON=$(cd "$tf4" && pwd)/bin/python

echo "== pytest against the installed package"
# Run from outside the source tree so `import actok` can only find the installed wheel.
cd tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"

cd ..

echo "== C ABI: libactok_c, fixtures written by the installed package, client test, examples"
# Compilers and cmake from Debian's packages when missing (as root, or through sudo).
missing=()
for tool in gcc g++ cmake; do
    command -v "$tool" > /dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (apt-get)"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}" > /dev/null
fi
cargo build --release --locked -p actok-c
# The crate's own tests, in release to reuse the library's build: the committed header equals
# cbindgen's output, no allocation after warm-up (a counting allocator), panics caught.
cargo test --release --locked -p actok-c
c_out=target/c-abi
rm -rf "$c_out"
mkdir -p "$c_out"
"$venv/bin/python" scripts/make_c_fixtures.py "$c_out/fixtures"
lib=target/release/libactok_c.a
# The client test, compiled with exactly the acceptance command of issue 14.
gcc -std=c11 -I rust/actok-c/include rust/actok-c/tests/client.c "$lib" -lpthread -ldl -lm \
    -o "$c_out/client"
"$c_out/client" "$c_out/fixtures"
strict=(-Wall -Wextra -Werror -I rust/actok-c/include)
gcc -std=c11 "${strict[@]}" examples/c/roundtrip.c "$lib" -lpthread -ldl -lm -o "$c_out/roundtrip_c"
"$c_out/roundtrip_c" "$c_out/fixtures/lift"
# The same example against the shared library.
gcc -std=c11 "${strict[@]}" examples/c/roundtrip.c -Ltarget/release -lactok_c -lm \
    -Wl,-rpath,"$(pwd)/target/release" -o "$c_out/roundtrip_so"
"$c_out/roundtrip_so" "$c_out/fixtures/bench-30x26"
g++ -std=c++17 "${strict[@]}" examples/cpp/roundtrip.cpp "$lib" -lpthread -ldl -lm \
    -o "$c_out/roundtrip_cpp"
"$c_out/roundtrip_cpp" "$c_out/fixtures/lift"
cmake -S examples/cmake -B "$c_out/cmake" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$c_out/cmake" > /dev/null
"$c_out/cmake/action_node" "$c_out/fixtures/lift"
# The latency benchmark, briefly (figures printed, never asserted; the published run uses 20,000).
"$venv/bin/python" benches/bench_c_latency.py --calls 2000 --fixtures "$c_out/fixtures"

echo "== release checks (scripts/check_release.sh)"
ACTOK_PYTHON=$python ACTOK_BUILD_VENV=$build_venv bash scripts/check_release.sh

echo "== fuzz smoke run (each cargo-fuzz target for at most 60 s)"
# Set ACTOK_FUZZ_SMOKE=0 to skip locally; CI always runs it.
if [ "${ACTOK_FUZZ_SMOKE:-1}" != 0 ]; then
    bash scripts/fuzz_smoke.sh
fi
