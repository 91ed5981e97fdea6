#!/usr/bin/env bash
# Checks what scripts/build_wheels.sh put in dist/ as a user would meet it, and the release's other
# parts that cannot run here:
#  1. the wheel's platform tag, read from its symbols by auditwheel: manylinux_2_17_x86_64;
#  2. the wheel installed into fresh virtual environments of the oldest and the newest CPython
#     (>= 3.9) on the machine, with no Rust toolchain on PATH, each running scripts/smoke_wheel.py;
#  3. the sdist installed once (pip compiles it, so with cargo on PATH), running the smoke test;
#  4. .github/workflows/release.yml against GitHub's workflow schema, offline;
#  5. `cargo package` of the Rust crate (its metadata and file list; needs the crate registry reachable).
# Usage: bash scripts/check_release.sh   (after build_wheels.sh; the same ACTOK_BUILD_VENV)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools=$(cd "${ACTOK_BUILD_VENV:-.venv-build}" && pwd)
work=$root/target/release-check
rm -rf "$work"
mkdir -p "$work"

step() {  # prints a heading; `took` then prints the seconds since it
    echo "== $*"
    started=$SECONDS
}
took() { echo "   ($((SECONDS - started)) s)"; }

wheel=$(ls dist/actok-*-cp39-abi3-*manylinux_2_17_x86_64*.whl)
sdist=$(ls dist/actok-*.tar.gz)

step "auditwheel show $wheel"
"$tools/bin/auditwheel" show "$wheel" | tee "$work/auditwheel.txt"
# The line after "is consistent with the following platform tag:" names the tag.
grep -A1 'consistent with the following platform tag' "$work/auditwheel.txt" \
    | grep -q '"manylinux_2_17_x86_64"' || { echo "not manylinux_2_17_x86_64"; exit 1; }
took

# The oldest and the newest CPython >= 3.9 on the machine: pyenv's, then any python3.N on PATH.
pythons=()
for candidate in "$HOME"/.pyenv/versions/3.*/bin/python3 $(compgen -c python3. | sort -u); do
    path=$(command -v "$candidate" || true)
    [ -n "$path" ] || continue
    version=$("$path" -c 'import sys; print("%d.%02d" % sys.version_info[:2])' 2>/dev/null) || continue
    [[ "$version" > "3.08" ]] && pythons+=("$version $path")
done
[ ${#pythons[@]} -gt 0 ] || { echo "no CPython >= 3.9 found"; exit 1; }
oldest=$(printf '%s\n' "${pythons[@]}" | sort | head -1)
newest=$(printf '%s\n' "${pythons[@]}" | sort | tail -1)

# PATH without any directory that holds cargo, rustc or rustup: the wheel must need none of them.
no_rust_path=
IFS=: read -ra dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
    [ -x "$dir/cargo" ] || [ -x "$dir/rustc" ] || [ -x "$dir/rustup" ] && continue
    no_rust_path=${no_rust_path:+$no_rust_path:}$dir
done

smoke() {  # smoke VENV: the smoke test from outside the source tree, with the venv's python
    (cd "$work" && "$1/bin/python" "$root/scripts/smoke_wheel.py")
}

printf '%s\n' "$oldest" "$newest" | sort -u > "$work/pythons.txt"
while read -r version python <&3; do
    venv=$work/venv-$version
    step "wheel in a fresh venv of $("$python" --version) ($python), no Rust toolchain on PATH"
    (
        export PATH=$no_rust_path
        if command -v cargo || command -v rustc; then echo "a Rust toolchain is still on PATH"; exit 1; fi
        echo "cargo and rustc: not on PATH"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --no-cache-dir --disable-pip-version-check "$wheel"
        smoke "$venv"
    )
    took
done 3< "$work/pythons.txt"

step "sdist: built from source by pip (cargo on PATH), into a fresh venv"
python=${ACTOK_PYTHON:-python3}
"$python" -m venv "$work/venv-sdist"
# The compile reuses this checkout's target directory for the registry dependencies it shares.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target} "$work/venv-sdist/bin/python" -m pip install -q --no-cache-dir \
    --disable-pip-version-check "$sdist"
smoke "$work/venv-sdist"
took

step "release workflow against GitHub's workflow schema (the copy check-jsonschema ships)"
# Without a network where the machine allows it (root: a new network namespace), to prove that the
# check needs none.
offline=()
unshare -n true 2> /dev/null && offline=(unshare -n)
"${offline[@]}" "$tools/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/release.yml
took

step "cargo package -p actok (the publishable Rust crate)"
# --no-verify: the sdist above already compiled exactly the crate's packaged files (maturin takes
# them from `cargo package --list`), so verifying would only compile them once more.
cargo package -p actok --locked --allow-dirty --no-verify
took
