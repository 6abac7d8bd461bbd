import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatewayRegion, LlmGatewayRouter } from '../src';
import { count, median, msSince, round } from './support/stats';

export interface SynthResult {
  routers: number;
  runs: number;
  totalMsP50: number;
  perRouterMs: number;
  resources: number;
}

const ROUTERS_PER_STACK = 10;

function synthOnce(routers: number): { ms: number; resources: number } {
  const start = process.hrtime.bigint();
  const app = new App();
  // CloudFormation allows 500 resources per stack: ten routers per stack.
  const stacks: Stack[] = [];
  for (let i = 0; i < routers; i++) {
    if (i % ROUTERS_PER_STACK === 0) stacks.push(new Stack(app, `Platform${stacks.length}`, { env: { account: '111111111111', region: 'eu-west-1' } }));
    const stack = stacks[stacks.length - 1];
    const key = stack.node.tryFindChild('Key') as secretsmanager.ISecret ?? secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'llm-gateway-key');
    new LlmGatewayRouter(stack, `Router${i}`, {
      apiKeySecret: key,
      region: i % 2 === 0 ? GatewayRegion.US : GatewayRegion.EU,
      routerName: `router-${i}`,
    });
  }
  const assembly = app.synth();
  const ms = msSince(start);
  const resources = assembly.stacks.reduce((n, s) => n + Object.keys(s.template.Resources).length, 0);
  return { ms, resources };
}

/** Time to construct and synthesize an app with N routers (a fresh App each run). */
export function synth(): SynthResult[] {
  synthOnce(1); // load aws-cdk-lib modules once, outside the measurement
  return [1, 10, 50].map((routers) => {
    const runs = count(routers === 50 ? 3 : 5, 1);
    const samples = Array.from({ length: runs }, () => synthOnce(routers));
    const p50 = median(samples.map((s) => s.ms));
    return { routers, runs, totalMsP50: round(p50, 1), perRouterMs: round(p50 / routers, 1), resources: samples[0].resources };
  });
}
