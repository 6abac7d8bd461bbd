/**
 * Synth-time validation of deploy-time values: allow-lists that are tokens,
 * and how a shared rule's failure becomes a prop error.
 */
import { CfnParameter } from 'aws-cdk-lib';
import { errorOf, newStack, routerIn, warnings } from './helpers';
import { applyRule } from '../../src/construct/validation';

describe('a deploy-time allowedModels list (a token)', () => {
  test('with allowAllModels: true is a contradiction, named with its fix', () => {
    const { stack, secret } = newStack();
    const models = new CfnParameter(stack, 'Models', { type: 'CommaDelimitedList' });
    const message = errorOf(() => routerIn(stack, secret, 'R', { allowedModels: models.valueAsList, allowAllModels: true }));
    expect(message).toBe(`${stack.node.path}/R: allowAllModels: true contradicts allowedModels, which lists the models callers may use. `
      + 'Fix: remove allowAllModels, or remove allowedModels to allow every model the endpoint lists');
  });

  test('warns once, with an id a team can acknowledge', () => {
    const { stack, secret } = newStack();
    const models = new CfnParameter(stack, 'Models', { type: 'CommaDelimitedList' });
    routerIn(stack, secret, 'R', { allowedModels: models.valueAsList });
    const tokenWarnings = warnings(stack).filter((w) => w.includes('deploy-time list'));
    expect(tokenWarnings).toHaveLength(1);
    expect(tokenWarnings[0]).toContain('[ack: cdk-llm-gateway-router:modelListToken]');
  });

  test('with global routing on, no "no model accepts global routing" warning: the ids are unknown until deploy', () => {
    const { stack, secret } = newStack();
    const models = new CfnParameter(stack, 'Models', { type: 'CommaDelimitedList' });
    routerIn(stack, secret, 'R', { allowedModels: models.valueAsList, globalRouting: true });
    expect(warnings(stack).join('\n')).not.toContain('globalRoutingUnused');
    // The same router with a literal list of in-region-only models does warn: the check itself is on.
    routerIn(stack, secret, 'L', { allowedModels: ['qwen3-32B'], globalRouting: true });
    expect(warnings(stack).join('\n')).toContain('cdk-llm-gateway-router:globalRoutingUnused');
  });
});

describe('applyRule', () => {
  test('an error that is not a rule violation passes through unchanged (a bug, not a prop error)', () => {
    const { stack } = newStack();
    const bug = new TypeError('cannot read properties of undefined');
    let thrown: unknown;
    try {
      applyRule(stack, () => {
        throw bug;
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBe(bug);
  });
});
