#!/usr/bin/env bash
# Builds what a release ships for this machine into dist/: the abi3 wheel for Linux x86_64 tagged
# manylinux2014 (manylinux_2_17: glibc >= 2.17, so Ubuntu 18.04+, Debian 10+, CentOS 7+) and the
# sdist. The wheel links against glibc 2.17 through zig's C toolchain (the `ziglang` package from
# PyPI), so it needs no old-glibc container. scripts/test_all.sh installs this same wheel for the
# tests and scripts/check_release.sh checks both files.
#
# Usage: bash scripts/build_wheels.sh   (ACTOK_BUILD_VENV: where the build tools go,
#        default .venv-build, reused if present; ACTOK_PYTHON: the Python that makes it)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${ACTOK_PYTHON:-python3}
tools=${ACTOK_BUILD_VENV:-.venv-build}

if [ ! -x "$tools/bin/maturin" ] || [ ! -x "$tools/bin/auditwheel" ]; then
    echo "== build tools into $tools"
    "$python" -m venv "$tools"
    # maturin: the build backend (as pyproject.toml's [build-system]); ziglang: the C toolchain
    # maturin --zig links with, to target glibc 2.17 (the version tested; maturin drives zig's
    # command line, which changes between releases); auditwheel: reads the wheel's real platform
    # tag; check-jsonschema: validates the release workflow offline (it ships GitHub's schema).
    "$tools/bin/python" -m pip install -q "maturin>=1.5,<2" "ziglang==0.17.1" \
        "auditwheel>=6,<7" "check-jsonschema>=0.30,<1"
fi
tools=$(cd "$tools" && pwd)

rm -rf dist
echo "== wheel: abi3, manylinux2014 x86_64 (maturin --zig)"
# maturin finds zig as `python -m ziglang` of the first python on PATH: the tools' own.
PATH="$tools/bin:$PATH" "$tools/bin/maturin" build --release --locked --zig \
    --target x86_64-unknown-linux-gnu --compatibility manylinux2014 --out dist
echo "== sdist"
"$tools/bin/maturin" sdist --out dist
ls -l dist
