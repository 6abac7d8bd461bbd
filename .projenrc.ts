import { awscdk, javascript, JsonFile } from 'projen';

// The construct needs REST API response streaming (LambdaIntegration
// responseTransferMode), which arrived in aws-cdk-lib 2.230: that is the
// floor we promise consumers. We build and test against the newest release.
const MIN_CDK_VERSION = '2.230.0';
const TEST_CDK_VERSION = '2.276.0';

// The handler is bundled for the Lambda runtime (Node.js 22; runs on 24 too).
// `@aws-sdk/*` and the `@smithy/*` packages they are built on are provided by
// the runtime, so they stay out of the bundle.
const handlerBundling: javascript.BundlingOptions & Partial<javascript.AddBundleOptions> = {
  externals: ['@aws-sdk/*', '@smithy/*'],
  sourcemap: false,
  minify: true,
  target: 'node22',
  watchTask: false,
};

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-llm-gateway-router',
  description:
    'A governed, observable, residency-safe entry point to the AssemblyAI LLM Gateway: API Gateway + a streaming Lambda proxy with model allow-lists, EU data residency and global routing.',
  author: 'cdk-llm-gateway-router contributors',
  authorAddress: 'maintainers@cdk-llm-gateway-router.dev',
  repositoryUrl: 'https://github.com/cdk-llm-gateway-router/cdk-llm-gateway-router.git',
  keywords: ['cdk', 'awscdk', 'llm', 'assemblyai', 'llm-gateway', 'api-gateway', 'data-residency', 'openai'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // Experimental until the 1.0 API is settled; jsii-diff still fails CI on a break not listed in
  // api/allowed-breaking-changes.txt (see the api:diff task).
  stability: 'experimental',
  minNodeVersion: '20.0.0',

  cdkVersion: MIN_CDK_VERSION,
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  peerDependencyOptions: { pinnedDevDependency: false },

  lambdaOptions: {
    // nodejs24.x is the newest Lambda runtime; the bundle targets node22 so it also runs there.
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: handlerBundling,
    // The handler creates its own keep-alive agents; the SDK's own reuse
    // flag is on by default in SDK v3.
    awsSdkConnectionReuse: false,
  },

  // jsii targets: the module names other languages import.
  publishToPypi: {
    distName: 'cdk-llm-gateway-router',
    module: 'cdk_llm_gateway_router',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkllmgatewayrouter',
    mavenGroupId: 'io.github.cdk-llm-gateway-router',
    mavenArtifactId: 'cdk-llm-gateway-router',
    mavenServerId: 'central-ossrh',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkLlmGatewayRouter',
    packageId: 'CdkLlmGatewayRouter',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-llm-gateway-router/cdk-llm-gateway-router-go',
  },

  bin: { 'llm-gateway-router': 'lib/emulator/cli.js' },

  // Parses YAML tenants files (router.addTenantsFromFile, serve --tenants): bundled, as jsii requires of a
  // dependency that is not itself a jsii module.
  bundledDeps: ['yaml@^2.6.0'],

  devDeps: [
    `aws-cdk-lib@${TEST_CDK_VERSION}`,
    'constructs@^10.5.1',
    'cdk-nag@^3.0.2',
    // cdk-nag 2, side by side: the construct's acknowledgements must satisfy both majors.
    'cdk-nag-v2@npm:cdk-nag@^2.36.8',
    'fast-check@^4.3.0',
    // Checks tenants files against the JSON Schema that ships in the package (tenants.schema.json).
    'ajv@^8.17.1',
    'openai@^6.9.0',
    '@aws-lambda-powertools/metrics@^2.28.0',
    '@aws-sdk/client-secrets-manager@^3.900.0',
    '@types/aws-lambda@^8.10.150',
    'autocannon@^8.0.0',
    '@types/autocannon@^7.12.0',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@^2.197.10',
    // Tenant budgets live in DynamoDB; tests run the real SDK client against
    // dynalite, an implementation of the DynamoDB API started in-process.
    '@aws-sdk/client-dynamodb@^3.900.0',
    'dynalite@^4.0.0',
    // Breaking changes of the public API against the committed baseline (api/.baseline/).
    'jsii-diff@^1.134.0',
    // Guardrails (Amazon Bedrock ApplyGuardrail): the real client, over HTTP/1.1, against a local
    // server that speaks ApplyGuardrail's wire format. Both come from the Lambda runtime.
    '@aws-sdk/client-bedrock-runtime@^3.900.0',
    '@smithy/node-http-handler@^4.0.0',
    // Mutation testing (npm run mutation). Stryker 9: the last line that runs on Node 20.
    '@stryker-mutator/core@~9.5.1',
    '@stryker-mutator/jest-runner@~9.5.1',
    '@stryker-mutator/typescript-checker@~9.5.1',
  ],

  jestOptions: {
    // A changed snapshot must fail, never be rewritten silently.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      testTimeout: 30_000,
      // Day and month windows must not depend on the machine's zone: the suite runs in UTC+14 (test/support/time-zone.global-setup.js).
      globalSetup: '<rootDir>/test/support/time-zone.global-setup.js',
      // Benchmarks and examples are not tests.
      testPathIgnorePatterns: ['/node_modules/', '/bench/', '/examples/', '/lib/', '/dist/'],
    },
  },

  tsconfigDev: {
    include: ['../examples/**/*.ts', '../bench/**/*.ts'],
    compilerOptions: {},
  },

  gitignore: ['cdk.out/', '/bench/results/', '/.jsii-bindings/', '.jsii.tabl.json', 'test/cdk-integ.out.*', '*.tabl.json'],
});

