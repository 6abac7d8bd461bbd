// Jest test sequencer for mutation runs (stryker.config.json).
//
// Order: the fastest, most direct suites first. Stryker bails at the first
// failing suite, so a mutant killed by a unit test never waits for the slow
// end-to-end suites (Jest's default runs the slowest first).
//
// Selection: for a mutant, Stryker passes the ids of the tests that cover it
// as Jest's testNamePattern, but Jest still loads every related suite to find
// them, and loading dominates a mutant's run. A Jest test id starts with its
// top-level describe (or test) title, so a suite none of whose top-level
// titles appears in the pattern has no test to run and is left out. A suite
// whose titles cannot be read is kept: a mistake here can only run more
// tests, never hide a killing one.
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

const ORDER = [
  'test/handler/policy-rejections.test.ts',
  'test/handler/upstream-unit.test.ts',
  'test/handler/relay-unit.test.ts',
  'test/handler/sse.test.ts',
  'test/handler/egress.test.ts',
  'test/contract/catalog-build.test.ts',
  'test/contract/catalog-fetch-unit.test.ts',
  'test/handler/errors.test.ts',
  'test/handler/config.test.ts',
  'test/handler/key-cache.test.ts',
  'test/handler/policy.test.ts',
  'test/handler/upstream-answers.test.ts',
  'test/handler/app.test.ts',
  'test/handler/secret-provider.test.ts',
  'test/handler/request-policy.property.test.ts',
  'test/handler/hostile.property.test.ts',
  'test/handler/key-redaction.property.test.ts',
  'test/contract/rules.test.ts',
  'test/contract/one-catalog.test.ts',
  'test/construct/validation-tokens.test.ts',
  'test/construct/authorization.test.ts',
  'test/construct/validation.test.ts',
  'test/handler/upstream-faults.test.ts',
  'test/handler/relay.test.ts',
  'test/handler/openai-client.test.ts',
  'test/handler/observability.test.ts',
  'test/handler/streaming.test.ts',
  'test/construct/secret-policy.test.ts',
  'test/construct/router.test.ts',
  'test/construct/deployment.test.ts',
];

function rank(path) {
  const at = ORDER.findIndex((suffix) => path.endsWith(suffix));
  return at === -1 ? ORDER.length : at;
}

/** The literal titles of a suite's top-level describe() and test() blocks. */
function topLevelTitles(path) {
  const titles = [];
  const block = /^(?:describe|test|it)\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/gm;
  for (const m of readFileSync(path, 'utf8').matchAll(block)) {
    const raw = m[1] === '`' ? m[2].split('${')[0] : m[2];
    titles.push(raw.replace(/\\(.)/g, '$1'));
  }
  return titles;
}

/** Stryker joins escaped test ids as (id1)|(id2); undo the escaping to search it as text. */
function unescapePattern(pattern) {
  return pattern.replace(/\\([.*+?^${}()|[\]\\/-])/g, '$1');
}

class FastestFirst extends Sequencer {
  constructor(options) {
    super(options);
    const pattern = options?.globalConfig?.testNamePattern;
    this.names = pattern ? unescapePattern(pattern) : undefined;
  }

  sort(tests) {
    const selected = this.names === undefined ? tests : tests.filter((t) => this.mayHold(t.path));
    return [...selected].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }

  mayHold(path) {
    const titles = topLevelTitles(path).filter((t) => t.length > 0);
    return titles.length === 0 || titles.some((t) => this.names.includes(t));
  }
}

module.exports = FastestFirst;
