import { bundledHandler } from './router';
import { createUpstream, listen } from './upstream';
import { createEmulatorServer } from '../../src/emulator/server';

/**
 * A benchmark process: `upstream [delayMs]` runs the local gateway,
 * `router <upstreamUrl>` runs the bundled handler behind the emulator.
 * Prints `URL <url>` when ready; exits on SIGTERM.
 */
async function main(): Promise<void> {
  const [kind, arg] = process.argv.slice(2);
  let url: string;
  if (kind === 'upstream') {
    url = await listen(createUpstream({ delayMs: Number(arg ?? 0) }));
  } else if (kind === 'router') {
    url = await listen(createEmulatorServer({ handler: bundledHandler(arg) }));
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  process.stdout.write(`URL ${url}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

void main();
