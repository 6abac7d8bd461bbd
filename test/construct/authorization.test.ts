/**
 * RouterAuthorization: the usage plan that makes API keys work at all, a
 * custom authorizer without a declared type, and the warning that only an
 * open router gets.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { newStack, routerIn, warnings } from './helpers';
import { RouterAuthorization } from '../../src';

describe('authorization edges', () => {
  test('apiKey(): the usage plan is named after the router and attached to its API and stage', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Keys', { routerName: 'platform', authorization: RouterAuthorization.apiKey() });
    const template = Template.fromStack(stack);
    const plans = Object.values(template.findResources('AWS::ApiGateway::UsagePlan')) as any[];
    expect(plans).toHaveLength(1);
    const props = plans[0].Properties;
    expect(props.UsagePlanName).toBe('platform-callers');
    // Without the API stage a key of the plan would be refused on every request.
    expect(props.ApiStages).toHaveLength(1);
    expect(props.ApiStages[0].ApiId).toEqual({ Ref: expect.stringMatching(/^KeysApi/) });
    expect(props.ApiStages[0].Stage).toEqual({ Ref: expect.stringMatching(/^KeysApiDeploymentStageprod/) });
  });

  test('custom(): an authorizer that declares no type is applied as CUSTOM, never as no authorization', () => {
    const { stack, secret } = newStack();
    const authorizer = { authorizerId: 'abc123' } as unknown as apigw.IAuthorizer;
    routerIn(stack, secret, 'Custom', { authorization: RouterAuthorization.custom(authorizer) });
    const methods = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::Method')) as any[];
    const guarded = methods.filter((m) => m.Properties.HttpMethod === 'POST');
    expect(guarded.length).toBeGreaterThan(0);
    for (const m of guarded) expect([m.Properties.AuthorizationType, m.Properties.AuthorizerId]).toEqual(['CUSTOM', 'abc123']);
  });

  test('none() warns with an acknowledgeable id; iam() does not warn', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Closed', { authorization: RouterAuthorization.iam() });
    expect(warnings(stack).join('\n')).not.toContain('noAuthorization');
    routerIn(stack, secret, 'Open', { authorization: RouterAuthorization.none() });
    const open = warnings(stack).filter((w) => w.includes('RouterAuthorization.none()'));
    expect(open).toHaveLength(1);
    expect(open[0]).toContain('[ack: cdk-llm-gateway-router:noAuthorization]');
  });

  test('cognito() without user pools is refused with the fix', () => {
    expect(() => RouterAuthorization.cognito([])).toThrow(
      new Error('RouterAuthorization.cognito(userPools): userPools is empty. Fix: pass at least one cognito.IUserPool.'));
  });
});
