// Script of the playground page: loads model.json and model.onnx into onnxruntime-web (WebAssembly, single thread),
// predicts the next character at every keystroke, draws the attention of every layer and head, samples
// continuations and shows the model card. ES module; the tokenizer is shared with Node (tokenizer.js).
import * as ort from './ort/ort.wasm.min.mjs';
import { encode, lookupTable } from './tokenizer.js';

const PALETTE = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
const HEAD_COLORS = ['#2563eb', '#ea580c', '#16a34a', '#db2777', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626',
  '#475569', '#65a30d', '#c026d3', '#0d9488'];
const SECTION_LABEL = { attention: 'Decoder self', encoder_attention: 'Encoder self', cross_attention: 'Cross' };

const $ = (id) => document.getElementById(id);
const body = document.body;
const params = new URLSearchParams(location.search);
/** Milliseconds from each prediction's request (a keystroke) to its drawn result, in order; read by the benchmark. */
const timings = [];
window.playgroundTimings = timings;

// ---- helpers ---------------------------------------------------------------------------------------------------
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const headColor = (h) => HEAD_COLORS[h % HEAD_COLORS.length];
const isSpecial = (t) => /^<[^<>\s]+>$/.test(t);
function displayToken(t) {
  if (t === ' ') return '\u2423';
  if (t === '\n') return '\u23ce';
  if (t === '\t') return '\u21e5';
  const c = t.codePointAt(0);
  if (t.length === 1 && c < 32) return String.fromCharCode(0x2400 + c);
  return t;
}
const rgbStops = PALETTE.map((hex) => { const n = parseInt(hex.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; });
function rampColor(w) { // sqrt scale, as the attention page
  const t = Math.sqrt(clamp(w, 0, 1)) * (rgbStops.length - 1);
  const i = Math.min(rgbStops.length - 2, Math.floor(t)), f = t - i, a = rgbStops[i], b = rgbStops[i + 1];
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)},${Math.round(a[1] + (b[1] - a[1]) * f)},${Math.round(a[2] + (b[2] - a[2]) * f)})`;
}
// The ramp at 1024 steps as little-endian RGBA words for ImageData (every browser this page runs in is little-endian).
const toPixel = ([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
const RAMP_PIXELS = Uint32Array.from({ length: 1024 }, (_, i) => toPixel(rampColor(i / 1023).match(/\d+/g).map(Number)));
const MASKED_PIXEL = toPixel([0xec, 0xef, 0xf3]); // #eceff3, the attention page's masked (future) cells

function el(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
const probe = document.createElement('div');
probe.innerHTML = '<svg></svg>';
const SVG_NS = probe.firstChild.namespaceURI; // keeps URLs out of the page

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state advanced by 0x6D2B79F5 and mixed by two multiply-xorshift
 * rounds; returns floats in [0, 1). The same seed gives the same samples in every browser and in Node.
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the model ---------------------------------------------------------------------------------------------------
let model, session, table, sourceTable, topCount;
let section = 'attention';
let last = null; // the last prediction drawn: { text, source, ids, sourceIds, outputs }

async function load() {
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.numThreads = 1; // no cross-origin isolation on a plain static server
  ort.env.wasm.proxy = false;
  // The session (WebAssembly download and compile, then the graph) and model.json load side by side.
  const sessionReady = ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })
    .then((s) => { body.dataset.sessionMs = performance.now().toFixed(1); return s; });
  const response = await fetch('model.json');
  if (!response.ok) throw new Error(`model.json: HTTP ${response.status}`);
  model = await response.json();
  body.dataset.modelJsonMs = performance.now().toFixed(1);
  table = lookupTable(model.vocabulary, model.specialTokens);
  if (model.sourceVocabulary) sourceTable = lookupTable(model.sourceVocabulary, model.specialTokens);
  topCount = clamp(parseInt(params.get('top') || '10', 10) || 10, 1, model.vocabulary.length);
  session = await sessionReady;
}

/** The tokenizer's settings for this model (text and source rows share them). */
function options() {
  return { specialTokens: model.specialTokens, normalize: model.columns.normalize, lowerCase: model.columns.lowerCase, maxLength: model.config.maxLength };
}

/** Runs the graph on one text (and source); `names` picks the outputs. */
async function run(text, source, names) {
  const t = encode(text, options(), table, false);
  const feeds = { tokens: new ort.Tensor('int64', BigInt64Array.from(t.ids, BigInt), [1, t.ids.length]) };
  let s = null;
  if (model.columns.source !== null) {
    s = encode(source, options(), sourceTable, true);
    feeds.source = new ort.Tensor('int64', BigInt64Array.from(s.ids, BigInt), [1, s.ids.length]);
  }
  const outputs = await session.run(feeds, names);
  return { text, source, ids: t.ids, dropped: t.dropped, sourceIds: s && s.ids, sourceDropped: s ? s.dropped : 0, outputs };
}

function attentionNames() {
  return model.onnx.outputs.filter((n) => n in SECTION_LABEL);
}

// ---- drawing -----------------------------------------------------------------------------------------------------
function drawTop(p) {
  const rows = Array.from(p, (v, i) => [i, v]).sort((a, b) => b[1] - a[1]).slice(0, topCount);
  const tbody = $('top').tBodies[0];
  tbody.textContent = '';
  const max = rows.length ? rows[0][1] : 1;
  for (const [id, prob] of rows) {
    const token = model.vocabulary[id];
    const tr = el('tr', { class: 'row', 'data-token': token, 'data-probability': String(prob) }, tbody);
    el('td', { class: 'tok' + (isSpecial(token) ? ' special' : ''), title: `id ${id}` }, tr, displayToken(token));
    const bar = el('div', { class: 'bar' }, el('td', { class: 'bar-cell' }, tr));
    bar.style.width = `${(100 * prob / Math.max(max, 1e-12)).toFixed(2)}%`;
    el('td', { class: 'p' }, tr, `${(100 * prob).toFixed(2)}%`);
  }
  $('top-caption').textContent = `top ${rows.length} of ${model.vocabulary.length} tokens`;
}

function tokensOf(ids, vocabulary) { return ids.map((i) => vocabulary[i]); }

function drawTabs() {
  const nav = $('sections');
  nav.textContent = '';
  const names = attentionNames();
  if (names.length < 2) return;
  for (const n of names) {
    const b = el('button', { type: 'button', class: 'tab', 'data-kind': n, 'aria-pressed': String(n === section) }, nav, SECTION_LABEL[n]);
    b.addEventListener('click', () => { section = n; drawTabs(); drawAttention(last); });
  }
}

function drawAttention(r) {
  const box = $('grid');
  box.textContent = '';
  const tensor = r.outputs[section];
  if (!tensor) return;
  const [, L, H, Tq, Tk] = tensor.dims;
  const w = tensor.data;
  const target = tokensOf(r.ids, model.vocabulary);
  const src = r.sourceIds ? tokensOf(r.sourceIds, model.sourceVocabulary) : target;
  const q = section === 'encoder_attention' ? src : target;
  const k = section === 'attention' ? target : src;
  const px = clamp(Math.floor(132 / Math.max(Tq, Tk)), 2, 16);
  const cw = Tk * px, ch = Tq * px;
  box.style.gridTemplateColumns = `auto repeat(${H}, ${cw + 14}px)`;
  el('div', null, box);
  for (let h = 0; h < H; h++) {
    const head = el('div', { class: 'gh' }, box);
    el('span', { class: 'dot', style: `background:${headColor(h)}` }, head);
    head.appendChild(document.createTextNode(`Head ${h + 1}`));
  }
  const causal = section === 'attention' || model.columns.source === null;
  for (let l = 0; l < L; l++) {
    el('div', { class: 'gl' }, box, `Layer ${l + 1}`);
    for (let h = 0; h < H; h++) {
      const fig = el('figure', { class: 'hm', 'data-layer': l, 'data-head': h, style: `--c:${headColor(h)}`, title: `Layer ${l + 1}, head ${h + 1}` }, box);
      // One pixel per weight, scaled up by CSS (image-rendering: pixelated): a colour table instead of T^2 fillRects.
      const canvas = el('canvas', { width: Tk, height: Tq, style: `width:${cw}px;height:${ch}px` }, fig);
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(Tk, Tq);
      const pixels = new Uint32Array(image.data.buffer);
      const base = (l * H + h) * Tq * Tk;
      for (let i = 0; i < Tq; i++) {
        for (let j = 0; j < Tk; j++) {
          const v = w[base + i * Tk + j];
          pixels[i * Tk + j] = causal && j > i && v === 0 ? MASKED_PIXEL : RAMP_PIXELS[Math.round(clamp(v, 0, 1) * 1023)];
        }
      }
      ctx.putImageData(image, 0, 0);
      canvas.addEventListener('mousemove', (evt) => {
        const rect = canvas.getBoundingClientRect();
        const j = clamp(Math.floor((evt.clientX - rect.left) / px), 0, Tk - 1), i = clamp(Math.floor((evt.clientY - rect.top) / px), 0, Tq - 1);
        canvas.title = `${displayToken(q[i])} \u2192 ${displayToken(k[j])}: ${w[base + i * Tk + j].toFixed(3)}`;
      });
    }
  }
  $('attention-caption').textContent = `${SECTION_LABEL[section]} attention, ${L} layer(s) \u00d7 ${H} head(s); rows: ${q.map(displayToken).join(' ')}`;
}

function drawNotice(r) {
  const n = $('notice');
  const max = model.config.maxLength;
  const parts = [];
  if (r.dropped > 0) {
    parts.push(`The text is longer than this model's maximum: it reads at most ${max - 1} characters after <BOS> ` +
      `(maximum length ${max}); the last ${r.dropped} character(s) are left out, as \`score\` does.`);
  }
  if (r.sourceDropped > 0) {
    parts.push(`The source is longer than the maximum length ${max} (with <BOS> and <EOS>): it is cut, as \`score\` does.`);
  }
  n.textContent = parts.join(' ');
  n.hidden = parts.length === 0;
  body.dataset.truncated = String(r.dropped > 0 || r.sourceDropped > 0);
}

