// fieldmesh dashboard client: keeps a server-rendered page live over one WebSocket.
// Server → page: {t:"patch", regions:{id: html}} replaces [data-region=id]; binary frames
// carry waterfall rows ('W') and measurement samples ('M') for the sensor panels in view.
// Page → server: visibility/focus, which panels are in view, clicks and form submits.
(() => {
  'use strict';
  const live = document.body.dataset.live;
  const conn = document.getElementById('conn');
  const state = { patches: 0, lastLatencyMs: null, connected: false, rows: 0, samples: 0 };
  window.fieldmesh = state;
  let ws = null;
  let retry = 0;

  // ---- colormaps: 256-entry lookup tables from published polynomial fits ----
  const FITS = {
    viridis: [[0.2777273272234177, 0.005407344544966578, 0.3340998053353061], [0.1050930431085774, 1.404613529898575, 1.384590162594685], [-0.3308618287255563, 0.214847559468213, 0.09509516302823659], [-4.634230498983486, -5.799100973351585, -19.33244095627987], [6.228269936347081, 14.17993336680509, 56.69055260068105], [4.776384997670288, -13.74514537774601, -65.35303263337234], [-5.435455855934631, 4.645852612178535, 26.3124352495832]],
    plasma: [[0.05873234392399702, 0.02333670892565664, 0.5433401826748754], [2.176514634195958, 0.2383834171260182, 0.7539604599784036], [-2.689460476458034, -7.455851135738909, 3.110799939717086], [6.130348345893603, 42.3461881477227, -28.51885465332158], [-11.10743619062271, -82.66631109428045, 60.13984767418263], [10.02306557647065, 71.41361770095349, -54.07218655560067], [-3.658713842777788, -22.93153465461149, 18.19190778539828]],
    inferno: [[0.0002189403691192265, 0.001651004631001012, -0.01948089843709184], [0.1065134194856116, 0.5639564367884091, 3.932712388889277], [11.60249308247187, -3.972853965665698, -15.9423941062914], [-41.70399613139459, 17.43639888205313, 44.35414519872813], [77.162935699427, -33.40235894210092, -81.80730925738993], [-71.31942824499214, 32.62606426397723, 73.20951985803202], [25.13112622477341, -12.24266895238567, -23.07032500287172]],
    magma: [[-0.002136485053939582, -0.000749655052795221, -0.005386127855323933], [0.2516605407371642, 0.6775232436837668, 2.494026599312351], [8.353717279216625, -3.577719514958484, 0.3144679030132573], [-27.66873308576866, 14.26473078096533, -13.64921318813922], [52.17613981234068, -27.94360607168351, 12.94416944238394], [-50.76852536473588, 29.04658282127291, 4.23415299384598], [18.65570506591883, -11.48977351997711, -5.601961508734096]],
    turbo: [[0.13572138, 0.09140261, 0.1066733], [4.6153926, 2.19418839, 12.64194608], [-42.66032258, 4.84296658, -60.58204836], [132.13108234, -14.18503333, 110.36276771], [-152.94239396, 4.27729857, -89.90310912], [59.28637943, 2.82956604, 27.34824973], [0, 0, 0]],
  };
  const LUTS = {};
  for (const [name, c] of Object.entries(FITS)) {
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = i / 255;
      for (let k = 0; k < 3; k++) {
        let v = 0;
        for (let p = 6; p >= 0; p--) v = v * t + c[p][k];
        lut[i * 3 + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
    }
    LUTS[name] = lut;
  }

  // ---- times: <time data-ts=µs> shows "3 s ago" (or "in 8 s" with data-until) ----
  function ago(us) {
    const s = Math.round((Date.now() * 1000 - us) / 1e6);
    const a = Math.abs(s);
    const txt = a < 60 ? `${a} s` : a < 3600 ? `${Math.floor(a / 60)} min` : `${(a / 3600).toFixed(1)} h`;
    return s >= 0 ? `${txt} ago` : `in ${txt}`;
  }
  function times(root) {
    for (const t of (root || document).querySelectorAll('time[data-ts]')) {
      const us = Number(t.dataset.ts);
      t.textContent = ago(us);
      t.title = new Date(us / 1000).toISOString();
    }
  }
  setInterval(() => times(), 1000);

  // ---- the sensor panel: waterfall with colormap and dB range, boxes, measurement chart ----
  const panel = document.querySelector('[data-sensor]');
  const wf = { rows: [], width: 0, start: Infinity, center: 0, span: 0 };
  const chart = { series: [], t: [] };
  const settings = JSON.parse(localStorage.getItem('fieldmesh.waterfall') || '{}');
  const cmapSel = document.getElementById('colormap');
  const dbMin = document.getElementById('db-min');
  const dbMax = document.getElementById('db-max');
  if (cmapSel && settings.cmap) cmapSel.value = settings.cmap;
  if (dbMin && settings.lo !== undefined) dbMin.value = settings.lo;
  if (dbMax && settings.hi !== undefined) dbMax.value = settings.hi;
  for (const el of [cmapSel, dbMin, dbMax]) {
    if (el) el.addEventListener('change', () => {
      localStorage.setItem('fieldmesh.waterfall', JSON.stringify({ cmap: cmapSel.value, lo: +dbMin.value, hi: +dbMax.value }));
      redrawWaterfall();
    });
  }

  function paintRow(ctx, img, row, y) {
    const lut = LUTS[cmapSel ? cmapSel.value : 'viridis'] || LUTS.viridis;
    const lo = dbMin ? +dbMin.value : -100;
    const hi = Math.max(lo + 1, dbMax ? +dbMax.value : -20);
    const d = img.data;
    const scale = (row.hi - row.lo) / 255;
    for (let x = 0; x < row.codes.length; x++) {
      const db = row.lo + row.codes[x] * scale;
      const i = Math.max(0, Math.min(255, Math.round(((db - lo) / (hi - lo)) * 255))) * 3;
      d[x * 4] = lut[i]; d[x * 4 + 1] = lut[i + 1]; d[x * 4 + 2] = lut[i + 2]; d[x * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, y);
  }

  function redrawWaterfall() {
    const c = document.querySelector('canvas.waterfall');
    if (!c || !wf.width) return;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(wf.width, 1);
    wf.rows.forEach((r, y) => paintRow(ctx, img, r, y));
    drawBoxes();
    drawLegend();
  }

  function drawLegend() {
    const el = document.getElementById('legend');
    if (!el || !cmapSel) return;
    const lut = LUTS[cmapSel.value];
    const stops = [0, 64, 128, 192, 255].map(i => `rgb(${lut[i * 3]},${lut[i * 3 + 1]},${lut[i * 3 + 2]}) ${Math.round(i / 2.55)}%`);
    el.style.background = `linear-gradient(90deg, ${stops.join(',')})`;
    el.textContent = `${dbMin.value} … ${dbMax.value} dB`;
  }

  function onWaterfall(dv, off) {
    const width = dv.getUint32(off + 16, true);
    const row = {
      time: dv.getFloat64(off + 20, true),
      codes: new Uint8Array(dv.buffer, dv.byteOffset + off + 52, width),
      lo: dv.getFloat32(off + 44, true),
      hi: dv.getFloat32(off + 48, true),
    };
    wf.center = dv.getFloat64(off + 28, true);
    wf.span = dv.getFloat64(off + 36, true);
    // Wall-clock start of the stream: the earliest (arrival − stream time) seen.
    wf.start = Math.min(wf.start, Date.now() * 1000 - row.time * 1e6);
    const c = document.querySelector('canvas.waterfall');
    if (!c) return;
    const ctx = c.getContext('2d');
    if (wf.rows.length === 16 && settings.lo === undefined && dbMin && dbMax) {
      // No range chosen yet: from just under the noise (the median cell) to 45 dB above it.
      const codes = wf.rows.flatMap(r => Array.from(r.codes)).sort((a, b) => a - b);
      const floor = row.lo + codes[codes.length >> 1] * (row.hi - row.lo) / 255;
      dbMin.value = Math.round(floor - 5); dbMax.value = Math.round(floor + 45);
      redrawWaterfall();
    }
    if (wf.width !== width) {
      wf.width = width; wf.rows = []; c.width = width;
      const o = document.querySelector('canvas.overlay'); if (o) o.width = width;
    }
    wf.rows.unshift(row);
    if (wf.rows.length > c.height) wf.rows.pop();
    ctx.drawImage(c, 0, 0, width, c.height - 1, 0, 1, width, c.height - 1);
    paintRow(ctx, ctx.createImageData(width, 1), row, 0);
    showPanel('.waterfall-wrap');
    state.rows++;
    if (state.rows % 8 === 0) drawBoxes();
  }

  function drawBoxes() {
    const o = document.querySelector('canvas.overlay');
    if (!o || !wf.rows.length) return;
    const ctx = o.getContext('2d');
    ctx.clearRect(0, 0, o.width, o.height);
    const rowUs = r => wf.start + r.time * 1e6;
    const newest = rowUs(wf.rows[0]);
    const oldest = rowUs(wf.rows[wf.rows.length - 1]);
    const perRow = wf.rows.length > 1 ? (newest - oldest) / (wf.rows.length - 1) : 1;
    const f0 = wf.center - wf.span / 2;
    ctx.strokeStyle = '#ff4d6d'; ctx.fillStyle = '#ff4d6d'; ctx.lineWidth = 1.5; ctx.font = '11px system-ui';
    for (const li of document.querySelectorAll('[data-box]')) {
      let b; try { b = JSON.parse(li.dataset.box); } catch { continue; }
      const yTop = (newest - (b.t0 + b.dur * 1e6)) / perRow;
      const yBot = (newest - b.t0) / perRow;
      // Only what the rows on screen cover (older boxes scrolled in before this page opened).
      if (yBot < 0 || yTop > wf.rows.length - 1) continue;
      const x0 = ((b.f0 - f0) / wf.span) * o.width;
      const x1 = ((b.f1 - f0) / wf.span) * o.width;
      const y0 = Math.max(0, yTop), y1 = Math.min(wf.rows.length - 1, yBot);
      ctx.strokeRect(x0, y0, Math.max(2, x1 - x0), Math.max(2, y1 - y0));
      if (b.label) ctx.fillText(b.label, x0 + 2, Math.max(10, yTop + 10));
    }
  }

  function onSamples(dv, off) {
    const t0 = Number(dv.getBigUint64(off, true));
    const rate = dv.getFloat32(off + 8, true);
    const ch = Math.max(1, dv.getUint8(off + 12));
    const n = dv.getUint32(off + 13, true);
    for (let i = 0; i < n / ch; i++) {
      chart.t.push(t0 + (i / rate) * 1e6);
      for (let k = 0; k < ch; k++) {
        (chart.series[k] = chart.series[k] || []).push(dv.getFloat32(off + 17 + 4 * (i * ch + k), true));
      }
    }
    const cut = Date.now() * 1000 - 10e6;
    while (chart.t.length && chart.t[0] < cut) { chart.t.shift(); chart.series.forEach(s => s.shift()); }
    state.samples += n;
    drawChart();
    showPanel('canvas.chart');
  }

  function drawChart() {
    const c = document.querySelector('canvas.chart');
    if (!c || !chart.t.length) return;
    const ctx = c.getContext('2d');
    ctx.clearRect(0, 0, c.width, c.height);
    const all = chart.series.flat();
    const lo = Math.min(...all), hi = Math.max(...all), pad = (hi - lo) * 0.1 || 1;
    const now = Date.now() * 1000;
    const colors = ['#5ad1ff', '#ffcc4d', '#ff6b9a'];
    chart.series.forEach((s, k) => {
      ctx.strokeStyle = colors[k % 3]; ctx.lineWidth = 1.5; ctx.beginPath();
      s.forEach((v, i) => {
        const x = c.width * (1 - (now - chart.t[i]) / 10e6);
        const y = c.height * (1 - (v - lo + pad) / (hi - lo + 2 * pad));
        i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.stroke();
    });
    ctx.fillStyle = '#aaa'; ctx.font = '11px system-ui';
    ctx.fillText(hi.toFixed(1), 4, 12); ctx.fillText(lo.toFixed(1), 4, c.height - 4);
  }

  function showPanel(sel) {
    const el = document.querySelector(sel);
    if (el && el.hidden) el.hidden = false;
    const w = document.querySelector('.waiting');
    if (w) w.hidden = true;
  }
  if (panel) document.querySelector('.waterfall-wrap').hidden = true;

  // ---- what the viewer looks at ----
  const inView = new Set();
  function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
  function reportVisibility() {
    send({ t: 'visibility', visible: document.visibilityState === 'visible', focused: document.hasFocus() });
  }
  function reportInView() { send({ t: 'in_view', sensors: [...inView] }); }
  document.addEventListener('visibilitychange', reportVisibility);
  window.addEventListener('focus', reportVisibility);
  window.addEventListener('blur', reportVisibility);
  if ('IntersectionObserver' in window) {
    const io = new IntersectionObserver(entries => {
      for (const e of entries) {
        const id = e.target.dataset.sensor;
        if (e.isIntersecting) inView.add(id); else inView.delete(id);
      }
      reportInView();
    });
    document.querySelectorAll('[data-sensor]').forEach(p => io.observe(p));
  }

  // ---- clicks and forms become events ----
  document.addEventListener('click', e => {
    const el = e.target.closest('[data-live-click]');
    if (!el) return;
    e.preventDefault();
    const value = {};
    for (const [k, v] of Object.entries(el.dataset)) {
      if (k.startsWith('value')) value[k.slice(5).toLowerCase()] = v;
    }
    send({ t: 'event', name: el.dataset.liveClick, value });
  });
  document.addEventListener('submit', e => {
    const form = e.target.closest('[data-live-submit]');
    if (!form) return;
    e.preventDefault();
    const value = {};
    for (const [k, v] of new FormData(form)) value[k] = String(v);
    send({ t: 'event', name: form.dataset.liveSubmit, value });
  });

  function toast(text, level) {
    const box = document.getElementById('toasts');
    const el = document.createElement('div');
    el.className = `toast ${level || 'info'}`;
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  // ---- the socket ----
  // A region is replaced whole; what a person has typed or chosen there and not yet sent
  // (a field off its rendered default) and the focus survive the replacement.
  function replaceKeepingInput(el, html) {
    const kept = [];
    for (const f of el.querySelectorAll('input[name], select[name], textarea[name]')) {
      const box = f.type === 'checkbox' || f.type === 'radio';
      const changed = f.tagName === 'SELECT'
        ? [...f.options].some(o => o.selected !== o.defaultSelected)
        : box ? f.checked !== f.defaultChecked : f.value !== f.defaultValue;
      if (!changed) continue;
      const at = `[name="${CSS.escape(f.name)}"]` +
        (f.type === 'radio' ? `[value="${CSS.escape(f.value)}"]` : '');
      kept.push([at, box, f.value, f.checked]);
    }
    const a = document.activeElement;
    const focused = a && a.name && el.contains(a) ? `[name="${CSS.escape(a.name)}"]` : null;
    el.innerHTML = html;
    for (const [at, box, value, checked] of kept) {
      const f = el.querySelector(at);
      if (f && box) f.checked = checked; else if (f) f.value = value;
    }
    const f = focused && el.querySelector(focused);
    if (f) f.focus();
  }

  function onMessage(ev) {
    if (typeof ev.data !== 'string') {
      const dv = new DataView(ev.data);
      const tag = dv.getUint8(0), len = dv.getUint8(1), off = 2 + len;
      if (tag === 87) onWaterfall(dv, off); else if (tag === 77) onSamples(dv, off);
      return;
    }
    const m = JSON.parse(ev.data);
    if (m.t === 'patch') {
      for (const [id, html] of Object.entries(m.regions)) {
        const el = document.querySelector(`[data-region="${id}"]`);
        if (el) { replaceKeepingInput(el, html); times(el); }
      }
      state.patches++;
      state.lastLatencyMs = (Date.now() * 1000 - m.at) / 1000;
      if ('detections' in m.regions) drawBoxes();
    } else if (m.t === 'location') {
      history.replaceState(null, '', m.href);
    } else if (m.t === 'flash') {
      toast(m.text, m.level);
    } else if (m.t === 'notice' && m.kind === 'new_capture') {
      toast(`Capture ${m.body.name}: ${m.body.status}`, 'info');
    } else if (m.t === 'error') {
      toast(m.error, 'error');
    }
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}${live}`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      retry = 0; state.connected = true;
      conn.dataset.state = 'live'; conn.textContent = 'live';
      reportVisibility(); reportInView();
    };
    ws.onmessage = onMessage;
    ws.onclose = ev => {
      state.connected = false;
      conn.dataset.state = 'closed';
      if (ev.code === 1008) {
        conn.textContent = ev.reason || 'refused';
        toast(ev.reason, 'error');
        if ((ev.reason || '').startsWith('unauthorized')) setTimeout(() => { location.href = '/login'; }, 1500);
        return;
      }
      conn.textContent = 'reconnecting';
      setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
    };
  }
  times();
  drawLegend();
  connect();
})();
