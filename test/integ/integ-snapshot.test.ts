import { Template } from 'aws-cdk-lib/assertions';
import { BLANK_ASSET_HASH, blankAssetHashes } from './asset-hashes';
import { createIntegApp } from './router-integ-app';

/**
 * The integration test's templates are committed snapshots. jest runs with
 * --ci, so a changed template fails here until the snapshot is updated on
 * purpose (`npx jest test/integ -u`) and reviewed in the diff. Asset hashes
 * are blanked first: a handler change rewrites only those, and must not
 * rewrite the snapshot (see asset-hashes.ts).
 */
describe('integration test app', () => {
  const { app, stack } = createIntegApp();
  const assembly = app.synth();
  const template = Template.fromStack(stack).toJSON();

  test('the router stack matches its committed snapshot', () => {
    expect(blankAssetHashes(template)).toMatchSnapshot();
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

describe('asset hashes in the snapshot', () => {
  const { stack } = createIntegApp();
  const template = Template.fromStack(stack).toJSON();
  const OTHER_HASH = 'f'.repeat(64);
  const handlerOf = (t: any) => Object.values(t.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function') as any;
  const copy = (): any => JSON.parse(JSON.stringify(template));
  const snapshotOf = (t: unknown) => JSON.stringify(blankAssetHashes(t));

  test('the router stack has exactly one asset hash, the handler code S3Key', () => {
    expect(JSON.stringify(template).match(/[0-9a-f]{64}/g)).toHaveLength(1);
    expect(handlerOf(template).Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(handlerOf(blankAssetHashes(template)).Properties.Code.S3Key).toBe(`${BLANK_ASSET_HASH}.zip`);
  });

  test('a handler-only change (another asset hash) leaves the snapshot unchanged', () => {
    const rebuilt = copy();
    handlerOf(rebuilt).Properties.Code.S3Key = `${OTHER_HASH}.zip`;
    expect(JSON.stringify(rebuilt)).not.toEqual(JSON.stringify(template));
    expect(snapshotOf(rebuilt)).toEqual(snapshotOf(template));
  });

  test('a real template change still changes the snapshot', () => {
    const changed = copy();
    handlerOf(changed).Properties.MemorySize = 1024;
    expect(snapshotOf(changed)).not.toEqual(snapshotOf(template));
    const renamed = copy();
    handlerOf(renamed).Properties.Code.S3Key = `${OTHER_HASH}.jar`;
    expect(snapshotOf(renamed)).not.toEqual(snapshotOf(template));
  });

  test('hashes are blanked wherever CDK may put them: keys, parameters, metadata, embedded strings', () => {
    const h = '0123456789abcdef'.repeat(4);
    const legacy = {
      Parameters: { [`AssetParameters${h}S3Bucket1A2B3C4D`]: { Type: 'String' } },
      Resources: {
        Fn: {
          Metadata: { 'aws:asset:path': `asset.${h}`, 'aws:asset:property': 'Code' },
          Properties: { Code: { S3Key: { 'Fn::Sub': `prefix/${h}.zip` } }, Timeout: 300 },
        },
      },
    };
    expect(blankAssetHashes(legacy)).toEqual({
      Parameters: { [`AssetParameters${BLANK_ASSET_HASH}S3Bucket1A2B3C4D`]: { Type: 'String' } },
      Resources: {
        Fn: {
          Metadata: { 'aws:asset:path': `asset.${BLANK_ASSET_HASH}`, 'aws:asset:property': 'Code' },
          Properties: { Code: { S3Key: { 'Fn::Sub': `prefix/${BLANK_ASSET_HASH}.zip` } }, Timeout: 300 },
        },
      },
    });
    // Shorter hex (logical-id suffixes, md5 deployment ids) is the template's own and stays.
    expect(blankAssetHashes({ Id: 'EuRouterApiDeploymentA256AAD4a4031a3714145ffb3161b4d93c68a19c' })).toEqual({ Id: 'EuRouterApiDeploymentA256AAD4a4031a3714145ffb3161b4d93c68a19c' });
  });
});
