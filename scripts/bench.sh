#!/usr/bin/env bash
# Runs the benchmarks whose results BENCHMARKS.md records, and prints their tables.
#
#   scripts/bench.sh                 # everything: sizes, mapping, batch, runtime
#   scripts/bench.sh mapping batch   # only these (any of: sizes mapping batch runtime)
#
# Installs the tools of scripts/tools.sh into .venv first (cargo-lambda with zig for the Lambda builds,
# moto_server for the token secret of the runtime bench; a no-op when they are there). Close other heavy
# work first: the figures are ratios measured side by side in the same run, but absolute values depend on a
# quiet machine. The fuzz bench is not a measurement and runs on its own: cargo bench --bench fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh >&2

export PATH="$PWD/.venv/bin:$PATH"
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test CARGO_TERM_COLOR=never
target="${CARGO_TARGET_DIR:-$PWD/target}"
wanted="${*:-sizes mapping batch runtime}"
want() { [[ " $wanted " == *" $1 "* ]]; }

bootstrap="$target/lambda/pinterest-destination/bootstrap"
if want sizes || want runtime; then
  # The deployed artifact is arm64; the runtime bench runs the x86_64 one (this machine), built last so that
  # target/lambda/pinterest-destination/bootstrap is the x86_64 binary when the bench starts.
  if want sizes; then
    cargo lambda build --release --arm64 --bin pinterest-destination >&2
    arm64=$(stat -c %s "$bootstrap")
  fi
  cargo lambda build --release --bin pinterest-destination >&2
  x86_64=$(stat -c %s "$bootstrap")
  if want sizes; then
    echo "# Release binary size (cargo lambda build --release [--arm64], stripped)"
    echo
    echo "| target | bytes | MB |"
    echo "|---|---|---|"
    awk -v a="$arm64" -v x="$x86_64" 'BEGIN {
      printf "| aarch64 (deployed) | %d | %.1f |\n| x86_64 | %d | %.1f |\n", a, a / 1e6, x, x / 1e6 }' 
    echo
  fi
fi

benches=()
for bench in mapping batch runtime; do
  if want "$bench"; then benches+=(--bench "$bench"); fi
done
if ((${#benches[@]})); then
  cli_args=()
  if want mapping; then
    # The mapping bench also streams a million JSON lines through the release CLI.
    cargo build --release --bin pinterest-cli >&2
    cli_args=(--cli "$target/release/pinterest-cli")
  fi
  cargo bench "${benches[@]}" -- --binary "$bootstrap" "${cli_args[@]}"
fi
