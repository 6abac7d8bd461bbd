import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * The layers depend one way (construct -> contract <- handler, emulator on
 * top), with no circle between files, type-only imports included: eslint's
 * import/no-cycle does not follow `import type`.
 */

const SRC = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((m) => m[1]);
  return specifiers.map((s) => {
    const base = path.resolve(path.dirname(file), s);
    return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
  }).filter((f): f is string => f !== undefined);
}

test('no import circle between source files, type-only imports included', () => {
  const files = sources(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  expect([...graph.values()].flat().length).toBeGreaterThan(100);
  const circles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') circles.push([...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(SRC, f)).join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  expect(circles).toEqual([]);
});

test('the layers depend one way: the contract on nothing of ours, the handler on the contract, the construct on the handler only for its asset', () => {
  const layerOf = (file: string) => path.relative(SRC, file).split(path.sep)[0];
  const crossings = new Set<string>();
  for (const file of sources(SRC)) {
    for (const target of importsOf(file)) {
      if (layerOf(file) !== layerOf(target)) crossings.add(`${layerOf(file)} -> ${path.relative(SRC, target)}`);
    }
  }
  const seen = [...crossings];
  expect(seen.filter((c) => c.startsWith('contract ->'))).toEqual([]);
  expect(seen.filter((c) => c.startsWith('handler ->') && !c.startsWith('handler -> contract/'))).toEqual([]);
  expect(seen.filter((c) => c.startsWith('construct ->') && !c.startsWith('construct -> contract/'))).toEqual(['construct -> handler/router-function.ts']);
  // The handler does use the contract (the catalog, the environment, the metrics schema): one source of truth.
  expect(seen.filter((c) => c.startsWith('handler -> contract/')).length).toBeGreaterThan(3);
});
