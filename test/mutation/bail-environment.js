// Jest environment for mutation runs (stryker.config.json): stops a mutant's
// run at its first failing test.
//
// Stryker turns Jest's `bail` off (Jest cannot bail when run programmatically),
// so a killed mutant would otherwise run every covering test to the end. Once
// a test or hook has failed under the active mutant, every later describe
// block (with its hooks) and test is skipped: the mutant is already killed,
// and a skipped test can never turn a failure into a pass. Outside a mutant
// run (the dry run, plain `jest`) nothing is skipped.
const { TestEnvironment } = require('jest-environment-node');

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';

// Per process: Stryker runs one mutant at a time in each worker, in band.
function runState() {
  const mutant = process.env[ACTIVE_MUTANT];
  if (mutant === undefined) return undefined;
  if (process.mutantBail?.mutant !== mutant) process.mutantBail = { mutant, failed: false };
  return process.mutantBail;
}

class BailOnFirstFailure extends TestEnvironment {
  async handleTestEvent(event) {
    const state = runState();
    if (!state) return;
    switch (event.name) {
      case 'test_done':
        if (event.test.errors.length > 0) state.failed = true;
        break;
      case 'hook_failure':
        state.failed = true;
        break;
      case 'run_describe_start':
        if (state.failed) event.describeBlock.mode = 'skip';
        break;
      case 'test_start':
        if (state.failed) event.test.mode = 'skip';
        break;
    }
  }
}

module.exports = BailOnFirstFailure;
