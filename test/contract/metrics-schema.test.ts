import { GuardrailPolicy, MetricErrorClass, RejectionReason } from '../../src/construct/router-metrics';
import { GUARDRAIL_POLICY_TYPES } from '../../src/contract/guardrail';
import { REJECT_REASONS, ROUTER_ERROR_CLASSES, UPSTREAM_ERROR_CLASSES } from '../../src/contract/metrics-schema';

/*
 * The construct's enums name the dimension values the handler writes; jsii
 * enums must be written out, so this holds them to the handler's lists.
 */
describe('the public enums are the handler\'s dimension values', () => {
  test('RejectionReason: every reason the handler can write, no other', () => {
    expect(Object.values(RejectionReason).sort()).toEqual([...REJECT_REASONS].sort());
  });

  test('MetricErrorClass: the upstream and router classes', () => {
    expect(Object.values(MetricErrorClass).sort()).toEqual([...UPSTREAM_ERROR_CLASSES, ...ROUTER_ERROR_CLASSES].sort());
  });

  test('GuardrailPolicy: the policy types the handler names', () => {
    expect(Object.values(GuardrailPolicy).sort()).toEqual(Object.values(GUARDRAIL_POLICY_TYPES).sort());
  });
});
