import { bundledHandler, passthroughHandler } from './router';
import { createUpstream, listen } from './upstream';
import { createEmulatorServer } from '../../src/emulator/server';

// API Gateway's own checks (routing, the request validator) run in AWS, not in
// the function: the benchmarks measure the function's share, so they are off.

/**
 * A benchmark server process (built to plain JS by processes.ts, so it
 * carries no TypeScript compiler): `upstream [delayMs]` runs the local
 * gateway, `router <upstreamUrl>` the deployed bundle behind the local
 * API Gateway emulator, `passthrough <upstreamUrl>` a minimal proxy handler
 * behind the same emulator. Prints `URL <url>` when ready; exits on SIGTERM.
 */
async function main(): Promise<void> {
  const [kind, arg] = process.argv.slice(2);
  let url: string;
  if (kind === 'upstream') url = await listen(createUpstream({ delayMs: Number(arg ?? 0) }));
  else if (kind === 'router') url = await listen(createEmulatorServer({ handler: bundledHandler(arg) as never, apiGatewayChecks: false }));
  else if (kind === 'passthrough') url = await listen(createEmulatorServer({ handler: passthroughHandler(arg) as never, apiGatewayChecks: false }));
  else throw new Error(`unknown kind ${kind}`);
  process.stdout.write(`URL ${url}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

void main();
