#!/usr/bin/env bash
# The construct must work on the oldest aws-cdk-lib in its peerDependency
# range, not only on the newest we develop with: install that version in a
# scratch directory and synthesize the compiled library (lib/, assets/) there.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(node -p "require('./package.json').peerDependencies['aws-cdk-lib'].replace(/^[\^~]/, '')")
constructs=$(node -p "require('./package.json').peerDependencies['constructs'].replace(/^[\^~]/, '')")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo '{"name":"min-cdk-compat","version":"1.0.0","private":true}' > "$work/package.json"
(cd "$work" && npm install --no-audit --no-fund --loglevel=error "aws-cdk-lib@$floor" "constructs@$constructs" >/dev/null)
cp -r lib assets scripts/min-cdk-synth.js "$work/"
(cd "$work" && node min-cdk-synth.js)
