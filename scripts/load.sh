#!/usr/bin/env bash
# The load harness: K processes of the release binary fed from moto's SQS by pollers that play Lambda's SQS
# event source, against a fake Pinterest with a rate limit (see benches/load.rs for the set-up and the time
# scaling). Prints a Markdown table; the full run takes about fourteen minutes. Close other heavy work first.
#
#   scripts/load.sh                          # every setup at 0.5x, 1x and 2x, then the sustained 2x runs
#   scripts/load.sh --only defaults          # one setup
#   scripts/load.sh --minutes 3              # simulated minutes of load per run (default 2)
#   scripts/load.sh --sustained 0            # without the sustained runs (default: 20 simulated minutes)
#   scripts/load.sh --minutes 0 --only no-budget   # only the sustained run of one setup
set -euo pipefail
cd "$(dirname "$0")/.."
# moto_server for the queues (a no-op when the tools are there).
scripts/tools.sh >&2

export PATH="$PWD/.venv/bin:$PATH"
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test CARGO_TERM_COLOR=never
target="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build --release --bin pinterest-destination >&2
# The harness itself only waits on sockets: its test-profile build (shared with the test suite) is enough; the
# function under load is the release binary. `--bench` asks for the full run (without it: the quick plan check).
cargo test --bench load -- --bench --binary "$target/release/pinterest-destination" --sustained 20 "$@"
