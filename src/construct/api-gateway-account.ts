import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeRules } from './nag';
import { propError } from './validation';

/*
 * API Gateway's CloudWatch Logs role is ONE setting per account and region
 * (`AWS::ApiGateway::Account`). Two resources for it race on a first deploy,
 * and a stage that writes access logs fails if it is created before the
 * setting exists. So, per app:
 *   - one setting per stack, shared by every router of the stack that asks
 *     for it (`cloudWatchRole: true`);
 *   - a second stack asking for it in the same account and region is a synth
 *     error that names the router that owns it;
 *   - every router stage of the app that may deploy to that account and
 *     region depends on the setting, whichever was created first.
 * Internal to the construct: not exported from the package's index.
 */

interface Env {
  readonly account: string;
  readonly region: string;
}

interface Owner {
  readonly env: Env;
  readonly stack: Stack;
  readonly account: apigw.CfnAccount;
  /** The router that created it (for the error a second owner gets). */
  readonly path: string;
}

interface AppAccounts {
  readonly owners: Owner[];
  readonly stages: Array<{ readonly env: Env; readonly stage: IConstruct }>;
}

const APPS = new WeakMap<IConstruct, AppAccounts>();
const SETTING_ID = 'LlmGatewayRouterApiGatewayAccount';

/**
 * Registers a router's stage: it depends on the account setting the app
 * creates for its account and region (now or later). With `own`, the router
 * asks for the setting: it is created in its stack unless the stack has it.
 */
export function bindApiGatewayAccount(router: Construct, stage: IConstruct, own: boolean): void {
  const app = appOf(router);
  const stack = Stack.of(router);
  const env = { account: stack.account, region: stack.region };
  if (own && !app.owners.some((o) => o.stack === stack)) createOwner(router, stack, env, app);
  for (const o of app.owners) if (sameTarget(o.env, env)) stage.node.addDependency(o.account);
  app.stages.push({ env, stage });
}

function createOwner(router: Construct, stack: Stack, env: Env, app: AppAccounts): Owner {
  const other = app.owners.find((o) => sameTarget(o.env, env));
  if (other) {
    throw propError(router, 'cloudWatchRole', 'true', `but router ${other.path} (stack ${other.stack.stackName}) already sets the API Gateway account setting for this account and region; two would race on a first deploy`,
      'set cloudWatchRole: false on this router; its stage waits for that setting when both are deployed from this app');
  }
  const scope = new Construct(stack, SETTING_ID);
  const role = new iam.Role(scope, 'CloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    description: 'API Gateway\'s CloudWatch Logs role for this account and region (created by cdk-llm-gateway-router)',
  });
  // Retained: other APIs of the account may log through it after this stack is gone.
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  acknowledgeRules(role, {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
      'The account-wide API Gateway logging role (cloudWatchRole: true) uses the AWS managed policy API Gateway documents for it; it can only create log groups and write logs.',
  });
  const account = new apigw.CfnAccount(scope, 'Account', { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  account.node.addDependency(role);
  const owner = { env, stack, account, path: router.node.path };
  app.owners.push(owner);
  // Stages registered before this one (in this stack or another) wait for it too.
  for (const s of app.stages) if (sameTarget(s.env, env)) s.stage.node.addDependency(account);
  return owner;
}

function appOf(scope: IConstruct): AppAccounts {
  const root = scope.node.root;
  let app = APPS.get(root);
  if (!app) {
    app = { owners: [], stages: [] };
    APPS.set(root, app);
  }
  return app;
}

/** Whether two stacks may deploy to the same account and region (an environment-agnostic stack may deploy anywhere). */
function sameTarget(a: Env, b: Env): boolean {
  const same = (x: string, y: string) => Token.isUnresolved(x) || Token.isUnresolved(y) || x === y;
  return same(a.account, b.account) && same(a.region, b.region);
}
