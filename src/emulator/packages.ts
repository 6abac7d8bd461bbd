/**
 * The packages a `serve` flag needs that are not installed (the library
 * does not depend on them: a deployed router gets the AWS SDK from Lambda),
 * as one message with the one command that installs them all.
 */
export function missingPackages(flag: string, names: readonly string[], resolve: (name: string) => unknown = require.resolve): string | undefined {
  const missing = names.filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  return `${flag} needs ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed: run \`npm install --save-dev ${missing.join(' ')}\``;
}
