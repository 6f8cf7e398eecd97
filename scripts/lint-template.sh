#!/usr/bin/env bash
# Lints template.yaml with the pinned tools in .venv/ (run scripts/tools.sh first):
# cfn-lint 1.53.3 (the last version that runs the SAM transform) and `sam validate --lint`.
# Offline: no region lookup, no instance-metadata probe, no telemetry. Exits non-zero on
# any error or warning either tool reports.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv
for tool in cfn-lint sam; do
  if [ ! -x "$VENV/bin/$tool" ]; then
    echo "[lint] $VENV/bin/$tool missing: run scripts/tools.sh first" >&2
    exit 2
  fi
done

export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "[lint] $("$VENV/bin/cfn-lint" --version) template.yaml"
"$VENV/bin/cfn-lint" template.yaml
echo "[lint] sam validate --lint"
"$VENV/bin/sam" validate --lint --template-file template.yaml
echo "[lint] template.yaml: no errors"
