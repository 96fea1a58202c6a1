#!/usr/bin/env bash
# The Windows stage of CI: cross-build kbguard for x86_64-pc-windows-gnu, run the test suite
# under Wine in a throwaway prefix (where tests/it/windows.rs sets up an Exchange 5.5 cluster
# node in the registry and on disk), then the helpdesk flow across the two systems: a snapshot
# and a registry export taken under Wine, evaluated by the Linux build.
#
# Needs: rustup, x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64), wine (wine64); .ci/run installs
# them. Run from the repository: bash .ci/wine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
rustup target add "$target" >/dev/null 2>&1 || true

work=$(mktemp -d)
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="

# Rust's standard library imports ProcessPrng from bcryptprimitives.dll, which Wine 8.0 lacks:
# a stand-in over RtlGenRandom, for this prefix only.
mkdir -p target
x86_64-w64-mingw32-gcc -shared -O2 -o target/bcryptprimitives.dll \
  .ci/wine/bcryptprimitives.c .ci/wine/bcryptprimitives.def -ladvapi32
wineboot -i >/dev/null 2>&1
cp target/bcryptprimitives.dll "$WINEPREFIX/drive_c/windows/system32/"

echo "== clippy on the Windows-only code"
cargo clippy --target "$target" --all-targets -- -D warnings

echo "== the test suite under Wine"
# The whole-archive test stays on Linux (its Windows twin would add minutes, not coverage).
# The runner is given as configuration, not as CARGO_TARGET_*_RUNNER: assert_cmd would read that
# variable inside Wine and try to start `wine` there.
KBGUARD_SKIP_SLOW=1 KBGUARD_DISPOSABLE_PREFIX=1 INSTA_UPDATE=no \
  cargo test --target "$target" --config "target.$target.runner = 'wine'"

echo "== the helpdesk flow: a snapshot and a registry export from Windows, checked on Linux"
# The debug builds the tests just made: the flow checks behaviour, not speed.
cargo build --target "$target"
cargo build
exe="target/$target/debug/kbguard.exe"
linux=target/debug/kbguard
fail() { echo "wine stage: $*" >&2; exit 1; }

wine "$exe" facts --json >"$work/live.json"
wine "$exe" facts --save "$work/host.ron" >/dev/null
set +e
"$linux" check --no-cache --facts "$work/host.ron" -- isinteg -patch >"$work/check.txt"
code=$?
set -e
[ "$code" = 1 ] || fail "check --facts host.ron -- isinteg -patch exited $code, not 1: $(cat "$work/check.txt")"
grep -q "\[Q178311\] triggered" "$work/check.txt" || fail "Q178311 does not block in the snapshot check: $(cat "$work/check.txt")"

# The customer who can only send a registry export: all of HKLM, as regedit /e writes it.
wine reg export HKLM "$work/hklm.reg" /y >/dev/null
"$linux" facts --facts "$work/hklm.reg" --json >"$work/from-reg.json"
python3 - "$work/live.json" "$work/from-reg.json" <<'EOF'
import json, sys
live = json.load(open(sys.argv[1]))["facts"]
reg = json.load(open(sys.argv[2]))["facts"]
registry_backed = [n for n, f in live.items() if "registry" in f["source"]]
assert "product.exchange.version" in registry_backed, live
for name in registry_backed:
    assert name in reg, f"{name} is missing from the export's facts: {reg}"
    assert reg[name]["value"] == live[name]["value"], (name, reg[name], live[name])
print(f"the export gives the live registry's {len(registry_backed)} facts:", ", ".join(sorted(registry_backed)))
EOF
echo "wine stage: passed"
