// Setup file for mutation runs (stryker.config.json): a failing property has
// already killed its mutant, so fast-check reports the first counterexample
// instead of shrinking it, which can take longer than the run itself.
require('fast-check').configureGlobal({ endOnFailure: true });
