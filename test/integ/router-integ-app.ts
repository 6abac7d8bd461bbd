import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatewayRegion, LlmGatewayRouter, RouterAuthorization } from '../../src';

/**
 * An EU router with deploy-time assertions over HTTP: GET /v1/models lists
 * the allow-list, and a forbidden model is refused with 403 before anything
 * is sent upstream (so no real gateway key is needed).
 */
export function createIntegApp(app = new App()): { app: App; stack: Stack; integ: IntegTest } {
  // Environment-agnostic: the EU residency check becomes a CloudFormation Rule, exercised at deploy.
  const stack = new Stack(app, 'LlmGatewayRouterInteg');
  const key = new secretsmanager.Secret(stack, 'GatewayKey', { description: 'placeholder: the integ test never reaches the gateway' });
  const router = new LlmGatewayRouter(stack, 'EuRouter', {
    apiKeySecret: key,
    region: GatewayRegion.EU,
    routerName: 'integ-eu',
    allowedModels: ['claude-sonnet-4-6', 'gemini-2.5-flash'],
    // Open for the assertions' plain HTTP calls; the stack lives for minutes and is throttled.
    authorization: RouterAuthorization.none(),
    throttlingRateLimit: 5,
    throttlingBurstLimit: 5,
  });

  const integ = new IntegTest(app, 'RouterInteg', { testCases: [stack], regions: ['eu-central-1'] });

  integ.assertions.httpApiCall(`${router.url}v1/models`).expect(ExpectedResult.objectLike({
    status: 200,
    body: { object: 'list', data: [{ id: 'claude-sonnet-4-6', object: 'model' }, { id: 'gemini-2.5-flash', object: 'model' }] },
  }));

  integ.assertions.httpApiCall(`${router.url}v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }),
  }).expect(ExpectedResult.objectLike({
    status: 403,
    body: { error: { code: 'model_not_allowed' } },
  }));

  return { app, stack, integ };
}
