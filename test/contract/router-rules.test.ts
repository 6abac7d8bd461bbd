/**
 * One sequence of settings rules for synth and the emulator
 * (`checkRouterRules`): for any mix of good and bad settings, `cdk synth`
 * and `llm-gateway-router serve` refuse the same first setting with the same
 * words, or both accept it and default the upstream timeout alike.
 */
import { Duration, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as fc from 'fast-check';
import { GatewayRegion } from '../../src';
import { checkLocalSettings } from '../../src/emulator/config';
import { EU_ENV, newStack, routerIn, US_ENV } from '../construct/helpers';

const FUNCTION_TIMEOUT_MS = 300_000; // the construct's default timeout, given to the emulator too

/** A good value four times in five. */
function oneOf<T>(good: T[], bad: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
}

const settings = fc.record({
  region: fc.constantFrom('us' as const, 'eu' as const),
  globalRouting: fc.boolean(),
  // Mostly good values, so that combinations of several bad ones stay common but not universal.
  allowedModels: oneOf([undefined, ['claude-sonnet-4-6'], ['claude-sonnet-4-6', 'gemini-2.5-flash']], [['gpt-5'], ['gpt-5-typo-model']]),
  endpoint: oneOf([undefined, 'https://proxy.example.com/llm'], ['http://proxy.example.com', 'http://127.0.0.1:9', 'not a url']),
  egressProxy: oneOf([undefined, 'http://proxy.corp.example:3128'], ['http://proxy.corp.example:3128/path', 'ftp://proxy', 'http://user:pw@proxy.corp.example:3128']),
  maxBodyBytes: oneOf([1_048_576], [100, 20 * 1024 * 1024]),
  upstreamTimeoutMs: oneOf([undefined, 60_000], [400_000, 500]),
});

type Settings = typeof settings extends fc.Arbitrary<infer T> ? T : never;

/** The emulator's verdict: the violated rule's message, or the defaulted upstream timeout. */
function emulator(s: Settings): { error?: string; upstreamTimeoutMs?: number } {
  try {
    const checked = checkLocalSettings({
      region: s.region,
      globalRouting: s.globalRouting,
      allowedModels: s.allowedModels,
      endpoint: s.endpoint,
      egressProxy: s.egressProxy,
      maxBodyBytes: s.maxBodyBytes,
      upstreamTimeoutMs: s.upstreamTimeoutMs,
    }, FUNCTION_TIMEOUT_MS);
    return { upstreamTimeoutMs: checked.settings.upstreamTimeoutMs };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Synth's verdict, with the construct path taken off the message. */
function synth(s: Settings): { error?: string; upstreamTimeoutMs?: number } {
  const { stack, secret } = newStack({ env: s.region === 'eu' ? EU_ENV : US_ENV });
  try {
    const router = routerIn(stack, secret, 'Router', {
      region: s.region === 'eu' ? GatewayRegion.EU : GatewayRegion.US,
      globalRouting: s.globalRouting,
      allowedModels: s.allowedModels,
      customEndpoint: s.endpoint,
      egressProxy: s.egressProxy,
      maxRequestBodySize: Size.bytes(s.maxBodyBytes),
      upstreamTimeout: s.upstreamTimeoutMs === undefined ? undefined : Duration.millis(s.upstreamTimeoutMs),
    });
    const env = stack.resolve((router.handler.node.defaultChild as lambda.CfnFunction).environment).variables;
    return { upstreamTimeoutMs: Number(env.LLM_GATEWAY_UPSTREAM_TIMEOUT_MS) };
  } catch (err) {
    return { error: (err as Error).message.replace(/^Platform\/Router: /, '') };
  }
}

test('synth and the emulator refuse the same setting first, with the same words, or accept the same settings', () => {
  const reached = { refusedByBoth: 0, acceptedByBoth: 0 };
  fc.assert(fc.property(settings, (s) => {
    const local = emulator(s);
    const deployed = synth(s);
    // Timeouts are shown in each one's unit ("6 minutes 40 seconds" at synth, "400000 ms" locally).
    const words = (e?: string) => e?.replace(/\d[\d.]* ?(?:ms|millis|seconds?|minutes?)\b(?: \d[\d.]* ?(?:ms|millis|seconds?|minutes?)\b)*/g, '<duration>');
    expect(words(deployed.error)).toBe(words(local.error));
    if (local.error) {reached.refusedByBoth++;} else {
      reached.acceptedByBoth++;
      expect(deployed.upstreamTimeoutMs).toBe(local.upstreamTimeoutMs);
    }
  }), { numRuns: 80, seed: 20261203 });
  expect(reached.refusedByBoth).toBeGreaterThanOrEqual(20);
  expect(reached.acceptedByBoth).toBeGreaterThanOrEqual(10);
});