// `npm run build` is the README's test command and what CI runs. projen's
// default `package` step packages every jsii language when CI is unset, and
// Java needs Maven Central, .NET and Go their own toolchains: a newcomer with
// only the npm registry would fail there. The build packages JavaScript only,
// CI or not; `npx projen package-all` (and the release workflow's per-language
// jobs) still build the other languages, and `npx projen bindings` checks them.
const packageTask = project.tasks.tryFind('package');
packageTask?.reset();
packageTask?.spawn(project.tasks.tryFind('package:js')!);

project.addPackageIgnore('/examples/');
project.addPackageIgnore('/bench/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('/scripts/');
project.addPackageIgnore('/rosetta/');
// The handler's libraries are bundled into its asset at build time (or, like
// the AWS SDK, provided by the Lambda runtime): build-time dependencies only.
project.eslint?.allowDevDeps('src/handler/**');
project.eslint?.allowDevDeps('bench/**');
project.eslint?.allowDevDeps('examples/**');

// examples/ and bench/ are type-checked and linted with the test settings.
for (const dir of ['examples', 'bench']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: { extends: '../test/tsconfig.json', include: ['**/*.ts'] },
  });
}
project.eslint?.addLintPattern('examples');
// Modules depend one way: construct -> contract <- handler, never in a circle.
project.eslint?.addRules({ 'import/no-cycle': ['error'] });
project.eslint?.addLintPattern('bench');

// Mutation testing (StrykerJS) of the security-critical files, configured in
// stryker.config.json: a standing guard that the tests catch a broken promise.
// Survivors judged equivalent are listed in test/mutation/equivalent-mutants.md.
// Not part of `build`: per-file run times are in README, Testing.
project.addTask('mutation', {
  description: 'Mutation testing of the security-critical files (report: reports/mutation/mutation.json and .html)',
  steps: [
    // Construct tests synthesize the handler's asset.
    { spawn: 'bundle' },
    { exec: 'stryker run' },
  ],
});
project.gitignore.exclude('/reports/', '.stryker-tmp/');
// The committed API baseline is an assembly too (projen ignores every .jsii).
project.gitignore.include('/api/.baseline/.jsii');
project.addPackageIgnore('/reports/');
project.addPackageIgnore('/.stryker-tmp/');
project.addPackageIgnore('/stryker.config.json');

