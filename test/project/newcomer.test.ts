import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * README's "Two commands for a newcomer" must work on a clean clone with only
 * the npm registry and no environment variable set, and CI must run exactly
 * that command (not a variant that only passes with CI=true).
 */
const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Step { spawn?: string; exec?: string; condition?: string }
const tasks = JSON.parse(read('.projen/tasks.json')).tasks as Record<string, { steps?: Step[] }>;

/** Every task `name` runs, following spawns. */
function spawned(name: string, seen = new Set<string>()): Set<string> {
  seen.add(name);
  for (const step of tasks[name].steps ?? []) {
    if (step.spawn && !seen.has(step.spawn)) spawned(step.spawn, seen);
  }
  return seen;
}

describe("README's test command", () => {
  const readmeCommand = /^npm ci && npm run build$/m.exec(read('README.md'))?.[0];

  test('is in the README', () => {
    expect(readmeCommand).toBe('npm ci && npm run build');
  });

  test('is what .ci/run runs, verbatim and without CI set', () => {
    const ci = read('.ci/run');
    expect(ci).toContain(`env -u CI bash -c '${readmeCommand}'`);
  });

  test('the build packages JavaScript only, whatever CI says: no Maven, NuGet or Go toolchain needed', () => {
    const build = spawned('build');
    expect(build).toContain('package:js');
    for (const other of ['package-all', 'package:java', 'package:dotnet', 'package:go', 'package:python']) {
      expect(build).not.toContain(other);
    }
    // No step of the build depends on the CI variable.
    const conditions = [...build].flatMap((t) => (tasks[t].steps ?? []).map((s) => s.condition ?? '')).filter((c) => /\bCI\b/.test(c));
    expect(conditions).toEqual([]);
  });

  test('package-all still builds every language for releases', () => {
    expect(spawned('package-all')).toEqual(new Set(['package-all', 'package:js', 'package:java', 'package:python', 'package:dotnet', 'package:go']));
  });
});
