// Preloaded into the coordinator by bench/fleet.bench.ts (NODE_OPTIONS=--require): measures the
// coordinator's own event-loop delay, which nothing inside it reports. Every 500 ms it writes the
// histogram since the last reset to GF_BENCH_LOOP_FILE; the bench resets it by creating
// `<file>.reset`. Bench only: the coordinator never loads it otherwise.
const { monitorEventLoopDelay } = require("node:perf_hooks");
const { existsSync, rmSync, writeFileSync } = require("node:fs");

const file = process.env.GF_BENCH_LOOP_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns) => Number((ns / 1e6).toFixed(2));
  setInterval(() => {
    if (existsSync(`${file}.reset`)) {
      rmSync(`${file}.reset`, { force: true });
      histogram.reset();
    }
    const figures = {
      count: histogram.count,
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
    };
    writeFileSync(file, JSON.stringify(figures));
  }, 500).unref();
}