// ---- predictions at every keystroke -------------------------------------------------------------------------------
let busy = false, pending = null;

/** Asks for a prediction of the current input; requests made while one runs collapse into the latest. */
function request(started) {
  pending = { text: $('text').value, source: $('source').value, started };
  if (!busy) pump();
}

async function pump() {
  busy = true;
  try {
    while (pending) {
      const job = pending;
      pending = null;
      const r = await run(job.text, job.source, ['next_token_probabilities', ...attentionNames()]);
      last = r;
      drawTop(r.outputs.next_token_probabilities.data);
      drawNotice(r);
      drawAttention(r);
      const ms = performance.now() - job.started;
      timings.push(ms);
      const count = Number(body.dataset.predictionCount) + 1;
      body.dataset.predictionCount = String(count);
      body.dataset.lastUpdateMs = ms.toFixed(2);
      body.dataset.text = r.text;
      body.dataset.source = r.source;
      if (count === 1) body.dataset.firstPredictionMs = performance.now().toFixed(1);
      body.dataset.ready = 'true';
    }
  } catch (e) {
    window.playgroundError(e && e.message ? e.message : e);
  } finally {
    busy = false;
  }
}

// ---- sampling ----------------------------------------------------------------------------------------------------
/** One draw from `p` as TextGenerator does: no <PAD> or <BOS>, temperature 0 = argmax, p^(1/T), the top k only. */
function draw(p, temperature, k, random) {
  const w = Float64Array.from(p);
  w[model.specialTokens.pad] = 0;
  if (model.specialTokens.bos >= 0) w[model.specialTokens.bos] = 0;
  if (temperature === 0) { let best = 0; for (let i = 1; i < w.length; i++) if (w[i] > w[best]) best = i; return best; }
  for (let i = 0; i < w.length; i++) w[i] = w[i] <= 0 ? 0 : Math.pow(w[i], 1 / temperature);
  if (k > 0 && k < w.length) {
    const ranked = Array.from(w.keys()).sort((a, b) => w[b] - w[a] || a - b);
    for (const i of ranked.slice(k)) w[i] = 0;
  }
  let total = 0;
  for (const v of w) total += v;
  let u = random() * total;
  for (let i = 0; i < w.length; i++) { u -= w[i]; if (u < 0 && w[i] > 0) return i; }
  for (let i = w.length - 1; i >= 0; i--) if (w[i] > 0) return i;
  return model.specialTokens.eos;
}

