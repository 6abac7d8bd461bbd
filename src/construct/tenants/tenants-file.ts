import * as fs from 'node:fs';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { TenantOptions } from './tenant';
import { TenantIdentity } from './tenant-identity';
import { parseTenantsFile, TenantFileEntry, TenantFileIdentity } from '../../contract/tenants-file';

/** The entries of a tenants file, each with where it is in the file (for errors). */
export function readTenantsFile(path: string): Array<{ entry: TenantFileEntry; at: string }> {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`addTenantsFromFile: cannot read ${path}: ${(err as Error).message}`);
  }
  // YAML is parsed by the `yaml` package, bundled with this library.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const entries = parseTenantsFile(text, path, (t) => require('yaml').parse(t));
  return entries.map((entry, i) => ({ entry, at: `tenants[${i}] (${entry.id})` }));
}

/** A file entry as `TenantOptions`: its identities through the `TenantIdentity` factories. */
export function tenantOptionsOf(scope: Construct, entry: TenantFileEntry): TenantOptions {
  const identities = entry.identities.map((identity, i) => identityOf(scope, entry.id, i, identity));
  return {
    identities,
    allowedModels: entry.allowedModels,
    monthlyBudgetUsd: entry.monthlyBudgetUsd,
    dailyTokenLimit: entry.dailyTokenLimit,
    tokensPerMinute: entry.tokensPerMinute,
    requestsPerMinutePerModel: entry.requestsPerMinutePerModel,
    transcriptAccess: entry.transcriptAccess,
    globalRouting: entry.globalRouting,
    defaultTenant: entry.default,
  };
}

function identityOf(scope: Construct, tenant: string, index: number, identity: TenantFileIdentity): TenantIdentity {
  const id = `TenantFile-${tenant}-${index}`;
  switch (identity.kind) {
    case 'apiKey': return TenantIdentity.newApiKey(identity.name);
    case 'apiKeyId': return TenantIdentity.apiKey(apigw.ApiKey.fromApiKeyId(scope, id, identity.id));
    case 'iamPrincipal': return TenantIdentity.iamPrincipal(/:role\//.test(identity.arn)
      ? iam.Role.fromRoleArn(scope, id, identity.arn, { mutable: false })
      : iam.User.fromUserArn(scope, id, identity.arn));
    case 'cognitoGroup': return TenantIdentity.cognitoGroup(identity.group);
    case 'cognitoClaim': return TenantIdentity.cognitoClaim(identity.claim, identity.value);
    case 'authorizerPrincipal': return TenantIdentity.authorizerPrincipal(identity.principalId);
  }
}
