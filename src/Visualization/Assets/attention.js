/* Script of the offline attention viewer written by AttentionPage: reads the inline JSON in #attention-data and
   draws the head view, the attention matrix and the layer x head grid. Vanilla JS, no libraries, no network. */
(function () {
  'use strict';

  var PALETTE = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
  var MASKED = '#eceff3';
  var HEAD_COLORS = ['#2563eb', '#ea580c', '#16a34a', '#db2777', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626',
    '#475569', '#65a30d', '#c026d3', '#0d9488'];
  var LINE_MIN = 0.01; // head-view lines are drawn for weights >= LINE_MIN
  var KIND_LABEL = { decoder_self: 'Decoder self', encoder_self: 'Encoder self', cross: 'Cross' };
  var SIDE_LABEL = { decoder_self: ['queries', 'keys'], encoder_self: ['queries', 'keys'], cross: ['decoder', 'encoder'] };

  // The SVG namespace, taken from an element the HTML parser creates (keeps URLs out of the page).
  var probe = document.createElement('div');
  probe.innerHTML = '<svg></svg>';
  var SVG_NS = probe.firstChild.namespaceURI;

  var raw = JSON.parse(document.getElementById('attention-data').textContent);
  var sections = raw.sections.map(function (s) {
    return {
      kind: s.kind, q: s.queryTokens, k: s.keyTokens, L: s.layers, H: s.heads, w: s.weights,
      Tq: s.queryTokens.length, Tk: s.keyTokens.length
    };
  });
  var state = { s: 0, layer: 0, heads: [], focus: null };
  var tooltip = document.getElementById('tooltip');

  // ---- helpers -------------------------------------------------------------------------------------------------
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function cur() { return sections[state.s]; }
  function weight(s, l, h, q, k) { return s.w[((l * s.H + h) * s.Tq + q) * s.Tk + k]; }
  function isMasked(s, q, k, w) { return s.kind === 'decoder_self' && k > q && w === 0; }
  function headColor(h) { return HEAD_COLORS[h % HEAD_COLORS.length]; }
  function isSpecial(t) { return /^<[^<>\s]+>$/.test(t) || /^\[[A-Z_]+\]$/.test(t); }
  function fmt(w) { return w >= 0.995 ? '1.00' : w.toFixed(2).replace(/^0/, ''); }

  function displayToken(t) {
    if (t === '') { return '\u2205'; }
    var out = '';
    for (var i = 0; i < t.length; i++) {
      var c = t.charAt(i), code = t.charCodeAt(i);
      if (c === ' ') { out += '\u2423'; }
      else if (c === '\n') { out += '\u23ce'; }
      else if (c === '\t') { out += '\u21e5'; }
      else if (code < 32) { out += String.fromCharCode(0x2400 + code); }
      else if (code === 127) { out += '\u2421'; }
      else { out += c; }
    }
    return out.length > 14 ? out.slice(0, 13) + '\u2026' : out;
  }
  function maxChars(tokens) {
    var m = 1;
    tokens.forEach(function (t) { m = Math.max(m, displayToken(t).length); });
    return m;
  }

  var rgbStops = PALETTE.map(function (hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  });
  // Colour of a weight: sqrt scale so that small but real weights stay visible.
  function rampColor(w) {
    var t = Math.sqrt(clamp(w, 0, 1)) * (rgbStops.length - 1);
    var i = Math.min(rgbStops.length - 2, Math.floor(t)), f = t - i, a = rgbStops[i], b = rgbStops[i + 1];
    return 'rgb(' + Math.round(a[0] + (b[0] - a[0]) * f) + ',' + Math.round(a[1] + (b[1] - a[1]) * f) + ',' +
      Math.round(a[2] + (b[2] - a[2]) * f) + ')';
  }

  function html(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function svg(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) { return; }
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
  }

  function showTip(evt, lines) {
    tooltip.textContent = '';
    lines.forEach(function (line, i) {
      if (i > 0) { tooltip.appendChild(document.createTextNode('\n')); }
      line.forEach(function (part) {
        if (part.b) { html('b', null, tooltip, part.b); } else { tooltip.appendChild(document.createTextNode(part)); }
      });
    });
    tooltip.hidden = false;
    var x = evt.clientX + 14, y = evt.clientY + 14, r = tooltip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) { x = evt.clientX - r.width - 14; }
    if (y + r.height > window.innerHeight - 8) { y = evt.clientY - r.height - 14; }
    tooltip.style.left = x + 'px';
    tooltip.style.top = y + 'px';
  }
  function hideTip() { tooltip.hidden = true; }

  function visibleHeads() { return state.heads.slice().sort(function (a, b) { return a - b; }); }
  // Mean weight over the visible heads of the current layer.
  function meanWeight(s, q, k, heads) {
    var sum = 0;
    heads.forEach(function (h) { sum += weight(s, state.layer, h, q, k); });
    return heads.length ? sum / heads.length : 0;
  }

  // ---- state from the URL hash (#section=cross&layer=0&head=2, all 0-based) --------------------------------------
  function readHash() {
    var params = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (p) {
      var kv = p.split('=');
      if (kv[0]) { params[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || ''); }
    });
    sections.forEach(function (s, i) { if (s.kind === params.section) { state.s = i; } });
    var s = cur();
    var layer = parseInt(params.layer, 10);
    state.layer = layer >= 0 && layer < s.L ? layer : 0;
    var head = parseInt(params.head, 10);
    state.heads = head >= 0 && head < s.H ? [head] : allHeads(s);
    var focus = /^([qk]):(\d+)$/.exec(params.focus || '');
    if (focus && +focus[2] < (focus[1] === 'q' ? s.Tq : s.Tk)) { state.focus = { side: focus[1], index: +focus[2] }; }
  }
  function allHeads(s) { var a = []; for (var h = 0; h < s.H; h++) { a.push(h); } return a; }

  // ---- section tabs, layer buttons, head chips -------------------------------------------------------------------
  function renderTabs() {
    var box = document.getElementById('sections');
    box.textContent = '';
    sections.forEach(function (s, i) {
      var b = html('button', { type: 'button', 'class': 'tab', 'data-kind': s.kind, 'aria-pressed': i === state.s }, box);
      html('span', null, b, KIND_LABEL[s.kind] || s.kind);
      html('small', null, b, s.L + ' layers \u00b7 ' + s.H + ' heads \u00b7 ' + s.Tq + '\u00d7' + s.Tk);
      b.addEventListener('click', function () {
        if (state.s === i) { return; }
        state.s = i;
        state.layer = Math.min(state.layer, s.L - 1);
        state.heads = allHeads(s);
        state.focus = null;
        renderAll();
      });
    });
  }

  function renderLayers() {
    var box = document.getElementById('layers'), s = cur();
    box.textContent = '';
    for (var l = 0; l < s.L; l++) {
      (function (l) {
        var b = html('button', { type: 'button', 'class': 'seg', 'data-layer': l, 'aria-pressed': l === state.layer,
          title: 'Layer ' + (l + 1) }, box, String(l + 1));
        b.addEventListener('click', function () { state.layer = l; renderSelection(); });
      })(l);
    }
  }

  function renderHeads() {
    var box = document.getElementById('heads'), s = cur();
    box.textContent = '';
    var all = html('button', { type: 'button', 'class': 'chip all', title: 'Show every head' }, box, 'All');
    all.addEventListener('click', function () { state.heads = allHeads(s); renderSelection(); });
    for (var h = 0; h < s.H; h++) {
      (function (h) {
        var on = state.heads.indexOf(h) >= 0;
        var b = html('button', { type: 'button', 'class': 'chip', 'data-head': h, 'aria-pressed': on,
          style: '--c:' + headColor(h), title: 'Click: toggle head ' + (h + 1) + '. Double-click: only this head.' }, box);
        html('span', { 'class': 'dot' }, b);
        b.appendChild(document.createTextNode('Head ' + (h + 1)));
        b.addEventListener('click', function () {
          var i = state.heads.indexOf(h);
          if (i >= 0) { state.heads.splice(i, 1); } else { state.heads.push(h); }
          renderSelection();
        });
        b.addEventListener('dblclick', function () { state.heads = [h]; renderSelection(); });
      })(h);
    }
  }

  // ---- head view: two token columns joined by lines whose opacity is the weight -----------------------------------
  function renderHeadView() {
    var s = cur(), box = document.getElementById('head-view'), heads = visibleHeads();
    box.textContent = '';
    var n = Math.max(s.Tq, s.Tk);
    var rowH = n > 48 ? 14 : n > 28 ? 18 : n > 16 ? 22 : 26;
    var labW = clamp(Math.max(maxChars(s.q), maxChars(s.k)) * 8 + 20, 44, 150);
    var numW = 38, top = 28;
    var midW = clamp((box.clientWidth || 480) - 2 * (numW + labW) - 8, 180, 420);
    var xq = numW + labW, xk = xq + midW, width = xk + labW + numW;
    var height = top + n * rowH + 6;
    var root = svg('svg', { 'class': 'hv', width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', 'aria-label': 'Head view' }, box);
    var sides = SIDE_LABEL[s.kind] || ['queries', 'keys'];
    svg('text', { 'class': 'col-title', x: xq - 8, y: 12, 'text-anchor': 'end' }, root, sides[0]);
    svg('text', { 'class': 'col-title', x: xk + 8, y: 12 }, root, sides[1]);
    function rowY(i) { return top + i * rowH + rowH / 2; }

    var lines = svg('g', { 'class': 'lines' }, root);
    var drawn = 0;
    heads.forEach(function (h) {
      var color = headColor(h);
      for (var q = 0; q < s.Tq; q++) {
        for (var k = 0; k < s.Tk; k++) {
          var w = weight(s, state.layer, h, q, k);
          if (w < LINE_MIN) { continue; }
          svg('line', { 'class': 'att', 'data-head': h, 'data-q': q, 'data-k': k, x1: xq + 4, y1: rowY(q), x2: xk - 4,
            y2: rowY(k), stroke: color, 'stroke-opacity': Math.min(1, w).toFixed(3),
            'stroke-width': (1.2 + 2.4 * w).toFixed(2) }, lines);
          drawn++;
        }
      }
    });
    root.setAttribute('data-lines', drawn);
    document.body.dataset.lines = String(drawn);

    function tokenGroup(side, i, token) {
      var left = side === 'q';
      var g = svg('g', { 'class': 'tok' + (isSpecial(token) ? ' special' : ''), 'data-side': side, 'data-index': i,
        'data-token': token }, root);
      var y = rowY(i);
      svg('rect', { 'class': 'tok-bg', x: left ? numW : xk, y: y - rowH / 2 + 1, width: labW, height: rowH - 2, rx: 4 }, g);
      svg('text', { x: left ? xq - 8 : xk + 8, y: y, 'text-anchor': left ? 'end' : 'start' }, g, displayToken(token));
      svg('text', { 'class': 'tok-w', x: left ? numW - 6 : xk + labW + 6, y: y, 'text-anchor': left ? 'end' : 'start' }, g);
      g.addEventListener('mouseenter', function () { state.focus = { side: side, index: i }; applyFocus(); });
      g.addEventListener('mouseleave', function () { state.focus = null; applyFocus(); });
      return g;
    }
    s.q.forEach(function (t, i) { tokenGroup('q', i, t); });
    s.k.forEach(function (t, i) { tokenGroup('k', i, t); });
    applyFocus();
  }

  // Hovering a token keeps only its lines and tints the tokens on the other side by their mean weight.
  function applyFocus() {
    var s = cur(), root = document.querySelector('#head-view svg'), heads = visibleHeads();
    if (!root) { return; }
    var f = state.focus;
    document.body.dataset.focus = f ? f.side + ':' + f.index : '';
    root.classList.toggle('focusing', !!f);
    Array.prototype.forEach.call(root.querySelectorAll('line.att'), function (line) {
      var on = !!f && line.getAttribute(f.side === 'q' ? 'data-q' : 'data-k') === String(f.index);
      line.classList.toggle('on', on);
    });
    Array.prototype.forEach.call(root.querySelectorAll('g.tok'), function (g) {
      var side = g.getAttribute('data-side'), i = parseInt(g.getAttribute('data-index'), 10);
      var bg = g.querySelector('.tok-bg'), label = g.querySelector('text'), num = g.querySelector('.tok-w');
      g.classList.toggle('focused', !!f && f.side === side && f.index === i);
      if (!f || f.side === side) {
        bg.removeAttribute('style');
        label.removeAttribute('style');
        num.textContent = '';
        return;
      }
      var w = side === 'k' ? meanWeight(s, f.index, i, heads) : meanWeight(s, i, f.index, heads);
      bg.setAttribute('style', 'fill:' + rampColor(w));
      label.setAttribute('style', w > 0.3 ? 'fill:#ffffff' : '');
      num.textContent = w >= 0.005 ? fmt(w) : '';
    });
  }

  // ---- attention matrix of the selected layer (one head, or the mean of the visible heads) ------------------------
  function renderMatrix() {
    var s = cur(), box = document.getElementById('matrix'), heads = visibleHeads();
    var caption = document.getElementById('matrix-caption');
    box.textContent = '';
    if (!heads.length) {
      caption.textContent = 'Layer ' + (state.layer + 1);
      html('p', { 'class': 'empty' }, box, 'No head selected: pick one with the head buttons.');
      return;
    }
    caption.textContent = 'Layer ' + (state.layer + 1) + ' \u00b7 ' + (heads.length === 1
      ? 'head ' + (heads[0] + 1) : heads.length === s.H ? 'mean of all ' + s.H + ' heads'
        : 'mean of heads ' + heads.map(function (h) { return h + 1; }).join(', '));
    var n = Math.max(s.Tq, s.Tk), c = clamp(Math.floor(420 / n), 8, 40);
    var kChars = maxChars(s.k), rotate = kChars * 6.2 > c;
    var rowLab = clamp(maxChars(s.q) * 7 + 14, 24, 130);
    var colLab = rotate ? clamp(kChars * 6 + 14, 24, 110) : 20;
    var width = rowLab + s.Tk * c + 2, height = colLab + s.Tq * c + 2;
    var root = svg('svg', { 'class': 'mx', width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', 'aria-label': 'Attention matrix' }, box);
    var rowLabels = [], colLabels = [];
    s.q.forEach(function (t, q) {
      rowLabels.push(svg('text', { 'class': 'lab' + (isSpecial(t) ? ' special' : ''), 'data-token': t,
        x: rowLab - 6, y: colLab + q * c + c / 2, 'text-anchor': 'end', 'dominant-baseline': 'central' }, root,
        displayToken(t)));
    });
    s.k.forEach(function (t, k) {
      var x = rowLab + k * c + c / 2, y = colLab - 6;
      colLabels.push(svg('text', { 'class': 'lab' + (isSpecial(t) ? ' special' : ''), 'data-token': t, x: x, y: y,
        'text-anchor': rotate ? 'start' : 'middle', transform: rotate ? 'rotate(-60 ' + x + ' ' + y + ')' : '' },
        root, displayToken(t)));
    });
    var cells = svg('g', null, root);
    for (var q = 0; q < s.Tq; q++) {
      for (var k = 0; k < s.Tk; k++) {
        var w = meanWeight(s, q, k, heads);
        var masked = heads.every(function (h) { return isMasked(s, q, k, weight(s, state.layer, h, q, k)); });
        svg('rect', { 'class': 'cell', 'data-q': q, 'data-k': k, 'data-w': w.toFixed(4),
          x: rowLab + k * c, y: colLab + q * c, width: c - 1, height: c - 1, rx: c > 16 ? 2 : 0,
          fill: masked ? MASKED : rampColor(w) }, cells);
      }
    }
    cells.addEventListener('mousemove', function (evt) {
      var t = evt.target;
      if (!t.classList || !t.classList.contains('cell')) { return; }
      var q = +t.getAttribute('data-q'), k = +t.getAttribute('data-k');
      rowLabels.forEach(function (e, i) { e.classList.toggle('hot', i === q); });
      colLabels.forEach(function (e, i) { e.classList.toggle('hot', i === k); });
      showTip(evt, [[{ b: displayToken(s.q[q]) }, ' \u2192 ', { b: displayToken(s.k[k]) }],
        ['weight ' + (+t.getAttribute('data-w')).toFixed(3)]]);
    });
    cells.addEventListener('mouseleave', function () {
      rowLabels.concat(colLabels).forEach(function (e) { e.classList.remove('hot'); });
      hideTip();
    });
  }

  function renderScale() {
    var box = document.getElementById('scale');
    box.textContent = '';
    var item = html('span', { 'class': 'item scale' }, box);
    var stops = [];
    for (var i = 0; i <= 20; i++) { stops.push(rampColor((i / 20) * (i / 20))); }
    html('span', { 'class': 'bar', style: 'background:linear-gradient(to right,' + stops.join(',') + ')' }, item);
    var ticks = html('span', { 'class': 'ticks' }, item);
    [0, 0.05, 0.25, 0.5, 1].forEach(function (v) {
      html('span', { style: 'left:' + (Math.sqrt(v) * 100).toFixed(1) + '%' }, ticks, v === 0 ? '0' : String(v));
    });
    html('span', { 'class': 'item' }, box, 'weight (colour \u221d \u221aweight)');
    if (cur().kind === 'decoder_self') {
      var m = html('span', { 'class': 'item' }, box);
      html('span', { 'class': 'swatch', style: 'background:' + MASKED }, m);
      m.appendChild(document.createTextNode('masked (future)'));
    }
  }

  // ---- grid of every layer x head ----------------------------------------------------------------------------------
  function renderGrid() {
    var s = cur(), box = document.getElementById('grid');
    box.textContent = '';
    var n = Math.max(s.Tq, s.Tk), px = clamp(Math.floor(132 / n), 2, 16);
    var cw = s.Tk * px, ch = s.Tq * px, dpr = window.devicePixelRatio || 1;
    box.style.gridTemplateColumns = 'auto repeat(' + s.H + ', ' + (cw + 14) + 'px)';
    html('div', null, box);
    for (var h = 0; h < s.H; h++) {
      var head = html('div', { 'class': 'gh' }, box);
      html('span', { 'class': 'dot', style: 'background:' + headColor(h) }, head);
      head.appendChild(document.createTextNode('Head ' + (h + 1)));
    }
    for (var l = 0; l < s.L; l++) {
      html('div', { 'class': 'gl' }, box, 'Layer ' + (l + 1));
      for (h = 0; h < s.H; h++) {
        (function (l, h) {
          var fig = html('figure', { 'class': 'hm', 'data-layer': l, 'data-head': h, style: '--c:' + headColor(h),
            title: 'Layer ' + (l + 1) + ', head ' + (h + 1) }, box);
          var canvas = html('canvas', { width: Math.round(cw * dpr), height: Math.round(ch * dpr),
            style: 'width:' + cw + 'px;height:' + ch + 'px' }, fig);
          var ctx = canvas.getContext('2d');
          ctx.scale(dpr, dpr);
          for (var q = 0; q < s.Tq; q++) {
            for (var k = 0; k < s.Tk; k++) {
              var w = weight(s, l, h, q, k);
              ctx.fillStyle = isMasked(s, q, k, w) ? MASKED : rampColor(w);
              ctx.fillRect(k * px, q * px, px, px);
            }
          }
          canvas.addEventListener('mousemove', function (evt) {
            var r = canvas.getBoundingClientRect();
            var k = clamp(Math.floor((evt.clientX - r.left) / px), 0, s.Tk - 1);
            var q = clamp(Math.floor((evt.clientY - r.top) / px), 0, s.Tq - 1);
            showTip(evt, [['Layer ' + (l + 1) + ' \u00b7 head ' + (h + 1)],
              [{ b: displayToken(s.q[q]) }, ' \u2192 ', { b: displayToken(s.k[k]) }],
              ['weight ' + weight(s, l, h, q, k).toFixed(3)]]);
          });
          canvas.addEventListener('mouseleave', hideTip);
          fig.addEventListener('click', function () { state.layer = l; state.heads = [h]; renderSelection(); });
        })(l, h);
      }
    }
    markGrid();
  }

  function markGrid() {
    Array.prototype.forEach.call(document.querySelectorAll('#grid .hm'), function (fig) {
      var l = +fig.getAttribute('data-layer'), h = +fig.getAttribute('data-head');
      fig.classList.toggle('selected', l === state.layer && state.heads.indexOf(h) >= 0);
    });
  }

  // ---- orchestration -------------------------------------------------------------------------------------------------
  function stamp() {
    var s = cur(), b = document.body.dataset;
    b.section = s.kind;
    b.layers = String(s.L);
    b.heads = String(s.H);
    b.queryTokens = String(s.Tq);
    b.keyTokens = String(s.Tk);
    b.layer = String(state.layer);
    b.visibleHeads = visibleHeads().join(',');
  }

  function renderSelection() {
    renderLayers();
    renderHeads();
    renderHeadView();
    renderMatrix();
    markGrid();
    stamp();
  }

  function renderAll() {
    renderTabs();
    renderScale();
    renderGrid();
    renderSelection();
    var s = cur();
    document.getElementById('grid-caption').textContent = s.L + ' layers \u00d7 ' + s.H + ' heads \u00b7 rows are ' +
      (s.kind === 'cross' ? 'decoder queries, columns encoder keys' : 'queries, columns keys') +
      ' \u00b7 click a map to select it';
  }

  readHash();
  renderAll();
  document.body.dataset.ready = 'true';
})();
