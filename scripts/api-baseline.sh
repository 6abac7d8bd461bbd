#!/usr/bin/env bash
# Records the compiled public API (.jsii) as the baseline `npx projen api:diff`
# compares against: a package directory jsii-diff can load (the assembly and
# the package.json that names its dependencies). A release step, and the step
# that accepts the breaks listed in api/allowed-breaking-changes.txt (emptied).
# A dot folder: jsii-docgen's search for .jsii files skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p api/.baseline
cp .jsii api/.baseline/.jsii
node -e "
const p = require('./package.json');
const keep = { name: p.name, version: p.version, types: p.types, main: p.main, jsii: p.jsii, peerDependencies: p.peerDependencies, dependencies: p.dependencies, bundledDependencies: p.bundledDependencies };
require('fs').writeFileSync('api/.baseline/package.json', JSON.stringify(keep, null, 2) + '\n');
"
: > api/allowed-breaking-changes.txt
echo "api/.baseline now holds the API of $(node -p "require('./package.json').version") as compiled"
