import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/*
 * Every TypeScript example in README.md and docs/ compiles against the
 * library's sources. jsii-rosetta compiles README.md (and docstrings) at
 * build time; the guides in docs/ are not part of the assembly, so they are
 * compiled here the way rosetta does: in its fixture (rosetta/*.ts-fixture),
 * with `declare const` lines standing for values the reader has.
 */

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = {
  default: fs.readFileSync(path.join(ROOT, 'rosetta', 'default.ts-fixture'), 'utf8'),
  plain: fs.readFileSync(path.join(ROOT, 'rosetta', 'plain.ts-fixture'), 'utf8'),
};

interface Example { file: string; line: number; source: string }

function examplesOf(file: string): Example[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const examples: Example[] = [];
  const fence = /^```ts( fixture=(\w+))?\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const fixture = FIXTURES[(m[2] ?? 'default') as keyof typeof FIXTURES];
    const snippet = m[3];
    // rosetta's convention: `declare const` stands for what the reader already has, at module scope.
    const declared = snippet.split('\n').filter((l) => /^declare const /.test(l)).join('\n');
    const body = snippet.split('\n').filter((l) => !/^declare const /.test(l)).join('\n');
    const source = `${declared}\n${fixture.replace('/// here', body)}`.replace(/'cdk-llm-gateway-router'/g, `'${path.join(ROOT, 'src').replace(/\\/g, '/')}'`);
    examples.push({ file, line: text.slice(0, m.index).split('\n').length, source });
  }
  return examples;
}

const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && !f.startsWith('API')).map((f) => `docs/${f}`)];
const examples = files.flatMap(examplesOf);

test('the guides have TypeScript examples to compile', () => {
  expect(examples.filter((e) => e.file.startsWith('docs/')).length).toBeGreaterThanOrEqual(4);
});

test('every TypeScript example in README.md and docs/ compiles', () => {
  const virtual = new Map(examples.map((e, i) => [path.join(ROOT, `__doc_example_${i}.ts`), e]));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    noUnusedLocals: false,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (name) => virtual.get(name)?.source ?? read(name);
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(name) || exists(name);
  const getSource = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const example = virtual.get(name);
    return example ? ts.createSourceFile(name, example.source, lang) : getSource(name, lang, ...rest);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const problems = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && virtual.has(d.file.fileName))
    .map((d) => {
      const example = virtual.get(d.file!.fileName)!;
      return `${example.file} (example at line ${example.line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
}, 120_000);
