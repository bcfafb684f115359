/* global process, console, setTimeout */
// Benchmark runner: `npm run bench` runs every bench module in this folder (files *.bench.mjs),
// `npm run bench -- throughput` only those whose name contains "throughput". Each module exports
// `name`, `description` and `run(log)` returning rows { metric, measured, target, pass, note? }.
// Benches start the built packages (dist) as separate processes, so run `npm run build` first.
// Knobs: BENCH_POINTER_RATE, BENCH_SECONDS (ack-to-purge), BENCH_PURGE_N (purge-throughput),
// BENCH_CAP_GROUPS, BENCH_CAP_ENDPOINTS, BENCH_CAP_FILES, BENCH_CAP_RECORDS, BENCH_CAP_DAY_SECONDS
// (capacity, docs/capacity.md), BENCH_CRYPTO_MIB, BENCH_CRYPTO_ROUNDS, BENCH_OPENSSL_SECONDS, BENCH_NODE22,
// BENCH_E3KIT_MIB, BENCH_E2E_MIB, BENCH_E2E_ROUNDS, BENCH_E2E_WARMUP_MIB, BENCH_RSS_MIB (0 skips)
// (large-file), BENCH_LIMITS_CALLS (limits), BENCH_TRACE=1 (progress lines), BENCH_CPU_PROF=<dir> (a V8 .cpuprofile per child process).
import { readdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The lockfile pins the AWS SDK; its notice about future Node versions is noise in bench output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.mjs')).sort();
const modules = [];
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  if (filters.length === 0 || filters.some((f) => mod.name.includes(f))) modules.push(mod);
}
if (modules.length === 0) {
  console.error(
    `no bench matches ${filters.join(', ')}; available: ${files.map((f) => f.replace('.bench.mjs', '')).join(', ')}`,
  );
  process.exit(2);
}

// The machine matters: say what it was and how busy it already was.
const cpu = cpus();
console.log(
  `${new Date().toISOString()}, Node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ` +
    `load average at start ${loadavg()[0].toFixed(2)}`,
);
const rows = [];
for (const mod of modules) {
  console.log(`\n== ${mod.name}: ${mod.description}`);
  const started = Date.now();
  try {
    for (const row of await mod.run((line) => console.log(`   ${line}`))) rows.push({ bench: mod.name, ...row });
  } catch (err) {
    rows.push({
      bench: mod.name,
      metric: 'run',
      measured: 'ERROR',
      target: '-',
      pass: false,
      note: String(err?.message ?? err),
    });
  }
  console.log(`   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const headers = ['bench', 'metric', 'measured', 'target', 'result'];
const table = rows.map((r) => [r.bench, r.metric, String(r.measured), r.target, r.pass ? 'MET' : 'MISSED']);
const widths = headers.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${line(headers)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));
for (const r of rows.filter((r) => !r.pass && r.note)) console.log(`\nMISSED ${r.bench} ${r.metric}: ${r.note}`);
// Missed targets are reported, not hidden; the exit code says whether every target was met.
process.exitCode = rows.every((r) => r.pass) ? 0 : 1;
// Some clients (twilio's agent, ioredis) keep sockets referenced after close on error paths.
setTimeout(() => process.exit(), 500).unref();
