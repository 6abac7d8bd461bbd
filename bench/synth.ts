import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatewayRegion, LlmGatewayRouter } from '../src';
import { count, median, msSince, round } from './support/stats';

export interface SynthPoint {
  routers: number;
  stacks: number;
  runs: number;
  totalMsP50: number;
  perRouterMs: number;
  resources: number;
}

export interface SynthResult {
  points: SynthPoint[];
  /** Extra ms per extra router between consecutive sizes (1→10, 10→50): fixed app costs cancel out. */
  marginalMsPerRouter: number[];
  /** per-router ms at 50 / per-router ms at 10 (flat or falling: ≤ 1). */
  perRouterGrowth50vs10: number;
}

/** CloudFormation's (and CDK's default) limit is 500 resources per stack: ten routers per stack. */
const ROUTERS_PER_STACK = 10;

function synthOnce(routers: number): { ms: number; resources: number; stacks: number } {
  const start = process.hrtime.bigint();
  const app = new App();
  const stacks: Stack[] = [];
  for (let i = 0; i < routers; i++) {
    if (i % ROUTERS_PER_STACK === 0) {
      const stack = new Stack(app, `Platform${stacks.length}`, { env: { account: '111111111111', region: 'eu-west-1' } });
      secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'llm-gateway-key');
      stacks.push(stack);
    }
    const stack = stacks[stacks.length - 1];
    new LlmGatewayRouter(stack, `Router${i}`, {
      apiKeySecret: stack.node.findChild('Key') as secretsmanager.ISecret,
      region: i % 2 === 0 ? GatewayRegion.US : GatewayRegion.EU,
      routerName: `router-${i}`,
    });
  }
  const assembly = app.synth();
  const ms = msSince(start);
  const resources = assembly.stacks.reduce((n, s) => n + Object.keys(s.template.Resources ?? {}).length, 0);
  return { ms, resources, stacks: stacks.length };
}

/**
 * Time to construct and synthesize an app with 1, 10 and 50 routers
 * (alternately US and EU, in eu-west-1 stacks), a fresh App each run, the
 * median of several runs. One throwaway synth first loads aws-cdk-lib and
 * compiles the construct's sources, outside the measurement.
 */
export function synth(): SynthResult {
  synthOnce(2);
  const points = [1, 10, 50].map((routers) => {
    const runs = count(routers === 50 ? 5 : 7, 1);
    const samples = Array.from({ length: runs }, () => synthOnce(routers));
    const p50 = median(samples.map((s) => s.ms));
    const { stacks, resources } = samples[0];
    return { routers, stacks, runs, totalMsP50: round(p50, 1), perRouterMs: round(p50 / routers, 2), resources };
  });
  const marginal = points.slice(1).map((p, i) => round((p.totalMsP50 - points[i].totalMsP50) / (p.routers - points[i].routers), 2));
  return { points, marginalMsPerRouter: marginal, perRouterGrowth50vs10: round(points[2].perRouterMs / points[1].perRouterMs, 2) };
}
