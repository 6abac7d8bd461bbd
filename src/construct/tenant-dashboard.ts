import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { RouterTenant } from './tenant';

/**
 * One graph per tenant: daily spend and its running sum over the last 31
 * days against the monthly budget. CloudWatch cannot align a graph to a
 * calendar month; the budget table is the month's exact record, and the
 * README's Logs Insights query reads it from the logs.
 */
export function tenantSpendWidgets(tenants: readonly RouterTenant[]): cloudwatch.IWidget[] {
  return tenants.map((tenant) => {
    const daily = tenant.metricCostUsd({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM, label: 'spend per day (USD)' });
    const runningSum = new cloudwatch.MathExpression({
      expression: 'RUNNING_SUM(cost)',
      usingMetrics: { cost: daily },
      period: Duration.days(1),
      label: 'spend over the graph\'s range (USD)',
    });
    return new cloudwatch.GraphWidget({
      title: `Tenant ${tenant.tenantId}: spend vs budget`,
      left: [runningSum, daily],
      leftAnnotations: tenant.monthlyBudgetUsd !== undefined
        ? [{ value: tenant.monthlyBudgetUsd, label: `monthly budget ${tenant.monthlyBudgetUsd} USD`, color: cloudwatch.Color.RED }]
        : [],
      start: '-P31D',
      width: 8,
    });
  });
}
