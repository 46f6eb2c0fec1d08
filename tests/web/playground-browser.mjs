// Drives the playground in Debian's headless chromium (playwright-core, no downloaded browser) from its own static
// server on 127.0.0.1, which logs every request and stops when the run ends. Used by the C# tests (PlaygroundTests)
// and by ./build.sh bench-playground. Input: a JSON job on stdin; output: one JSON result on stdout.
//   { site, chromium, texts: [{text, source}], top, screenshot: {path, text, source, sample: seed}, type: {text, source},
//     sample: {text, source, temperature, topK, seed}, fileUrl: true, cache: false }
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };

const job = JSON.parse(await new Promise((resolve) => { let s = ''; process.stdin.on('data', (d) => { s += d; }); process.stdin.on('end', () => resolve(s)); }));
const served = [];
const server = createServer(async (req, res) => {
  served.push({ method: req.method, url: req.url, remote: req.socket.remoteAddress });
  try {
    const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    const file = normalize(join(job.site, path.endsWith('/') ? path + 'index.html' : path));
    const info = await stat(file).catch(() => null);
    if (!file.startsWith(normalize(job.site) + sep) || !info || !info.isFile()) throw new Error('not found');
    // Nothing is cached unless the job asks for a returning visitor (job.cache): then revalidated by ETag.
    const etag = `"${info.size}-${info.mtimeMs}"`;
    if (job.cache && req.headers['if-none-match'] === etag) { res.writeHead(304, { ETag: etag }).end(); return; }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': job.cache ? 'no-cache' : 'no-store', ETag: etag });
    res.end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

// The flags that work on these machines (no background networking, no QUIC, fresh profile from playwright).
const browser = await chromium.launch({
  executablePath: job.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars', '--force-device-scale-factor=1'],
});
const result = { origin, requests: [], predictions: [], console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('request', (r) => result.requests.push(r.url()));
  page.on('console', (m) => result.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => result.console.push(`pageerror: ${e.message}`));

  const url = (text, source, extra = '') =>
    `${origin}/index.html?text=${encodeURIComponent(text)}${source == null ? '' : `&source=${encodeURIComponent(source)}`}${extra}`;
  const settled = (text) => page.waitForFunction(
    (t) => document.body.dataset.errorCount !== '0' || (document.body.dataset.ready === 'true' && document.body.dataset.text === t),
    text, { timeout: 30000 });
  const state = () => page.evaluate(() => {
    const b = document.body.dataset;
    return {
      text: b.text, errors: b.errors, errorCount: Number(b.errorCount), truncated: b.truncated === 'true',
      firstPredictionMs: Number(b.firstPredictionMs), notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice').textContent,
      rows: Array.from(document.querySelectorAll('#top tr[data-token]'), (r) => ({ token: r.dataset.token, probability: Number(r.dataset.probability) })),
      heatmaps: document.querySelectorAll('#grid figure.hm').length,
      sections: Array.from(document.querySelectorAll('#sections button'), (b) => b.dataset.kind),
      sourceShown: !document.getElementById('source-field').hidden, source: b.source,
    };
  });

  for (const t of job.texts || []) {
    await page.goto(url(t.text, t.source, `&top=${job.top || 10}`));
    await settled(t.text);
    result.predictions.push({ ...t, ...(await state()) });
  }

  if (job.screenshot) {
    await page.goto(url(job.screenshot.text, job.screenshot.source));
    await settled(job.screenshot.text);
    if (job.screenshot.sample) {
      await page.fill('#seed', String(job.screenshot.sample));
      await page.click('#sample');
      await page.waitForFunction(() => document.body.dataset.sample !== undefined, null, { timeout: 30000 });
    }
    await page.screenshot({ path: job.screenshot.path, fullPage: true });
    result.screenshot = await state();
  }

  if (job.type) {
    // Fresh load (after one earlier visit when job.type.warm), then one key at a time, each waited for: first
    // prediction after navigation start and time per keystroke.
    if (job.type.warm) {
      await page.goto(url('', job.type.source));
      await settled('');
      await page.goto('about:blank');
    }
    await page.goto(url('', job.type.source));
    await settled('');
    result.firstPredictionMs = await page.evaluate(() => Number(document.body.dataset.firstPredictionMs));
    result.loadSteps = await page.evaluate(() => ({
      domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
      load: performance.getEntriesByType('navigation')[0].loadEventEnd,
      modelJson: Number(document.body.dataset.modelJsonMs), session: Number(document.body.dataset.sessionMs),
      resources: performance.getEntriesByType('resource').map((e) => [e.name.split('/').pop(), Math.round(e.startTime), Math.round(e.responseEnd)]) }));
    let typed = '';
    for (const ch of job.type.text) {
      typed += ch;
      await page.keyboard.type(ch);
      await settled(typed);
    }
    result.typed = await state();
    result.keystrokeMs = (await page.evaluate(() => window.playgroundTimings.slice(1)));
  }

  if (job.sample) {
    await page.goto(url(job.sample.text, job.sample.source));
    await settled(job.sample.text);
    const draw = async () => {
      await page.fill('#temperature', String(job.sample.temperature));
      await page.fill('#top-k', String(job.sample.topK));
      await page.fill('#seed', String(job.sample.seed));
      await page.evaluate(() => { delete document.body.dataset.sample; });
      await page.click('#sample');
      await page.waitForFunction(() => document.body.dataset.sample !== undefined || document.body.dataset.errorCount !== '0', null, { timeout: 30000 });
      return page.evaluate(() => document.body.dataset.sample);
    };
    result.samples = [await draw(), await draw()];
  }

  if (job.fileUrl) {
    await page.goto(`file://${join(job.site, 'index.html')}`);
    await page.waitForLoadState('load');
    result.fileUrl = await page.evaluate(() => ({
      protocol: document.body.dataset.protocol, ready: document.body.dataset.ready,
      moduleRan: window.playgroundTimings !== undefined, errors: document.body.dataset.errors,
      notice: document.getElementById('file-notice').hidden ? '' : document.getElementById('file-notice').textContent,
    }));
  }
} finally {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
}
result.served = served;
process.stdout.write(JSON.stringify(result));
