import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

/*
 * Budget windows are UTC calendar days and months whatever the zone of the
 * machine: the suite itself runs in UTC+14 (jest's global setup), and here
 * the ledger's window arithmetic runs in separate processes, one per zone,
 * UTC included (a process's zone is fixed by TZ when it starts).
 */

const ZONES = { 'UTC': 0, 'Pacific/Kiritimati': -840, 'America/St_Johns': 150, 'Pacific/Pago_Pago': 660 };

let script: string;
beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zones-'));
  const bundle = path.join(dir, 'ledger.js');
  buildSync({ entryPoints: [path.join(__dirname, '..', '..', 'src', 'handler', 'tenants', 'ledger.ts')], bundle: true, platform: 'node', outfile: bundle, external: ['@aws-sdk/*'], logLevel: 'silent' });
  script = `const { windowOf } = require(${JSON.stringify(bundle)});
    const at = (...a) => Date.UTC(...a);
    console.log(JSON.stringify({
      offset: new Date(at(2026, 8, 30, 23, 30)).getTimezoneOffset(),
      lastHourOfSeptember: windowOf(at(2026, 8, 30, 23, 30)),
      firstMinuteOfOctober: windowOf(at(2026, 9, 1, 0, 0)),
      newYearsEve: windowOf(at(2026, 11, 31, 23, 59, 59)),
    }));`;
});

test.each(Object.entries(ZONES))('in %s (offset %i minutes), windows are UTC days and months', (zone, offset) => {
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: zone }, encoding: 'utf8' }));
  expect(out).toEqual({
    offset,
    lastHourOfSeptember: { month: '2026-09', previousMonth: '2026-08', day: '30', monthEndsAt: 1790812800000, dayEndsAt: 1790812800000 },
    firstMinuteOfOctober: { month: '2026-10', previousMonth: '2026-09', day: '01', monthEndsAt: 1793491200000, dayEndsAt: 1790899200000 },
    newYearsEve: { month: '2026-12', previousMonth: '2026-11', day: '31', monthEndsAt: 1798761600000, dayEndsAt: 1798761600000 },
  });
});

test('the suite itself runs away from UTC', () => {
  expect(new Date(Date.UTC(2026, 8, 30, 23, 30)).getTimezoneOffset()).toBe(-840);
});