async function sample() {
  const temperature = Math.max(0, Number($('temperature').value) || 0);
  const k = Math.max(0, Math.floor(Number($('top-k').value) || 0));
  const seed = Math.floor(Number($('seed').value) || 0);
  const random = mulberry32(seed);
  const prefix = $('text').value, source = $('source').value;
  let text = prefix;
  for (let step = 0; step < model.config.maxLength; step++) {
    const r = await run(text, source, ['next_token_probabilities']);
    if (r.ids.length >= model.config.maxLength) break;
    const id = draw(r.outputs.next_token_probabilities.data, temperature, k, random);
    if (id === model.specialTokens.eos) break;
    text += id === model.specialTokens.unk ? '\ufffd' : model.vocabulary[id];
  }
  const out = $('sample-out');
  out.textContent = '';
  el('span', { class: 'prefix' }, out, prefix);
  el('span', { class: 'gen' }, out, text.slice(prefix.length));
  out.dataset.sample = text;
  body.dataset.sample = text;
}

// ---- model card --------------------------------------------------------------------------------------------------
function drawCard() {
  const c = model.config, dl = $('card');
  const rows = [
    ['Kind', c.kind === 'encoderDecoder' ? (model.columns.source !== null ? 'encoder-decoder with a source column' : 'encoder-decoder (single column)') : 'decoder-only'],
    ['Parameters', model.parameters.toLocaleString('en-US')],
    ['Layers', c.kind === 'encoderDecoder' ? `${c.layers} decoder + ${c.encoderLayers} encoder` : String(c.layers)],
    ['Heads', String(c.heads)], ['d_model', String(c.modelDim)], ['Feed-forward', String(c.feedForwardDim)],
    ['Norm', c.normFirst ? 'Pre-LN' : 'Post-LN'], ['Activation', String(c.activation)], ['Dropout (training)', String(c.dropout)],
    ['Maximum length', `${c.maxLength} tokens, <BOS> included`], ['Vocabulary', `${model.vocabulary.length} tokens`],
    ['Text column', model.columns.text + (model.columns.source !== null ? `, source column ${model.columns.source}` : '')],
    ['Preprocessing', `${model.columns.normalize ? 'NFC' : 'no normalisation'}, ${model.columns.lowerCase ? 'lower-cased' : 'case kept'}`],
    ['Trained on', model.columns.trainedOn],
  ];
  if (model.ensemble) rows.splice(1, 0, ['Ensemble', `${model.ensemble} members (mean of probabilities; attention of member 1)`]);
  for (const [k, v] of rows) { el('dt', null, dl, k); el('dd', null, dl, v); }
  $('card-caption').textContent = model.name;
  drawCurve(model.training);
}

