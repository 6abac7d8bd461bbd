// Jest test sequencer for mutation runs (stryker.config.json): runs the
// fastest, most direct suites first. Stryker bails at the first failing
// suite, so a mutant killed by a unit test never waits for the slow
// end-to-end suites (Jest's default runs the slowest first).
const Sequencer = require('@jest/test-sequencer').default;

const ORDER = [
  'test/handler/mutation-gaps.test.ts',
  'test/handler/checks.test.ts',
  'test/handler/promises.test.ts',
  'test/handler/secret-provider.test.ts',
  'test/handler/request-policy.property.test.ts',
  'test/handler/hostile.property.test.ts',
  'test/handler/key-redaction.property.test.ts',
  'test/catalog/one-catalog.test.ts',
  'test/construct/validation.test.ts',
  'test/handler/upstream-faults.test.ts',
  'test/handler/relay-hardening.test.ts',
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

class FastestFirst extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }
}

module.exports = FastestFirst;
