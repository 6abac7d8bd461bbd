import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import OpenAI from 'openai';
import { FakeGateway } from '../support/fake-gateway';

const CLI = path.join(__dirname, '..', '..', 'src', 'emulator', 'cli.ts');

/** Starts `llm-gateway-router serve` as a user would, and resolves with its base URL. */
function serve(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; baseURL: string; output: () => string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env, TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited ${code}: ${out}`));
    });
    child.stdout!.on('data', () => {
      const match = /on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
      if (match && out.includes('allowed models:')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, baseURL: match[1], output: () => out });
      }
    });
  });
}

describe('the llm-gateway-router serve command', () => {
  test('runs the bundled handler with the flags\' policy, the key from ASSEMBLYAI_API_KEY and the explicit endpoint', async () => {
    const gateway = await FakeGateway.start();
    let child: ChildProcess | undefined;
    try {
      const started = await serve(
        ['--region', 'eu', '--allowed-models', 'claude-sonnet-4-6,gemini-2.5-flash', '--endpoint', gateway.url],
        { ASSEMBLYAI_API_KEY: 'cli-key-123' },
      );
      child = started.child;
      const { baseURL, output } = started;
      expect(output()).toContain('allowed models: claude-sonnet-4-6,gemini-2.5-flash');
      const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['claude-sonnet-4-6', 'gemini-2.5-flash']);
      const answer = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.choices[0].message.content).toBe('Hello!');
      expect(gateway.requests[0].headers.authorization).toBe('cli-key-123');
      const refused = await client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(refused.status).toBe(403);
      expect(gateway.requests).toHaveLength(1);
    } finally {
      child?.kill('SIGTERM');
      await gateway.close();
    }
  });

  test('refuses to start without a key, and with a bad region', async () => {
    await expect(serve(['--region', 'eu'], { ASSEMBLYAI_API_KEY: '' })).rejects.toThrow(/set ASSEMBLYAI_API_KEY/);
    await expect(serve(['--region', 'ap'], { ASSEMBLYAI_API_KEY: 'k' })).rejects.toThrow(/--region must be us or eu, got ap/);
  });
});
