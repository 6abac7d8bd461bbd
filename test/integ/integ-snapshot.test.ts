import { Template } from 'aws-cdk-lib/assertions';
import { createIntegApp } from './router-integ-app';

/**
 * The integration test's templates are committed snapshots. jest runs with
 * --ci, so a changed template fails here until the snapshot is updated on
 * purpose (`npx jest test/integ -u`) and reviewed in the diff.
 */
describe('integration test app', () => {
  const { app, stack } = createIntegApp();
  const assembly = app.synth();

  test('the router stack matches its committed snapshot', () => {
    expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
  });

  test('the assertion stack calls GET /v1/models and POST a forbidden model', () => {
    const names = assembly.stacks.map((s) => s.stackName);
    expect(names).toEqual(expect.arrayContaining(['LlmGatewayRouterInteg']));
    const assertStack = assembly.stacks.find((s) => s.stackName !== 'LlmGatewayRouterInteg')!;
    const calls = Object.values(assertStack.template.Resources).filter((r: any) => r.Type === 'Custom::DeployAssert@HttpCall') as any[];
    expect(calls).toHaveLength(2);
    expect(JSON.stringify(calls.map((c) => c.Properties.parameters ?? c.Properties))).toMatch(/v1\/models/);
    expect(JSON.stringify(assertStack.template)).toMatch(/model_not_allowed/);
  });
});
