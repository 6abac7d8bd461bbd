import { ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import OpenAI from 'openai';
import { serve } from '../support/cli';
import { FakeGateway } from '../support/fake-gateway';
import { ForwardProxy } from '../support/forward-proxy';

const EU_HOST = 'llm-gateway.eu.assemblyai.com';

/** A throwaway certificate for the EU gateway's host name, trusted only by the emulator process under test. */
function certificateFor(host: string): { dir: string; key: Buffer; cert: Buffer; certPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-cert-'));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { stdio: 'ignore' });
  return { dir, key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath), certPath };
}

/*
 * Residency is unchanged by a proxy: an EU router asks the proxy for a tunnel
 * to the EU gateway's host only, and verifies that host's certificate inside
 * the tunnel. Here the proxy intercepts that tunnel and answers as the
 * gateway (with a certificate the emulator process is told to trust).
 */
test('an EU router with egressProxy tunnels to llm-gateway.eu.assemblyai.com:443 and nowhere else', async () => {
  const tlsFixture = certificateFor(EU_HOST);
  const gateway = await FakeGateway.start();
  const proxy = await ForwardProxy.start({
    intercept: (target, socket) => {
      if (target !== `${EU_HOST}:443`) return false;
      gateway.server.emit('connection', new tls.TLSSocket(socket, { isServer: true, key: tlsFixture.key, cert: tlsFixture.cert }));
      return true;
    },
  });
  let child: ChildProcess | undefined;
  try {
    const started = await serve(['--region', 'eu', '--allowed-models', 'claude-sonnet-4-6', '--egress-proxy', proxy.url],
      { ASSEMBLYAI_API_KEY: 'eu-key-0123456789abcdef', NODE_EXTRA_CA_CERTS: tlsFixture.certPath });
    child = started.child;
    expect(started.output()).toContain(`-> https://${EU_HOST}`);
    const client = new OpenAI({ baseURL: started.baseURL, apiKey: 'x', maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const answer = await client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.choices[0].message.content).toBe('Hello!');
    }
    // One tunnel, to the EU host only, reused by the second request.
    expect(proxy.connects.map((c) => c.target)).toEqual([`${EU_HOST}:443`]);
    expect(gateway.requests.map((r) => r.headers.host)).toEqual([EU_HOST, EU_HOST]);
    expect(gateway.requests[0].headers.authorization).toBe('eu-key-0123456789abcdef');
  } finally {
    child?.kill('SIGTERM');
    await proxy.close();
    await gateway.close();
    fs.rmSync(tlsFixture.dir, { recursive: true, force: true });
  }
});

test('inside the tunnel the gateway\'s certificate is checked: a proxy answering with an untrusted one gets nothing', async () => {
  const tlsFixture = certificateFor(EU_HOST);
  const gateway = await FakeGateway.start();
  const proxy = await ForwardProxy.start({
    intercept: (_target, socket) => {
      gateway.server.emit('connection', new tls.TLSSocket(socket, { isServer: true, key: tlsFixture.key, cert: tlsFixture.cert }));
      return true;
    },
  });
  let child: ChildProcess | undefined;
  try {
    // The same setup without trusting the fixture's certificate.
    const started = await serve(['--region', 'eu', '--allowed-models', 'claude-sonnet-4-6', '--egress-proxy', proxy.url], { ASSEMBLYAI_API_KEY: 'eu-key-0123456789abcdef' });
    child = started.child;
    const client = new OpenAI({ baseURL: started.baseURL, apiKey: 'x', maxRetries: 0 });
    const failed = await client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(failed.status).toBe(502);
    expect(gateway.requests).toHaveLength(0);
  } finally {
    child?.kill('SIGTERM');
    await proxy.close();
    await gateway.close();
    fs.rmSync(tlsFixture.dir, { recursive: true, force: true });
  }
});
