import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeGateway } from '../support/fake-gateway';

const CLI = path.join(__dirname, '..', '..', 'src', 'emulator', 'cli.ts');
const FIXTURES = path.join(__dirname, '..', 'contract', 'fixtures');

/** The hand-written fixture catalog (test/contract/fixtures/README.md), as a catalog file. */
function catalogFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-catalog-')), 'gateway-catalog.json');
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'catalog.expected.json'), 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ schema: 1, source: 'test fixture', generatedAt: '2026-10-20T12:00:00.000Z', pricesNote: 'test', ...expected }));
  return file;
}

describe('llm-gateway-router serve --catalog FILE', () => {
  test('an EU emulator with a user catalog serves a new provider\'s model the EU endpoint lists, with its rules', async () => {
    const gateway = await FakeGateway.start();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, 'serve', '--port', '0', '--region', 'eu', '--endpoint', gateway.url, '--catalog', catalogFile()], {
      env: { ...process.env, ASSEMBLYAI_API_KEY: 'k-0123456789abcdef', TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}`)), 20_000);
        child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const match = /on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out);
          if (match && out.includes('allowed models:')) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
      });
      // Every model the fixture's EU endpoint lists, and nothing else.
      expect(out).toContain('allowed models: claude-opus-4-7,claude-haiku-4-5-20251001,mistral-medium-3');
      const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: Array<{ id: string }> };
      expect(models.data.find((m: any) => m.id === 'mistral-medium-3')).toMatchObject({ owned_by: 'mistral' });
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mistral-medium-3', messages: [] }) });
      expect(res.status).toBe(200);
      expect(gateway.requests.at(-1)!.json).toEqual({ model: 'mistral-medium-3', messages: [] });
    } finally {
      child.kill();
      await gateway.close();
    }
  });
});
