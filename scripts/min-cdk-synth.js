// Synthesizes routers of every kind against the oldest aws-cdk-lib the
// package promises (its peerDependency floor). Run by min-cdk-compat.sh.
const { App, Stack } = require('aws-cdk-lib');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const cognito = require('aws-cdk-lib/aws-cognito');
const sns = require('aws-cdk-lib/aws-sns');
const bedrock = require('aws-cdk-lib/aws-bedrock');
const r = require('./lib');
console.log('aws-cdk-lib', require('aws-cdk-lib/package.json').version);
const app = new App();
const stack = new Stack(app, 'S', { env: { region: 'eu-west-1', account: '111111111111' } });
const key = new secretsmanager.Secret(stack, 'K');
const us = new r.LlmGatewayRouter(stack, 'Us', { apiKeySecret: key, globalRouting: true, authorization: r.RouterAuthorization.apiKey() });
us.addApiKey('A');
// Guardrails: a CfnGuardrail of the same stack on the EU router, an imported one for a tenant.
const guardrail = new bedrock.CfnGuardrail(stack, 'G', { name: 'g', blockedInputMessaging: 'b', blockedOutputsMessaging: 'b', wordPolicyConfig: { wordsConfig: [{ text: 'x' }] } });
const eu = new r.LlmGatewayRouter(stack, 'Eu', {
  apiKeySecret: key, region: r.GatewayRegion.EU, authorization: r.RouterAuthorization.cognito([new cognito.UserPool(stack, 'P')]),
  guardrail: r.RouterGuardrail.bedrock({ guardrailIdentifier: guardrail.attrGuardrailId, guardrailVersion: 'DRAFT' }),
});
eu.addAlarms('Alarms', { topic: new sns.Topic(stack, 'T') });
// The enterprise props on the floor too.
new r.LlmGatewayRouter(stack, 'Ent', {
  apiKeySecret: key, region: r.GatewayRegion.EU, tracing: true, reservedConcurrentExecutions: 100, cloudWatchRole: true,
  egressProxy: 'http://proxy.corp.example:3128', transcriptAccess: true, removalPolicy: require('aws-cdk-lib').RemovalPolicy.DESTROY,
});
// Tenants: the budget table and the tenant policy.
us.addTenant('Analytics', { identity: r.TenantIdentity.apiKey(), monthlyBudgetUsd: 100, dailyTokenLimit: 1000000, requestsPerMinutePerModel: 10 });
us.addTenant('Legal', { identity: r.TenantIdentity.apiKey(), guardrail: r.RouterGuardrail.bedrock({ guardrailIdentifier: 'arn:aws:bedrock:eu-west-1:111111111111:guardrail/legal1', guardrailVersion: '1' }) });
new r.RouterDashboard(stack, 'D', { routers: [us, eu] });
const agn = new Stack(app, 'Agnostic');
new r.LlmGatewayRouter(agn, 'Eu', { apiKeySecret: new secretsmanager.Secret(agn, 'K'), region: r.GatewayRegion.EU });
const asm = app.synth();
const t = asm.getStackByName('S').template;
const methods = Object.values(t.Resources).filter((x) => x.Type === 'AWS::ApiGateway::Method');
const tables = Object.values(t.Resources).filter((x) => x.Type === 'AWS::DynamoDB::Table');
console.log('tenant tables', tables.length, 'point-in-time recovery', tables.map((x) => JSON.stringify(x.Properties.PointInTimeRecoverySpecification)));
console.log('methods', methods.length, 'transfer modes', [...new Set(methods.map((m) => m.Properties.Integration.ResponseTransferMode))]);
const rules = Object.keys(asm.getStackByName('Agnostic').template.Rules);
const guarded = Object.values(t.Resources).filter((x) => x.Type === 'AWS::Lambda::Function' && x.Properties.Environment?.Variables?.LLM_GATEWAY_GUARDRAIL);
const applyGuardrail = Object.values(t.Resources).filter((x) => x.Type === 'AWS::IAM::Policy')
  .flatMap((p) => p.Properties.PolicyDocument.Statement).filter((st) => st.Action === 'bedrock:ApplyGuardrail');
console.log('guarded functions', guarded.length, 'ApplyGuardrail statements', applyGuardrail.length);
console.log('resources', Object.keys(t.Resources).length, 'agnostic rules', rules);
if (tables.length !== 1 || !tables[0].Properties.PointInTimeRecoverySpecification || methods.length !== 7 || methods.some((m) => m.Properties.Integration.ResponseTransferMode !== 'STREAM') || !rules.some((r) => r.includes('EuResidencyRule')) || guarded.length !== 1 || applyGuardrail.length !== 2) {
  console.error('unexpected template on the minimum aws-cdk-lib');
  process.exit(1);
}
