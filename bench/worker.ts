import { BENCHMARKS } from './suite';

/**
 * Runs one benchmark in this (fresh) process and prints its result as one
 * `RESULT <json>` line on stdout; exits non-zero if it throws.
 */
async function main(): Promise<void> {
  const name = process.argv[2];
  const run = BENCHMARKS[name];
  if (!run) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  const result = await run();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
