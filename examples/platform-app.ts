import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { LlmPlatformStack } from './platform-stack';

/**
 * `npm run synth`: synthesizes the example platform app into cdk.out and
 * prints what it made. No AWS credentials needed.
 */
const outdir = path.join(__dirname, '..', 'cdk.out');
const app = new App({ outdir });
// The EU router requires an EU member-state region (synth fails elsewhere).
new LlmPlatformStack(app, 'LlmPlatform', { env: { region: 'eu-central-1' } });
const assembly = app.synth();

for (const stack of assembly.stacks) {
  const resources = Object.values(stack.template.Resources ?? {}) as Array<{ Type: string; Properties?: any }>;
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.Type, (counts.get(r.Type) ?? 0) + 1);
  console.log(`${stack.stackName} (${stack.environment.region}): ${resources.length} resources -> ${path.relative(process.cwd(), path.join(outdir, stack.templateFile))}`);
  for (const [type, n] of [...counts].sort()) console.log(`  ${String(n).padStart(3)}  ${type}`);
  for (const r of resources.filter((x) => x.Type === 'AWS::Lambda::Function')) {
    const env = r.Properties.Environment.Variables;
    const models = String(env.LLM_GATEWAY_ALLOWED_MODELS).split(',');
    console.log(`  router ${env.POWERTOOLS_SERVICE_NAME}: region=${env.LLM_GATEWAY_REGION} endpoint=${env.LLM_GATEWAY_ENDPOINT} global=${env.LLM_GATEWAY_GLOBAL_ROUTING} models=${models.length} (${models.slice(0, 3).join(', ')}${models.length > 3 ? ', ...' : ''})`);
  }
  for (const message of stack.messages.filter((m) => m.level !== 'info')) console.log(`  ${message.level}: ${message.id}: ${message.entry.data}`);
}
