/**
 * Captures the JSON lines the handler writes to stdout and stderr (Powertools
 * EMF documents and log lines: warnings and errors go to stderr) so tests can
 * assert on them, and keeps them out of the test output.
 */
export class StdoutCapture {
  static install(): StdoutCapture {
    return new StdoutCapture();
  }

  readonly lines: string[] = [];
  private readonly originals = { stdout: process.stdout.write, stderr: process.stderr.write };

  private constructor() {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = process[name];
      const original = this.originals[name];
      const lines = this.lines;
      stream.write = function (this: NodeJS.WriteStream, chunk: any, ...rest: any[]): boolean {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        if (text.startsWith('{')) {
          lines.push(...text.split('\n').filter((l) => l.trim().length > 0));
          const cb = rest.find((r) => typeof r === 'function');
          if (cb) cb();
          return true;
        }
        return original.call(this, chunk, ...rest);
      } as typeof stream.write;
    }
  }

  /** Parsed JSON lines. */
  get records(): any[] {
    return this.lines.map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { unparsed: l };
      }
    });
  }

  /** EMF documents. */
  get emf(): any[] {
    return this.records.filter((r) => r._aws?.CloudWatchMetrics);
  }

  /** Per-request log lines. */
  get requestLogs(): any[] {
    return this.records.filter((r) => r.message === 'request');
  }

  clear(): void {
    this.lines.length = 0;
  }

  restore(): void {
    process.stdout.write = this.originals.stdout;
    process.stderr.write = this.originals.stderr;
  }
}
