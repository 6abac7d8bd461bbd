import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The metadata key aws-cdk-lib's `Validations.acknowledge()` writes and
 * cdk-nag 3 reads (`Validations.ACKNOWLEDGED_RULES_METADATA_KEY`). Written
 * directly so the construct keeps working on aws-cdk-lib versions older than
 * the `Validations` API; a test pins it to the library's constant.
 */
export const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';

/**
 * The CloudFormation metadata key cdk-nag 2 reads suppressions from
 * (`NagSuppressions.addResourceSuppressions` writes it). Many teams still pin
 * cdk-nag 2, which ignores the v3 acknowledgements above, so both are written.
 */
export const CDK_NAG_V2_METADATA_KEY = 'cdk_nag';

/** One suppression as cdk-nag 2 stores it in the template. */
interface NagV2Suppression {
  id: string;
  reason: string;
  applies_to?: string[];
  is_reason_encoded?: boolean;
}

/**
 * Records, on one construct, the policy-validation rules it knowingly does
 * not satisfy, each with the reason a reviewer can check. A key may name a
 * granular finding, `Rule[finding]` (cdk-nag 3's form); for cdk-nag 2 it
 * becomes `{ id: Rule, applies_to: [finding] }`.
 */
export function acknowledgeRules(scope: IConstruct, rules: Record<string, string>): void {
  scope.node.addMetadata(ACKNOWLEDGED_RULES_METADATA_KEY, rules);
  // cdk-nag 3 applies an acknowledgement to the whole subtree; cdk-nag 2 reads
  // only each L1 resource's own CloudFormation metadata, so every L1 already
  // below `scope` (a role's DefaultPolicy, too) gets the suppressions.
  const added = Object.entries(rules).map(([key, reason]) => toV2Suppression(key, reason));
  for (const resource of scope.node.findAll()) {
    if (CfnResource.isCfnResource(resource)) suppressV2(resource, added);
  }
}

function suppressV2(resource: CfnResource, added: NagV2Suppression[]): void {
  const existing: NagV2Suppression[] = resource.getMetadata(CDK_NAG_V2_METADATA_KEY)?.rules_to_suppress ?? [];
  // Same de-duplication as cdk-nag 2's own helper: identical entries once.
  const all = [...new Set([...existing, ...added].map((s) => JSON.stringify(s)))].map((s) => JSON.parse(s) as NagV2Suppression);
  resource.addMetadata(CDK_NAG_V2_METADATA_KEY, { rules_to_suppress: all });
}

function toV2Suppression(key: string, reason: string): NagV2Suppression {
  const granular = /^([^[]+)\[(.+)\]$/.exec(key);
  const suppression: NagV2Suppression = granular
    ? { id: granular[1], reason, applies_to: [granular[2]] }
    : { id: key, reason };
  // cdk-nag 2 base64-encodes reasons with characters beyond Latin-1 and flags them.
  if ([...reason].some((c) => c.codePointAt(0)! > 255)) {
    return { ...suppression, reason: Buffer.from(reason).toString('base64'), is_reason_encoded: true };
  }
  return suppression;
}
