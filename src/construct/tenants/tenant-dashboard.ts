import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { RouterTenant } from './tenant';

/**
 * One graph per tenant: its month-to-date spend (what the ledger has
 * settled this calendar month, UTC, published after each settle) against
 * its monthly budget, with its daily spend beside it.
 */
export function tenantSpendWidgets(tenants: readonly RouterTenant[]): cloudwatch.IWidget[] {
  return tenants.map((tenant) => {
    const monthToDate = tenant.metricMonthToDateUsd({ period: Duration.hours(1), label: 'month to date (USD)' });
    const daily = tenant.metricCostUsd({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM, label: 'spend per day (USD)' });
    return new cloudwatch.GraphWidget({
      title: `Tenant ${tenant.tenantId}: spend vs budget`,
      left: [monthToDate],
      right: [daily],
      leftAnnotations: tenant.monthlyBudgetUsd !== undefined
        ? [{ value: tenant.monthlyBudgetUsd, label: `monthly budget ${tenant.monthlyBudgetUsd} USD`, color: cloudwatch.Color.RED }]
        : [],
      start: '-P31D',
      width: 8,
    });
  });
}