// The README's "main job": synthesize the example platform app into cdk.out.
project.addTask('synth', {
  description: 'Synthesize the example platform app (a US and an EU router in one stack) into cdk.out',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project test/tsconfig.json examples/platform-app.ts' },
  ],
});

project.addTask('serve', {
  description: 'Run the router handler locally behind an API Gateway emulator (see README)',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project test/tsconfig.json src/emulator/cli.ts serve', receiveArgs: true },
  ],
});

// Docs in other languages: README and docstring examples must compile
// (jsii-rosetta --strict), and the Python API docs, README included, are
// translated from them rather than written by hand.
project.tasks.tryFind('docgen')?.exec('jsii-rosetta extract --strict');
project.tasks.tryFind('docgen')?.exec('jsii-docgen --language python --readme --output docs/API.python.md');

// The jsii bindings generate for every target and the Python compiles (scripts/bindings.sh).
project.addTask('bindings', {
  description: 'Generate Python, Java, .NET and Go bindings (code only) and byte-compile the Python',
  steps: [{ exec: 'bash scripts/bindings.sh' }],
});

// The public API against its committed baseline (api/.baseline/, the API as last released or
// settled): a break fails unless api/allowed-breaking-changes.txt lists it, experimental or not.
// A dot folder, because jsii-docgen globs the project for .jsii files and would otherwise
// document whichever of two same-named assemblies it found last.
// `api:baseline` records the current API as the new baseline (a release step).
project.addTask('api:diff', {
  description: 'Compare the public API with api/.baseline/; fail on a break not listed in api/allowed-breaking-changes.txt',
  steps: [{ exec: 'jsii-diff api/.baseline . --experimental-errors --ignore-file api/allowed-breaking-changes.txt' }],
});
project.addTask('api:baseline', {
  description: 'Record the compiled public API (.jsii) as the baseline that api:diff compares against',
  steps: [{ exec: 'bash scripts/api-baseline.sh' }],
});
project.addPackageIgnore('/api/');

// The peerDependency floor is a promise: synthesize on that exact version too.
project.addTask('compat:min-cdk', {
  description: `Synthesize routers with aws-cdk-lib ${MIN_CDK_VERSION} (the peer floor), from the compiled library`,
  steps: [{ exec: 'bash scripts/min-cdk-compat.sh' }],
});

// Integration tests: test/integ.router.ts is an @aws-cdk/integ-tests-alpha app
// with deploy-time HTTP assertions, runnable with integ-runner. Its templates
// are verified offline against committed jest snapshots (test/integ/).
project.addTask('integ:deploy', {
  description: 'Deploy the integration test and run its assertions (needs AWS credentials)',
  steps: [{ exec: 'integ-runner --directory test --language typescript --app "ts-node --project test/tsconfig.json {filePath}" --parallel-regions eu-central-1 --update-on-failed' }],
});

// The bundled model catalog is built from its seed listings by the code that
// `llm-gateway-router catalog fetch` runs (test/contract/bundled-catalog.test.ts
// fails when they differ).
project.addTask('catalog:bundled', {
  description: 'Rebuild src/contract/models.json from src/contract/seed/ (the documented-shape /v1/models listings)',
  steps: [{ exec: 'ts-node --project test/tsconfig.json test/contract/regenerate-bundled-catalog.ts' }],
});

// Benchmarks (see BENCHMARKS.md). Never timed assertions in the test suite:
// `bench:smoke` runs the default benchmarks with tiny counts in CI so they
// cannot rot; `npm run bench -- --deep` adds the diagnostics.
project.addTask('bench', {
  description: 'Run the benchmarks (added latency and its tail, streaming, cold start, synth, CPU and cost per request; --deep for diagnostics) and print results',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --transpile-only --project test/tsconfig.json bench/index.ts', receiveArgs: true },
  ],
});
project.addTask('bench:smoke', {
  description: 'Run the default benchmarks with tiny counts (CI keeps them working)',
  env: { BENCH_SMOKE: '1' },
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --transpile-only --project test/tsconfig.json bench/index.ts', receiveArgs: true },
  ],
});

project.synth();
