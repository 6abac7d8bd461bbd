// Every test runs in a zone that is not UTC (UTC+14, where the local date
// differs from UTC's most of the day), so a day or month window that read
// the machine's local time instead of UTC would fail, whatever the zone of
// the machine running the suite. Set before jest starts its workers, which
// inherit it (a test file cannot change the zone of its own process).
// test/tenants/time-zones.test.ts runs the windows in UTC and other zones too.
module.exports = async () => {
  process.env.TZ = 'Pacific/Kiritimati';
};
