import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantDirectory } from '../../src/handler/tenants/identify';

/*
 * Who a caller is, among a thousand tenants: a map lookup per
 * identity kind (and per claim name), several identities per tenant (key
 * rotation), Cognito groups matched on membership.
 */

function event(identity: Record<string, unknown> = {}, authorizer: Record<string, unknown> | null = null): APIGatewayProxyEvent {
  return { requestContext: { identity, authorizer } } as unknown as APIGatewayProxyEvent;
}

const THOUSAND: TenantSpec[] = Array.from({ length: 1_000 }, (_, i) => ({
  id: `team-${i}`,
  ids: [
    { k: 'key', v: `key-${i}-old` },
    { k: 'key', v: `key-${i}-new` },
    { k: 'role', v: `arn:aws:iam::123456789012:role/teams/team-${i}` },
    { k: 'claim', n: 'cognito:groups', v: `group-${i}` },
    { k: 'principal', v: `principal-${i}` },
  ],
}));

describe('TenantDirectory', () => {
  const directory = new TenantDirectory(THOUSAND);

  test('each of a tenant\'s identities finds it, the last of 1,000 tenants as the first', () => {
    for (const i of [0, 500, 999]) {
      expect(directory.match(event({ apiKeyId: `key-${i}-old` }))?.id).toBe(`team-${i}`);
      expect(directory.match(event({ apiKeyId: `key-${i}-new` }))?.id).toBe(`team-${i}`);
      expect(directory.match(event({ userArn: `arn:aws:sts::123456789012:assumed-role/team-${i}/session` }))?.id).toBe(`team-${i}`);
      expect(directory.match(event({}, { principalId: `principal-${i}` }))?.id).toBe(`team-${i}`);
    }
  });

  test('a Cognito group matches on membership, in either form API Gateway passes the list', () => {
    expect(directory.match(event({}, { claims: { 'cognito:groups': 'admins,group-7' } }))?.id).toBe('team-7');
    expect(directory.match(event({}, { claims: { 'cognito:groups': '[admins group-8]' } }))?.id).toBe('team-8');
    expect(directory.match(event({}, { claims: { 'cognito:groups': 'group-70x' } }))).toBeUndefined();
    expect(directory.match(event({}, { claims: { 'cognito:groups': 'admins' } }))).toBeUndefined();
  });

  test('nothing matches by prefix, substring or case; a claim that is not a string matches nothing', () => {
    expect(directory.match(event({ apiKeyId: 'key-1-ol' }))).toBeUndefined();
    expect(directory.match(event({ apiKeyId: 'KEY-1-OLD' }))).toBeUndefined();
    expect(directory.match(event({ apiKeyId: 'xkey-1-old' }))).toBeUndefined();
    expect(directory.match(event({ userArn: 'arn:aws:sts::123456789012:assumed-role/team-1x/s' }))).toBeUndefined();
    expect(directory.match(event({ userArn: 'arn:aws:sts::999999999999:assumed-role/team-1/s' }))).toBeUndefined();
    expect(directory.match(event({}, { claims: { 'cognito:groups': ['group-1'] } }))).toBeUndefined();
    // An inherited property of every object is not a claim.
    expect(new TenantDirectory([{ id: 't', ids: [{ k: 'claim', n: 'toString', v: 'x' }] }]).match(event({}, { claims: {} }))).toBeUndefined();
  });

  test('the default tenant takes only callers that match no tenant', () => {
    const withDefault = new TenantDirectory([...THOUSAND.slice(0, 3), { id: 'everyone', def: true }]);
    expect(withDefault.match(event({ apiKeyId: 'key-2-new' }))?.id).toBe('team-2');
    expect(withDefault.match(event({ apiKeyId: 'unknown' }))?.id).toBe('everyone');
  });

  test('a role identity that is not a role ARN is refused when the tenants are loaded', () => {
    expect(() => new TenantDirectory([{ id: 'bad', ids: [{ k: 'role', v: 'arn:aws:iam::123456789012:user/x' }] }]))
      .toThrow('tenant bad: "arn:aws:iam::123456789012:user/x" is not an IAM role ARN');
    // A role name ends the ARN: anything after it (another field, a session) is not a role ARN either.
    // And it starts the value: a prefix before it is not a role ARN.
    for (const arn of ['arn:aws:iam::123456789012:role/team:extra', 'arn:aws:iam::123456789012:role/team/', 'x-arn:aws:iam::123456789012:role/team']) {
      expect(() => new TenantDirectory([{ id: 'bad', ids: [{ k: 'role', v: arn }] }])).toThrow(`tenant bad: ${JSON.stringify(arn)} is not an IAM role ARN`);
    }
    expect(new TenantDirectory([{ id: 'ok', ids: [{ k: 'role', v: 'arn:aws:iam::123456789012:role/path/team' }] }])
      .match(event({ userArn: 'arn:aws:sts::123456789012:assumed-role/team/session-1' }))?.id).toBe('ok');
  });
});

