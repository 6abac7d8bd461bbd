#!/usr/bin/env bash
# The jsii bindings generate for every target and the Python compiles.
# (Building wheels, jars and nupkgs needs registries CI does not reach.)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .jsii-bindings
npx jsii-pacmak --code-only --targets python java dotnet go --outdir .jsii-bindings
python3 -m compileall -q .jsii-bindings/python
for f in python/src/cdk_llm_gateway_router/__init__.py; do
  test -f ".jsii-bindings/$f" || { echo "missing .jsii-bindings/$f"; exit 1; }
done
for pattern in 'java:LlmGatewayRouter.java' 'dotnet:LlmGatewayRouter.cs' 'go:LlmGatewayRouter.go'; do
  dir=${pattern%%:*}
  name=${pattern#*:}
  found=$(find ".jsii-bindings/$dir" -name "$name" | head -n 1)
  test -n "$found" || { echo "no $name generated under .jsii-bindings/$dir"; exit 1; }
  echo "generated $found"
done
