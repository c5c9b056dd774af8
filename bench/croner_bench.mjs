// croner_bench.mjs - the same cases as bench/cron_bench.c, on croner (npm),
// for the comparison in the README.  (cd bench && npm install) first.
//   node bench/croner_bench.mjs [seconds-per-case]
import { Cron } from './node_modules/croner/dist/croner.js';

const secs = Number(process.argv[2] ?? 1);
const exprs = ['*/5 * * * * *', '0 0 2 * * *', '0 0 0 29 2 *', '0 30 2 * * *'];
const start = new Date('2026-01-01T00:00:00Z');

for (const tz of ['UTC', 'America/New_York'])
  for (const expr of exprs) {
    const job = new Cron(expr, { timezone: tz, paused: true });
    let t = start, ops = 0;
    const t0 = performance.now();
    let t1;
    do {
      for (let k = 0; k < 1000; k++) {
        t = job.nextRun(t) ?? start;
        if ((ops + k) % 65536 === 65535) t = start; // as the C bench does
      }
      ops += 1000;
      t1 = performance.now();
    } while (t1 - t0 < secs * 1000);
    console.log(`croner next expr="${expr}" tz=${tz} ops_per_sec=${Math.round(ops / ((t1 - t0) / 1000))}`);
  }
{
  let ops = 0;
  const t0 = performance.now();
  let t1;
  do {
    for (let k = 0; k < 1000; k++) new Cron(exprs[k & 3], { paused: true });
    ops += 1000;
    t1 = performance.now();
  } while (t1 - t0 < secs * 1000);
  console.log(`croner parse ops_per_sec=${Math.round(ops / ((t1 - t0) / 1000))}`);
}
