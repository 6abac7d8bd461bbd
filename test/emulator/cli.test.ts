import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { GatewayRegion } from '../../src';
import { EU_ENV, newStack, routerIn } from '../construct/helpers';
import { runToExit, serve } from '../support/cli';
import { FakeGateway } from '../support/fake-gateway';

/** The error synth raises for the same settings, without the construct path. */
function synthError(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    return (err as Error).message.replace(/^[^:]+: /, '');
  }
  throw new Error('synth accepted the settings');
}

describe('the llm-gateway-router serve command', () => {
  test('runs the bundled handler with the flags\' policy, the key from ASSEMBLYAI_API_KEY and the explicit endpoint', async () => {
    const gateway = await FakeGateway.start();
    let child: ChildProcess | undefined;
    try {
      const started = await serve(
        ['--region', 'eu', '--allowed-models', 'claude-sonnet-4-6,gemini-2.5-flash', '--endpoint', gateway.url],
        { ASSEMBLYAI_API_KEY: 'cli-key-0123456789abcdef' },
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
      expect(gateway.requests[0].headers.authorization).toBe('cli-key-0123456789abcdef');
      const refused = await client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(refused.status).toBe(403);
      // Like the deployed API: API Gateway's own 403 for a path it does not have.
      const missing = await fetch(`${baseURL}/embeddings`, { method: 'POST', body: '{}' });
      expect(missing.status).toBe(403);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('MISSING_AUTHENTICATION_TOKEN');
      expect(gateway.requests).toHaveLength(1);
    } finally {
      child?.kill('SIGTERM');
      await gateway.close();
    }
  });

  test('refuses to start without a key, and with a bad region', async () => {
    await expect(serve(['--region', 'eu'], { ASSEMBLYAI_API_KEY: '' })).rejects.toThrow(/set ASSEMBLYAI_API_KEY/);
    await expect(serve(['--region', 'ap'], { ASSEMBLYAI_API_KEY: 'k-0123456789abcdef' })).rejects.toThrow(/--region must be us or eu, got ap/);
  });

  test('refuses what synth refuses, with synth\'s message: EU with global routing', async () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const expected = synthError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, globalRouting: true }));
    const { code, out } = await runToExit(['serve', '--port', '0', '--region', 'eu', '--global-routing']);
    expect(code).toBe(2);
    expect(out.trim()).toBe(`llm-gateway-router: ${expected} [--global-routing]`);
  });

  test('refuses what synth refuses, with synth\'s message: a case-variant model id', async () => {
    const { stack, secret } = newStack();
    const expected = synthError(() => routerIn(stack, secret, 'R', { allowedModels: ['claude-sonnet-4-6', 'GPT-5'] }));
    const { code, out } = await runToExit(['serve', '--port', '0', '--allowed-models', 'claude-sonnet-4-6, GPT-5']);
    expect(code).toBe(2);
    expect(out.trim()).toBe(`llm-gateway-router: ${expected} [--allowed-models]`);
    expect(out).toMatch(/use "gpt-5"/);
  });

  test('an unknown flag is a one-line error, not a stack trace', async () => {
    const { code, out } = await runToExit(['serve', '--regoin', 'eu']);
    expect(code).toBe(2);
    expect(out.trim().split('\n')).toEqual([expect.stringMatching(/^llm-gateway-router: Unknown option '--regoin'.*\(see --help\)$/)]);
  });

  test('a port in use is a one-line error, not a stack trace', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, out } = await runToExit(['serve', '--port', String(port)]);
      expect(code).toBe(2);
      expect(out.trim().split('\n')).toEqual([`llm-gateway-router: cannot listen on 127.0.0.1:${port}: the port is in use (choose another with --port)`]);
    } finally {
      blocker.close();
    }
  });

  test.each<[string, string[], Record<string, string> | undefined, string]>([
    ['a port out of range', ['serve', '--port', '99999'], undefined, 'llm-gateway-router: --port must be a whole number from 0 to 65535, got 99999'],
    ['a port that is not a number', ['serve', '--port', 'eighty'], undefined, 'llm-gateway-router: --port must be a whole number from 0 to 65535, got eighty'],
    ['an unreadable tenants file', ['serve', '--tenants', '/nonexistent/tenants.json'], undefined,
      'llm-gateway-router: --tenants /nonexistent/tenants.json: ENOENT: no such file or directory, open \'/nonexistent/tenants.json\''],
    ['a DynamoDB endpoint that is not a URL', ['serve', '--dynamodb-endpoint', 'dynamo.local'], undefined,
      'llm-gateway-router: --dynamodb-endpoint must be an http(s) URL such as http://localhost:8000, got "dynamo.local"'],
    ['a one-character gateway key', ['serve'], { ASSEMBLYAI_API_KEY: 'x' },
      'llm-gateway-router: ASSEMBLYAI_API_KEY has 1 character: not a gateway key (they have at least 16); set it to the key from your AssemblyAI dashboard'],
    ['a 15-character gateway key', ['serve'], { ASSEMBLYAI_API_KEY: 'fifteen-chars-k' },
      'llm-gateway-router: ASSEMBLYAI_API_KEY has 15 characters: not a gateway key (they have at least 16); set it to the key from your AssemblyAI dashboard'],
  ])('%s is one clear line and exit 2, never a stack trace', async (_name, args, env, line) => {
    const { code, out } = await runToExit(args, env);
    expect(code).toBe(2);
    expect(out.trim().split('\n').filter((l) => l.startsWith('llm-gateway-router'))).toEqual([line]);
    expect(out).not.toMatch(/\n\s+at /);
  });

  test('a malformed tenants file is one clear line naming the file', async () => {
    const file = path.join(os.tmpdir(), `bad-tenants-${process.pid}.json`);
    fs.writeFileSync(file, '{"tenants": [');
    try {
      const { code, out } = await runToExit(['serve', '--tenants', file]);
      expect(code).toBe(2);
      expect(out.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^llm-gateway-router: --tenants ${file}: .*JSON`))]);
    } finally {
      fs.rmSync(file);
    }
  });

  test.each<[string, Record<string, unknown>, string[], string]>([
    ['a plain-http endpoint that is not loopback', { customEndpoint: 'http://llm.internal.example' }, ['--endpoint', 'http://llm.internal.example'], '--endpoint'],
    ['a plain-http endpoint through an egress proxy', { customEndpoint: 'http://127.0.0.1:8080', egressProxy: 'http://proxy.corp.example:3128' },
      ['--endpoint', 'http://127.0.0.1:8080', '--egress-proxy', 'http://proxy.corp.example:3128'], '--egress-proxy'],
  ])('refuses at start what synth refuses, with synth\'s message: %s', async (_name, props, flags, flag) => {
    const { stack, secret } = newStack();
    const expected = synthError(() => routerIn(stack, secret, 'R', props));
    const { code, out } = await runToExit(['serve', '--port', '0', ...flags]);
    expect(code).toBe(2);
    expect(out.trim()).toBe(`llm-gateway-router: ${expected} [${flag}]`);
  });
});
