#!/usr/bin/env bash
# Installs the project's pinned build/lint/test tools into the git-ignored .venv/
# (cargo-lambda, moto, cfn-lint, aws-sam-cli) and the arm64 Rust target for `sam build`.
# Nothing is cached outside the repo (pip runs with --no-cache-dir).
# Idempotent: a stamp file in .venv/ records the installed set, so a rerun with the same
# pins skips pip entirely. Needs only python3 (>= 3.11, with venv/pip) and PyPI.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.tools-stamp"

# cfn-lint is pinned to 1.53.3 on purpose: 1.54+ dropped the SAM transform and silently
# passes broken SAM templates (found by trying it: tests/README.md says more). Keep the four pins together:
# this exact set co-installs with a clean `pip check`.
PINS=(
  "cargo-lambda==1.9.2"
  "moto[server]==5.2.5"
  "cfn-lint==1.53.3"
  "aws-sam-cli==1.170.0"
)
ARM_TARGET=aarch64-unknown-linux-gnu

step() { printf '[tools] %s\n' "$*"; }

want="$(python3 --version 2>&1) | ${PINS[*]}"

if [ ! -x "$VENV/bin/python3" ]; then
  step "creating virtualenv $VENV"
  python3 -m venv "$VENV"
else
  step "virtualenv $VENV exists"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  step "pinned tools already installed (stamp matches), skipping pip"
else
  step "installing ${PINS[*]}"
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --no-cache-dir --upgrade pip
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --no-cache-dir "${PINS[@]}"
  step "checking dependency consistency (pip check)"
  "$VENV/bin/python3" -m pip check
  printf '%s' "$want" >"$STAMP"
  step "stamp written to $STAMP"
fi

# Rust target for `sam build` (arm64). rustup's dist server is not one of the guaranteed
# registries: if it cannot be reached, say so and carry on (lint and tests still work;
# only the arm64 packaging step needs the target).
if ! command -v rustup >/dev/null 2>&1; then
  step "WARNING: rustup not found; cannot add $ARM_TARGET (sam build for arm64 will fail)"
elif rustup target list --installed 2>/dev/null | grep -qx "$ARM_TARGET"; then
  step "rust target $ARM_TARGET already installed"
elif timeout 120 rustup target add "$ARM_TARGET" >/dev/null 2>&1; then
  step "rust target $ARM_TARGET installed"
else
  step "WARNING: 'rustup target add $ARM_TARGET' failed (dist server unreachable?);" \
    "sam build / cargo lambda build --arm64 will not work, everything else will"
fi

export SAM_CLI_TELEMETRY=0
step "versions: $("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null || echo 'cargo-lambda ?')" \
  "| $("$VENV/bin/cfn-lint" --version 2>/dev/null || echo 'cfn-lint ?')" \
  "| $("$VENV/bin/sam" --version 2>/dev/null || echo 'sam ?')"
step "done; use: PATH=\$PWD/$VENV/bin:\$PATH"
