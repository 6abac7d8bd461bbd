import { IConstruct } from 'constructs';

/**
 * The metadata key aws-cdk-lib's `Validations.acknowledge()` writes and
 * cdk-nag 3 reads (`Validations.ACKNOWLEDGED_RULES_METADATA_KEY`). Written
 * directly so the construct keeps working on aws-cdk-lib versions older than
 * the `Validations` API; a test pins it to the library's constant.
 */
export const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';

/**
 * Records, on one construct, the policy-validation rules it knowingly does
 * not satisfy, each with the reason a reviewer can check.
 */
export function acknowledgeRules(scope: IConstruct, rules: Record<string, string>): void {
  scope.node.addMetadata(ACKNOWLEDGED_RULES_METADATA_KEY, rules);
}
