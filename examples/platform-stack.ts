import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
// In your own project: import { ... } from 'cdk-llm-gateway-router';
import { GatewayRegion, LlmGatewayRouter, RouterAuthorization, RouterDashboard } from '../src';

/**
 * A platform team's stack: one router per residency need, one dashboard for
 * both, IAM callers on the US router and API-key callers on the EU one.
 */
export class LlmPlatformStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);

    // The gateway key, stored once by the platform team (never in code or the template).
    const gatewayKey = secretsmanager.Secret.fromSecretNameV2(this, 'GatewayKey', 'platform/llm-gateway-key');
    const onCall = new sns.Topic(this, 'OnCall');

    // US: every US model, with global routing where the provider accepts it (cheaper, no residency).
    const us = new LlmGatewayRouter(this, 'UsRouter', {
      apiKeySecret: gatewayKey,
      routerName: 'platform-us',
      globalRouting: true,
      // The account's API Gateway logging role: one owner per account and region.
      cloudWatchRole: true,
    });

    // EU: data stays in the EU; only the models the EU endpoint serves, chosen explicitly.
    const eu = new LlmGatewayRouter(this, 'EuRouter', {
      apiKeySecret: gatewayKey,
      routerName: 'platform-eu',
      region: GatewayRegion.EU,
      // The US router above owns the account's API Gateway logging role.
      cloudWatchRole: false,
      allowedModels: ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gemini-2.5-flash'],
      authorization: RouterAuthorization.apiKey({
        throttle: { rateLimit: 10, burstLimit: 20 },
        quota: { limit: 50_000, period: apigw.Period.DAY },
      }),
      timeout: Duration.minutes(10),
    });

    // Callers: a service role for the US router, an API key per team for the EU router.
    const analytics = new iam.Role(this, 'AnalyticsService', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    us.grantInvoke(analytics);
    const supportTeamKey = eu.addApiKey('SupportTeamKey', { description: 'Support tooling (EU customers)' });

    new RouterDashboard(this, 'Dashboard', { routers: [us, eu], dashboardName: 'llm-gateway-routers' });
    us.addAlarms('Alarms', { topic: onCall });
    eu.addAlarms('Alarms', { topic: onCall });

    new CfnOutput(this, 'UsOpenAiBaseUrl', { value: us.openAiBaseUrl });
    new CfnOutput(this, 'EuOpenAiBaseUrl', { value: eu.openAiBaseUrl });
    new CfnOutput(this, 'SupportTeamKeyId', { value: supportTeamKey.keyId });
  }
}