describe('TenantDirectory edges', () => {
  const DEFAULT: TenantSpec = { id: 'everyone', def: true };

  test('a request context without identity or authorizer (or none at all) gets the default tenant', () => {
    const directory = new TenantDirectory([{ id: 'keyed', ids: [{ k: 'key', v: 'k1' }] }, { id: 'claimed', ids: [{ k: 'claim', n: 'custom:team', v: 'x' }] }, DEFAULT]);
    expect(directory.match({} as APIGatewayProxyEvent)?.id).toBe('everyone');
    expect(directory.match({ requestContext: {} } as unknown as APIGatewayProxyEvent)?.id).toBe('everyone');
    expect(directory.match(event({}, {}))?.id).toBe('everyone');
  });

  test('a claim matches on its whole value; only cognito:groups is a list', () => {
    const directory = new TenantDirectory([{ id: 'alpha', ids: [{ k: 'claim', n: 'custom:team', v: 'alpha' }] }]);
    expect(directory.match(event({}, { claims: { 'custom:team': 'alpha' } }))?.id).toBe('alpha');
    expect(directory.match(event({}, { claims: { 'custom:team': 'alpha beta' } }))).toBeUndefined();
    expect(directory.match(event({}, { claims: { 'custom:team': '[alpha]' } }))).toBeUndefined();
  });

  test('cognito:groups loses only its enclosing brackets: brackets inside a group name stay', () => {
    const directory = new TenantDirectory([
      { id: 'open', ids: [{ k: 'claim', n: 'cognito:groups', v: 'a[b' }] },
      { id: 'close', ids: [{ k: 'claim', n: 'cognito:groups', v: 'x]y' }] },
    ]);
    expect(directory.match(event({}, { claims: { 'cognito:groups': 'a[b,c' } }))?.id).toBe('open');
    expect(directory.match(event({}, { claims: { 'cognito:groups': '[c x]y]' } }))?.id).toBe('close');
    expect(directory.match(event({}, { claims: { 'cognito:groups': 'ab,c' } }))).toBeUndefined();
  });

  test('a role without a path is a role too; session ARNs must be exactly a session of it', () => {
    const directory = new TenantDirectory([{ id: 'ops', ids: [{ k: 'role', v: 'arn:aws:iam::123456789012:role/Ops' }] }]);
    expect(directory.match(event({ userArn: 'arn:aws:sts::123456789012:assumed-role/Ops/alice' }))?.id).toBe('ops');
    expect(directory.match(event({ userArn: 'evil-arn:aws:sts::123456789012:assumed-role/Ops/alice' }))).toBeUndefined();
    expect(directory.match(event({ userArn: 'arn:aws:sts::123456789012:assumed-role/Ops/alice/more' }))).toBeUndefined();
    expect(directory.match(event({ userArn: 'arn:aws:sts::999999999999:assumed-role/Ops/alice' }))).toBeUndefined();
  });
});