function drawCurve(training) {
  const box = $('curve');
  if (!training || training.epochs.length === 0) { el('p', { class: 'caption' }, box, 'No training record in this model file.'); return; }
  const W = 420, Hh = 200, m = { l: 44, r: 12, t: 12, b: 30 };
  const e = training.epochs;
  const values = e.flatMap((x) => [x.trainLoss, x.validationLoss]).filter((v) => v !== null && Number.isFinite(v));
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  const x = (i) => m.l + (e.length === 1 ? 0 : (i / (e.length - 1)) * (W - m.l - m.r));
  const y = (v) => m.t + (1 - (v - lo) / span) * (Hh - m.t - m.b);
  const svg = svgEl('svg', { width: W, height: Hh, viewBox: `0 0 ${W} ${Hh}`, role: 'img', 'aria-label': 'Training and validation loss per epoch' }, box);
  svgEl('line', { class: 'axis', x1: m.l, y1: Hh - m.b, x2: W - m.r, y2: Hh - m.b }, svg);
  svgEl('line', { class: 'axis', x1: m.l, y1: m.t, x2: m.l, y2: Hh - m.b }, svg);
  for (const v of [lo, (lo + hi) / 2, hi]) {
    const t = svgEl('text', { x: m.l - 6, y: y(v) + 3, 'text-anchor': 'end' }, svg); t.textContent = v.toFixed(2);
  }
  const xl = svgEl('text', { x: (W + m.l) / 2, y: Hh - 8, 'text-anchor': 'middle' }, svg);
  xl.textContent = `epoch 1\u2013${e.length}, loss in nats/char`;
  const series = [['trainLoss', '#2563eb', 'train'], ['validationLoss', '#ea580c', 'validation']];
  series.forEach(([key, color, label], n) => {
    const pts = e.map((p, i) => (p[key] === null ? null : `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`)).filter(Boolean);
    if (pts.length === 0) return;
    svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, class: `series ${label}` }, svg);
    const t = svgEl('text', { x: W - m.r - 4, y: m.t + 10 + n * 14, 'text-anchor': 'end', style: `fill:${color}` }, svg);
    t.textContent = label;
  });
}

// ---- start -------------------------------------------------------------------------------------------------------
async function main() {
  await load();
  const c = model.config;
  document.title = `Playground \u00b7 ${model.name}`;
  $('title').textContent = `Playground \u00b7 ${model.name}`;
  $('subtitle').textContent = `${c.kind === 'encoderDecoder' ? 'Encoder-decoder' : 'Decoder-only'}, ${c.layers} layer(s) \u00d7 ${c.heads} head(s), d_model ${c.modelDim}, ` +
    `${model.parameters.toLocaleString('en-US')} parameters; the next character is predicted at every keystroke.`;
  $('text-label').textContent = model.columns.text;
  if (model.columns.source !== null) {
    $('source-field').hidden = false;
    $('source-label').textContent = model.columns.source;
    $('source').value = params.get('source') || '';
    $('source').addEventListener('input', () => request(performance.now()));
  }
  const input = $('text');
  input.value = params.get('text') || '';
  input.disabled = false;
  input.addEventListener('input', () => request(performance.now()));
  $('sample').disabled = false;
  $('sample').addEventListener('click', () => sample().catch((e) => window.playgroundError(e.message || e)));
  drawCard();
  drawTabs();
  request(performance.now());
  input.focus();
}

main().catch((e) => window.playgroundError(e && e.message ? e.message : e));
