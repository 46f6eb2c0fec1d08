// The playground's speed in headless chromium (issue 22's targets: first prediction < 1 s after load, < 50 ms per
// keystroke), beside a reference measured in the same run: the same graph and outputs in onnxruntime-node.
//   node bench/playground/bench.mjs SITE [--rounds N] [--text TEXT] [--screenshot PNG]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encode, lookupTable } from '../../src/Visualization/Playground/tokenizer.js';

const args = process.argv.slice(2);
const site = resolve(args[0]);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const rounds = Number(option('--rounds', '5'));
const text = option('--text', 'christopher');
const screenshot = option('--screenshot', null);
const chromium = process.env.MLT_CHROMIUM || '/usr/bin/chromium';
const driver = new URL('../../tests/web/playground-browser.mjs', import.meta.url).pathname;

function browser(job) {
  const r = spawnSync('node', [driver], { input: JSON.stringify({ site, chromium, ...job }), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`browser driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

// Reference: onnxruntime-node, the same model.onnx, the same outputs the page asks for, the same prefixes.
const meta = JSON.parse(readFileSync(join(site, 'model.json'), 'utf8'));
const names = ['next_token_probabilities', ...meta.onnx.outputs.filter((n) => n.endsWith('attention'))];
const table = lookupTable(meta.vocabulary, meta.specialTokens);
const opts = { specialTokens: meta.specialTokens, normalize: meta.columns.normalize, lowerCase: meta.columns.lowerCase, maxLength: meta.config.maxLength };
const feed = (ids) => ({ tokens: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
const started = performance.now(); // native ONNX Runtime already loaded: the session and its first run
const session = await ort.InferenceSession.create(join(site, 'model.onnx'));
await session.run(feed(encode('', opts, table).ids), names);
const nodeFirstMs = performance.now() - started;
const nodeMs = [];
for (let round = 0; round < rounds; round++) {
  for (let n = 1; n <= [...text].length; n++) {
    const { ids } = encode([...text].slice(0, n).join(''), opts, table);
    const t0 = performance.now();
    await session.run(feed(ids), names);
    if (round > 0) nodeMs.push(performance.now() - t0); // round 0 warms up
  }
}

const first = [], loads = [], keys = [], warm = [];
for (let round = 0; round < rounds; round++) {
  const r = browser({ type: { text } });
  first.push(r.firstPredictionMs);
  loads.push(r.loadSteps.load);
  keys.push(...r.keystrokeMs);
  warm.push(browser({ cache: true, type: { text: text.slice(0, 1), warm: true } }).firstPredictionMs);
}
if (screenshot) browser({ screenshot: { path: resolve(screenshot), text: text.slice(0, 3), sample: 3 } });

const keyMedian = median(keys), nodeMedian = median(nodeMs);
console.log(`model: ${meta.name}, ${meta.parameters} parameters, max length ${meta.config.maxLength}; ${rounds} fresh loads typing '${text}'`);
console.log(`first prediction after navigation start (cold: fresh profile, no cache): median ${median(first).toFixed(0)} ms, max ${Math.max(...first).toFixed(0)} ms (target < 1000 ms)`);
console.log(`  of which the page's own load event: median ${median(loads).toFixed(0)} ms; first prediction after the load event: median ${median(first.map((f, i) => f - loads[i])).toFixed(0)} ms`);
console.log(`first prediction, returning visitor (second load, HTTP cache revalidated by ETag): median ${median(warm).toFixed(0)} ms, max ${Math.max(...warm).toFixed(0)} ms`);
console.log(`per keystroke (input event -> bars and heatmaps drawn): median ${keyMedian.toFixed(2)} ms, p95 ${quantile(keys, 0.95).toFixed(2)} ms, max ${Math.max(...keys).toFixed(2)} ms over ${keys.length} keystrokes (target < 50 ms)`);
console.log(`reference, onnxruntime-node in this run: session + first run ${nodeFirstMs.toFixed(0)} ms (browser first / node = ${(median(first) / nodeFirstMs).toFixed(1)}x); ` +
  `session.run of the same outputs, median ${nodeMedian.toFixed(2)} ms (browser keystroke / node run = ${(keyMedian / nodeMedian).toFixed(1)}x)`);
console.log(`load average during the run: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} CPUs`);
