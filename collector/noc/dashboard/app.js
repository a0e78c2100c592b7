/* callscope NOC dashboard: reads the JSON API with the bearer token kept in
 * this tab's sessionStorage (given as #token=... once, or typed in), or, on
 * a wall screen where the user ticked "remember", in localStorage. Every
 * value from the API goes into the page as text, never as HTML; charts are
 * SVG elements made here (no library, no CDN). */
'use strict';

const VERDICTS = ['lan', 'wan', 'endpoint', 'cloud', 'healthy', 'unknown'];
const BAD = ['lan', 'wan', 'endpoint', 'cloud'];
const LABEL = { lan: 'LAN/Wi-Fi', wan: 'WAN', endpoint: 'endpoint', cloud: 'cloud/far side',
  healthy: 'healthy', unknown: 'unknown' };
const TOKEN_KEY = 'callscope-token';
const SVGNS = 'http://www.w3.org/2000/svg';
/* site: the site whose timeline is shown; siteChosen: the user chose it (address,
 * a click, the filter), so the call list is filtered by it too; otherwise it is the
 * worst site of the window, shown by default, and the list keeps every site.
 * who: the /api/whoami answer's promise (the call list waits for the role). */
const state = { token: null, site: null, siteChosen: false, call: null, calls: [], sort: { key: 'start', dir: -1 },
  timer: null, wall: false, role: 'investigator', liveBuilding: null, who: null };

function $(id) { return document.getElementById(id); }

function setStatus(s, text) {
  const e = $('status');
  e.dataset.state = s;
  e.textContent = text || s;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k of Object.keys(attrs || {})) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function verdictBadge(v) {
  const k = VERDICTS.includes(v) ? v : 'unknown';
  const b = el('span', v || '?', 'verdict v-' + k);
  b.title = LABEL[k];
  return b;
}

/* ---- numbers in units a person reads ------------------------------------------ */

function isNum(v) { return typeof v === 'number' && isFinite(v); }
function fmtPct(v) { return isNum(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) + ' %' : '—'; }
function fmtMs(v) { return isNum(v) ? Math.round(v) + ' ms' : '—'; }
function fmtMos(v) { return isNum(v) ? v.toFixed(1) : '—'; }
function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString() : '—'; }
function fmtKbps(v) { return isNum(v) ? Math.round(v) + ' kbit/s' : '—'; }

function fmtDuration(s) {
  if (!isNum(s) || s < 0) return '—';
  s = Math.round(s);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  return Math.floor(s / 3600) + ' h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + ' min';
}

function parseTime(iso) { const t = Date.parse(iso); return isFinite(t) ? t : null; }

/* One Intl formatter per format, made once: toLocaleTimeString() and
 * toLocaleDateString() build a new one on every call, and the call list
 * formats two per row. */
const DATE_FMT = {};
function localFmt(key) {
  if (!DATE_FMT[key]) {
    const o = { hms: { hour: '2-digit', minute: '2-digit', second: '2-digit' }, hm: { hour: '2-digit', minute: '2-digit' },
      md: { month: 'short', day: 'numeric' } }[key];
    DATE_FMT[key] = new Intl.DateTimeFormat([], o);
  }
  return DATE_FMT[key];
}

function fmtLocal(iso, withDate) {
  const t = parseTime(iso);
  if (t === null) return iso || '—';
  const time = localFmt('hms').format(t);
  if (!withDate) return time;
  return localFmt('md').format(t) + ' ' + time;
}

/* Share of bad calls as a severity: colour plus the word, never colour alone. */
function severity(share) {
  if (!isNum(share)) return { cls: 'sev-none', word: 'no calls' };
  if (share >= 0.3) return { cls: 'sev-bad', word: 'poor' };
  if (share >= 0.1) return { cls: 'sev-warn', word: 'fair' };
  return { cls: 'sev-ok', word: 'good' };
}

/* ---- the address and the token ---------------------------------------------------- */

function hashParams() {
  const out = {};
  const h = window.location.hash.replace(/^#/, '');
  for (const part of h.split('&')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try { /* a malformed %-escape in a pasted link is ignored, not thrown */
      out[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
    } catch (e) {
      if (!(e instanceof URIError)) throw e;
    }
  }
  return out;
}

function setHash(p) {
  const parts = [];
  for (const k of Object.keys(p)) if (p[k]) parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(p[k]));
  history.replaceState(null, '', parts.length ? '#' + parts.join('&') : window.location.pathname);
}

function saveHash() {
  setHash({ site: state.siteChosen ? state.site : '', call: state.call, wall: state.wall ? '1' : '',
    live_building: state.liveBuilding });
}

/* The site filter's choice, added to its options when the site list has not
 * come yet (or does not hold it in this window). */
function siteFilter(site) {
  const sel = $('site-filter');
  if (site && !Array.from(sel.options).some(o => o.value === site)) {
    const o = el('option', site); o.value = site; sel.appendChild(o);
  }
  sel.value = site || '';
}

function chooseSite(site) {
  state.site = site;
  state.siteChosen = !!site;
  siteFilter(site);
  saveHash();
  refresh();
}

class HttpError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

async function api(path, params) {
  const q = new URLSearchParams();
  for (const k of Object.keys(params || {})) if (params[k] !== '' && params[k] !== null && params[k] !== undefined) q.set(k, params[k]);
  const url = path + (q.toString() ? '?' + q.toString() : '');
  const r = await fetch(url, { headers: { Authorization: 'Bearer ' + state.token }, cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new HttpError(r.status, (body && body.error) || ('HTTP ' + r.status));
  return body;
}

/* The window as API parameters: a span before now ("24h") or a custom range. */
function windowParams() {
  const v = $('range').value;
  if (v !== 'custom') return { since: v };
  const out = {};
  const f = Date.parse($('from').value), t = Date.parse($('to').value);
  if (isFinite(f)) out.since = Math.floor(f / 1000);
  if (isFinite(t)) out.until = Math.floor(t / 1000);
  if (!out.since) out.since = '24h';
  return out;
}

function windowBucket() {
  const w = windowParams();
  const now = Date.now() / 1000;
  const spans = { '1h': 3600, '24h': 86400, '7d': 604800, '30d': 2592000 };
  const span = spans[w.since] || ((w.until || now) - (w.since || now - 86400));
  if (span <= 3 * 3600) return 300;
  if (span <= 2 * 86400) return 3600;
  if (span <= 8 * 86400) return 6 * 3600;
  return 86400;
}

/* ---- tables ------------------------------------------------------------------------ */

/* A table's one-line state: empty ("none in this window" unless said),
 * loading, or the error that left it without rows. */
function tableNote(tbody, text, cls) {
  const tr = el('tr', null, 'note');
  const td = el('td', text, cls || 'muted');
  td.colSpan = tbody.parentNode.tHead ? tbody.parentNode.tHead.rows[0].cells.length : 10;
  tr.appendChild(td);
  tbody.replaceChildren(tr);
}

function fill(tbody, rows, cells, onclick, empty) {
  tbody.replaceChildren();
  if (!rows.length) {
    tableNote(tbody, empty || 'none in this window');
    return;
  }
  const heads = tbody.parentNode.tHead ? tbody.parentNode.tHead.rows[0].cells : [];
  const frag = document.createDocumentFragment(); /* one insertion for the whole table */
  for (const r of rows) {
    const tr = el('tr');
    cells(r).forEach((c, i) => {
      const td = el('td');
      if (heads[i] && heads[i].classList.contains('num')) td.className = 'num';
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      tr.appendChild(td);
    });
    if (onclick) { tr.className = 'link'; tr.tabIndex = 0; tr.addEventListener('click', () => onclick(r)); }
    if (r && typeof r.call_id === 'string') tr.dataset.call = r.call_id;
    frag.appendChild(tr);
  }
  tbody.appendChild(frag);
}

function shareCell(bad, calls) {
  const share = calls ? bad / calls : NaN;
  const sv = severity(share);
  const box = el('div', null, 'share ' + sv.cls);
  const bar = el('span', null, 'share-bar');
  const fillEl = el('span', null, 'share-fill');
  fillEl.style.width = (isNum(share) ? Math.round(share * 100) : 0) + '%';
  bar.appendChild(fillEl);
  box.appendChild(bar);
  box.appendChild(el('span', isNum(share) ? Math.round(share * 100) + ' % bad (' + bad + ' of ' + calls + ') · ' + sv.word : 'no calls', 'share-text'));
  return box;
}

function worstSegment(vc) {
  let best = null;
  for (const v of BAD) if ((vc[v] || 0) > 0 && (!best || vc[v] > vc[best])) best = v;
  if (!best) return el('span', '—', 'muted');
  const s = el('span');
  s.appendChild(verdictBadge(best));
  s.appendChild(el('span', ' ' + LABEL[best]));
  return s;
}

function degradedCell(s) {
  const sv = severity(s.active_calls ? s.degraded_calls / s.active_calls : NaN);
  return el('span', s.degraded_calls + ' of ' + s.active_calls + ' degraded · ' + (s.degraded_calls ? sv.word : 'all clear'),
    'pill ' + (s.degraded_calls ? sv.cls : 'sev-ok'));
}

function sideCell(n) { return el('span', String(n), n ? 'count-bad' : 'muted'); }

const worstLive = (a, b) => b.degraded_calls - a.degraded_calls || b.active_calls - a.active_calls;

/* The building filter's choices: every building seen live since the page
 * loaded (an answer filtered by building lists that one only), and the one
 * chosen, even while it has no call. */
function liveBuildingChoices(buildings) {
  const sel = $('live-building');
  const have = new Set(Array.from(sel.options).map(o => o.value));
  for (const b of buildings) if (b.building && !have.has(b.building)) {
    const o = el('option', b.building); o.value = b.building; sel.appendChild(o); have.add(b.building);
  }
  if (state.liveBuilding && !have.has(state.liveBuilding)) {
    const o = el('option', state.liveBuilding); o.value = state.liveBuilding; sel.appendChild(o);
  }
  sel.value = state.liveBuilding || '';
}

async function loadLive() {
  /* limit=1: the panel shows the rollups, not the page of calls (25 by default,
   * 42 KB at 1,500 calls in progress) */
  const d = await api('/api/live', { building: state.liveBuilding || '', limit: 1 });
  d.sites.sort((a, b) => worstLive(a, b) || a.site.localeCompare(b.site));
  $('live-time').textContent = 'updated ' + fmtLocal(d.time);
  $('live-scope').textContent = state.liveBuilding ? 'calls in progress in ' + state.liveBuilding : '';
  fill($('live').tBodies[0], d.sites, s => [s.site || '(no site)', s.active_calls, degradedCell(s),
    sideCell(s.lan_degraded), sideCell(s.wan_degraded)], s => chooseSite(s.site),
  state.liveBuilding ? 'no calls in progress in ' + state.liveBuilding : 'no calls in progress');
  const bs = (d.buildings || []).slice().sort((a, b) => worstLive(a, b) ||
    (a.building === null) - (b.building === null) || String(a.building).localeCompare(String(b.building)));
  liveBuildingChoices(bs);
  $('live-buildings-box').hidden = !bs.some(b => b.building);
  fill($('live-buildings').tBodies[0], bs, b => [b.building === null ? el('span', 'not in the building file', 'muted') : b.building,
    b.site || '(no site)', b.active_calls, degradedCell(b), sideCell(b.lan_degraded), sideCell(b.wan_degraded)],
  b => { if (b.building) { state.liveBuilding = b.building; saveHash(); loadLive().catch(e => setStatus('error', e.message)); } },
  'no calls in progress');
}

async function loadSites() {
  const d = await api('/api/sites', windowParams());
  const share = s => s.calls ? s.bad / s.calls : 0;
  d.sites.sort((a, b) => share(b) - share(a) || b.bad - a.bad || b.calls - a.calls);
  fill($('sites').tBodies[0], d.sites, s => [s.site || '(no site)', s.calls, shareCell(s.bad, s.calls),
    worstSegment(s.verdicts), s.verdicts.lan, s.verdicts.wan, s.verdicts.endpoint, s.verdicts.cloud,
    s.verdicts.healthy, s.verdicts.unknown], s => chooseSite(s.site), 'no calls at any site in this window');
  const sel = $('site-filter');
  const cur = sel.value;
  sel.replaceChildren(el('option', 'any'));
  sel.options[0].value = '';
  for (const s of d.sites) if (s.site) { const o = el('option', s.site); o.value = s.site; sel.appendChild(o); }
  siteFilter(cur);
  if (!state.site && d.sites.length) state.site = d.sites[0].site;
}

/* Calls per building of the building file (GET /api/buildings), shown only
 * when one is imported; a row lists that building's calls. */
async function loadBuildings() {
  const d = await api('/api/buildings', { since: windowParams().since || '' });
  $('buildings-panel').hidden = !d.networks;
  if (!d.networks) return;
  fill($('buildings').tBodies[0], d.buildings, b => [b.building, b.region || '', [b.city, b.country].filter(has).join(', '),
    b.calls, shareCell(b.bad, b.calls), worstSegment(b.verdicts), b.verdicts.lan, b.verdicts.wan,
    b.verdicts.endpoint, b.verdicts.cloud, b.verdicts.healthy, b.verdicts.unknown],
  b => { $('f-building').value = b.building; loadCalls().catch(e => setStatus('error', e.message)); },
  'no calls in any building of the file in this window');
}

/* ---- charts ------------------------------------------------------------------------ */

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function timeTicks(t0, t1, n) {
  const span = Math.max(1, t1 - t0);
  const steps = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
  let step = steps[steps.length - 1];
  for (const s of steps) if (span / s <= n) { step = s; break; }
  const out = [];
  const tz = new Date(t0 * 1000).getTimezoneOffset() * 60; /* ticks on local boundaries */
  for (let t = Math.ceil((t0 - tz) / step) * step + tz; t <= t1; t += step) out.push(t);
  return { ticks: out, step: step };
}

function tickLabel(t, step) {
  const d = new Date(t * 1000);
  if (step >= 86400 || (step >= 3600 && d.getHours() === 0)) return localFmt('md').format(d);
  return localFmt(step < 60 ? 'hms' : 'hm').format(d);
}

/* Axes, grid and labels of a time chart; returns the scales. */
function axes(g, o) {
  const W = o.w, H = o.h, L = 64, R = 12, T = 22, B = 28;
  const x = t => L + (W - L - R) * (t - o.t0) / Math.max(1, o.t1 - o.t0);
  const y = v => T + (H - T - B) * (1 - v / o.ymax);
  g.appendChild(svg('text', { x: L, y: 14, class: 'chart-title' }, o.title));
  for (let i = 0; i <= 4; i++) {
    const v = o.ymax * i / 4;
    g.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    g.appendChild(svg('text', { x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' },
      (o.ymax < 4 ? v.toFixed(1) : +v.toFixed(1)) + (o.unit ? ' ' + o.unit : '')));
  }
  const tt = timeTicks(o.t0, o.t1, Math.max(2, Math.floor((W - L - R) / 90)));
  for (const t of tt.ticks) {
    g.appendChild(svg('line', { x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4, class: 'axis' }));
    g.appendChild(svg('text', { x: x(t), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' }, tickLabel(t, tt.step)));
  }
  g.appendChild(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
  g.appendChild(svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  return { x: x, y: y, L: L, R: R, T: T, B: B };
}

function hline(g, s, o, v, cls, label) {
  if (!isNum(v) || v > o.ymax) return;
  g.appendChild(svg('line', { x1: s.L, x2: o.w - s.R, y1: s.y(v), y2: s.y(v), class: cls }));
  g.appendChild(svg('text', { x: o.w - s.R - 4, y: s.y(v) - 4, class: 'tick ' + cls + '-label', 'text-anchor': 'end' }, label));
}

/* One series of interval figures over time, with the threshold and Graph's
 * whole-call figure as horizontal lines. */
function lineChart(o) {
  const pts = o.pts.filter(p => isNum(p[1]));
  const top = Math.max(...pts.map(p => p[1]), isNum(o.thr) ? o.thr * 1.25 : 0, isNum(o.ref) ? o.ref : 0, o.floor || 0);
  o.ymax = niceMax(top);
  o.w = 560; o.h = 190;
  const root = svg('svg', { viewBox: '0 0 ' + o.w + ' ' + o.h, class: 'chart-svg', role: 'img', 'aria-label': o.title });
  const s = axes(root, o);
  hline(root, s, o, o.thr, 'thr', 'threshold ' + o.fmt(o.thr));
  hline(root, s, o, o.ref, 'ref', 'Graph ' + o.fmt(o.ref));
  if (pts.length) {
    const d = pts.map((p, i) => (i ? 'L' : 'M') + s.x(p[0]).toFixed(1) + ' ' + s.y(p[1]).toFixed(1)).join(' ');
    root.appendChild(svg('path', { d: d, class: 'series ' + (o.cls || '') }));
    for (const p of pts) {
      const bad = isNum(o.thr) && p[1] > o.thr;
      const c = svg('circle', { cx: s.x(p[0]).toFixed(1), cy: s.y(p[1]).toFixed(1), r: bad ? 3.2 : 2, class: bad ? 'pt pt-bad' : 'pt' });
      c.appendChild(svg('title', {}, fmtLocal(new Date(p[0] * 1000).toISOString()) + ': ' + o.fmt(p[1])));
      root.appendChild(c);
    }
  } else {
    root.appendChild(svg('text', { x: o.w / 2, y: o.h / 2, class: 'tick', 'text-anchor': 'middle' }, 'no interval records'));
  }
  const box = el('figure', null, 'chart-box');
  box.appendChild(root);
  return box;
}

/* Empty buckets between the first and the last are drawn as gaps. */
function drawTimeline(tl, bucket, win) {
  const box = $('timeline');
  box.replaceChildren();
  const now = Date.now() / 1000;
  const spans = { '1h': 3600, '24h': 86400, '7d': 604800, '30d': 2592000 };
  const t1 = win.until ? Number(win.until) : now;
  const t0 = spans[win.since] ? t1 - spans[win.since] : (isNum(Number(win.since)) ? Number(win.since) : t1 - 86400);
  const o = { title: 'Calls per ' + fmtDuration(bucket).replace(' 00 min', '').replace(' 00 s', '') + ', by verdict', unit: '', w: 1100, h: 210,
    t0: Math.floor(t0 / bucket) * bucket, t1: t1 };
  o.ymax = Math.max(4, niceMax(Math.max(1, ...tl.map(b => b.calls)))); /* whole calls per tick */
  const root = svg('svg', { viewBox: '0 0 ' + o.w + ' ' + o.h, class: 'chart-svg wide', role: 'img', 'aria-label': o.title });
  const s = axes(root, o);
  const bw = Math.max(2, (s.x(o.t0 + bucket) - s.x(o.t0)) - 2);
  for (const b of tl) {
    let acc = 0;
    for (const v of VERDICTS) {
      const n = b.verdicts[v] || 0;
      if (!n) continue;
      const r = svg('rect', { x: s.x(b.t) + 1, width: bw, y: s.y(acc + n), height: Math.max(1, s.y(acc) - s.y(acc + n)), class: 'f-' + v });
      r.appendChild(svg('title', {}, fmtLocal(new Date(b.t * 1000).toISOString(), true) + ': ' + n + ' ' + v + ' of ' + b.calls + ' calls'));
      root.appendChild(r);
      acc += n;
    }
  }
  if (!tl.some(b => b.calls > 0))
    root.appendChild(svg('text', { x: o.w / 2, y: o.h / 2, class: 'tick', 'text-anchor': 'middle' }, 'no calls at this site in this window'));
  box.appendChild(root);
  const lg = $('legend');
  lg.replaceChildren();
  for (const v of VERDICTS) {
    const item = el('span', null, 'legend-item');
    item.appendChild(el('span', null, 'swatch f-' + v));
    item.appendChild(el('span', v + (v === 'lan' || v === 'wan' || v === 'cloud' ? ' (' + LABEL[v] + ')' : '')));
    lg.appendChild(item);
  }
}

function worstCells(key) {
  return r => [r[key] || r.client_id || '?', r.calls, r.bad, r.verdicts.lan, r.verdicts.wan];
}

async function loadSite() {
  if (!state.site) { $('site-view').hidden = true; return; }
  const win = windowParams();
  const bucket = windowBucket();
  let d;
  try {
    d = await api('/api/sites/' + encodeURIComponent(state.site), Object.assign({ bucket: bucket }, win));
  } catch (e) {
    if (e.status === 404) { $('site-view').hidden = true; return; }
    throw e;
  }
  $('site-view').hidden = false;
  $('site-name').textContent = state.site;
  drawTimeline(d.timeline, d.bucket_s, win);
  const pick = r => { $('client').value = r.client_ip || ''; loadCalls(); };
  fill($('worst-clients').tBodies[0], d.worst_clients, r => [r.client_ip || r.client_id, r.calls, r.bad, r.verdicts.lan, r.verdicts.wan], pick);
  fill($('worst-aps').tBodies[0], d.worst_access_points, worstCells('bssid'));
  fill($('worst-subnets').tBodies[0], d.worst_subnets, worstCells('subnet'));
  /* over a window longer than a day the worst lists cover its last 24 h
   * (worst_since, docs/noc.md "At scale"): say so under them */
  const ws = Date.parse(d.worst_since || '');
  const first = (d.timeline || []).length ? d.timeline[0].t * 1000 : NaN;
  const note = $('worst-note');
  note.hidden = !(ws && first && first < ws - 3600e3);
  note.textContent = note.hidden ? '' : 'Worst clients, access points and subnets: calls since ' +
    new Date(ws).toLocaleString() + ' (the last 24 h of the window); the counts and the timeline cover all of it.';
}

/* ---- the call list ---------------------------------------------------------------- */

/* A call's buildings as one text ("HQ Tower, Lyon Office"); null without
 * any, so that the calls in no building sort last either way. */
function buildingsText(c) {
  return Array.isArray(c.buildings) && c.buildings.length ? c.buildings.join(', ') : null;
}

/* The value a column sorts by: the row's own, or the text shown for a list. */
function sortValue(c, k) { return k === 'buildings' ? buildingsText(c) : c[k]; }

function renderCalls() {
  const k = state.sort.key, dir = state.sort.dir;
  const rows = state.calls.slice().sort((a, b) => {
    const x = sortValue(a, k), y = sortValue(b, k);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
  for (const th of $('calls').tHead.rows[0].cells)
    th.dataset.sort = th.dataset.key === k ? (dir > 0 ? 'asc' : 'desc') : '';
  fill($('calls').tBodies[0], rows, c => [fmtLocal(c.start, true), fmtDuration(c.duration), c.site || '—',
    buildingsText(c) || el('span', '—', 'muted'), verdictBadge(c.verdict), fmtPct(c.worst_loss_pct), fmtMs(c.worst_jitter_ms), fmtMos(c.worst_mos), c.source,
    c.rule || ''], c => openCall(c.call_id), 'no calls match in this window');
}

async function loadCalls() {
  await state.who; /* a viewer's list is asked without person or address */
  const site = $('site-filter').value;
  const user = state.role === 'viewer' ? '' : $('f-user').value.trim();
  const building = $('f-building').value.trim();
  const client = state.role === 'viewer' ? '' : $('client').value.trim(); /* a viewer: 403 */
  const p = Object.assign({ site: site, verdict: $('verdict').value, client: client,
    user: user, building: building, limit: 200 }, windowParams());
  $('calls-scope').textContent = (site ? 'at ' + site : 'at every site') + (building ? ' · in ' + building : '') +
    (user ? ' · with ' + user : '');
  const d = await api('/api/calls', p);
  for (const c of d.calls) {
    const a = parseTime(c.start), b = parseTime(c.end);
    c.duration = a !== null && b !== null ? (b - a) / 1000 : null;
  }
  state.calls = d.calls;
  rememberBuildings(d.calls.map(c => c.buildings || []).flat());
  renderCalls();
}

/* The calls people rated 1-2 stars, newest first, each with its verdict. */
async function loadRatedPoor() {
  const d = await api('/api/calls', Object.assign({ rating: 'poor', limit: 50 }, windowParams()));
  fill($('rated-poor').tBodies[0], d.calls, c => {
    const a = parseTime(c.start), b = parseTime(c.end);
    return [fmtLocal(c.start, true), fmtDuration(a !== null && b !== null ? (b - a) / 1000 : NaN), c.site || '—',
      verdictBadge(c.verdict), c.rule || ''];
  }, c => openCall(c.call_id), 'no call rated poor in this window');
  for (const tr of $('rated-poor').tBodies[0].rows) if (tr.className === 'link') tr.title = 'open the call';
}

/* The building names of the map, for the filter box (from the call list's
 * buildings and the participants seen on call pages). */
function rememberBuildings(names) {
  const dl = $('building-names');
  const have = new Set(Array.from(dl.options).map(o => o.value));
  for (const b of names)
    if (b && !have.has(b)) { const o = el('option'); o.value = b; dl.appendChild(o); have.add(b); }
}

/* ---- people ---------------------------------------------------------------------------- */

const BANDS = { frequency24GHz: '2.4 GHz', frequency50GHz: '5 GHz', frequency60GHz: '6 GHz' };
const STARS = { bad: 1, poor: 2, fair: 3, good: 4, excellent: 5 };

function has(v) { return v !== null && v !== undefined && v !== ''; }

function personName(p) {
  if (has(p.display_name)) return p.display_name;
  if (has(p.guest_name)) return p.guest_name + ' (guest)';
  if (has(p.phone)) return p.phone + ' (phone)';
  return null;
}

function ratingText(p) {
  const r = p.rating;
  if (!has(r) || r === 'notRated') return null;
  const n = STARS[r] || parseInt(r, 10);
  const stars = n >= 1 && n <= 5 ? ' ' + '★'.repeat(n) + '☆'.repeat(5 - n) : '';
  return 'rated ' + r + stars;
}

function networkText(p) {
  const parts = [];
  if (has(p.connection_type)) parts.push(p.connection_type === 'wifi' ? 'Wi-Fi' : p.connection_type);
  if (has(p.wifi_band)) parts.push(BANDS[p.wifi_band] || p.wifi_band);
  if (isNum(p.wifi_channel)) parts.push('channel ' + p.wifi_channel);
  if (isNum(p.wifi_signal)) parts.push('signal ' + p.wifi_signal + ' %');
  if (has(p.bssid)) parts.push('AP ' + p.bssid);
  return parts.length ? parts.join(' · ') : '—';
}

function buildingText(b) {
  if (!b) return 'not in the building file';
  const where = [b.city, b.country].filter(has).join(', ');
  return b.building + (where ? ' · ' + where : '') + (has(b.region) ? ' (' + b.region + ')' : '') +
    (b.vpn ? ' · VPN' : '') + (b.inside_corp ? '' : ' · outside corp');
}

/* One card per participant: who, where, with what, and what they said. */
function drawPeople(d) {
  const box = $('call-people');
  box.replaceChildren();
  for (const p of d.participants) {
    const card = el('div', null, 'person' + (p.rated_poor ? ' person-poor' : ''));
    const name = personName(p);
    const h = el('h4', name || p.participant, name ? '' : 'muted');
    h.appendChild(el('span', ' ', ''));
    h.appendChild(verdictBadge(p.verdict));
    const rt = ratingText(p);
    if (rt) h.appendChild(el('span', ' ' + rt, p.rated_poor ? 'pill sev-bad' : 'pill sev-ok'));
    card.appendChild(h);
    const t = el('table', null, 'grid kv');
    const body = el('tbody');
    const row = (k, v) => {
      if (!has(v)) return;
      const tr = el('tr');
      tr.appendChild(el('td', k));
      tr.appendChild(el('td', v));
      body.appendChild(tr);
    };
    row('UPN', p.upn);
    row('Building', buildingText(p.building));
    row('Client', [p.platform, p.product, p.version].filter(has).join(' ') || '—');
    row('Host', p.host);
    row('Microphone', p.capture_device);
    row('Speaker', p.render_device);
    row('Network', networkText(p));
    row('Address', [p.client_ip, p.subnet ? 'subnet ' + p.subnet : null].filter(has).join(' · '));
    if (has(p.feedback_text)) row('Feedback', '“' + p.feedback_text + '”');
    t.appendChild(body);
    card.appendChild(t);
    box.appendChild(card);
  }
  if (!d.participants.length) box.appendChild(el('p', 'no participants', 'muted'));
  const c = d.call;
  const m = $('call-meeting');
  m.replaceChildren();
  const bits = [];
  if (has(c.type)) bits.push(c.type === 'peerToPeer' ? 'peer-to-peer call' : c.type === 'groupCall' ? 'meeting (group call)' : c.type);
  if (Array.isArray(c.modalities) && c.modalities.length) bits.push(c.modalities.join(', '));
  if (isNum(c.duration_s)) bits.push(fmtDuration(c.duration_s));
  if (has(c.organizer_name) || has(c.organizer_upn))
    bits.push('organised by ' + [c.organizer_name, has(c.organizer_upn) ? '<' + c.organizer_upn + '>' : null].filter(has).join(' '));
  if (has(c.thread_id)) bits.push('thread ' + c.thread_id);
  m.appendChild(el('span', bits.join(' · ')));
  if (has(c.join_url)) {
    m.appendChild(el('span', ' · '));
    const a = el('a', 'join link');
    a.href = /^https:\/\//.test(c.join_url) ? c.join_url : '#';
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    m.appendChild(a);
  }
  rememberBuildings(d.participants.map(p => p.building && p.building.building));
}

/* ---- one call --------------------------------------------------------------------- */

const WIRE_FIGURES = [
  ['loss_pct', 'Loss', fmtPct], ['lost', 'Packets lost', fmtInt], ['packets', 'Packets', fmtInt],
  ['jitter_ms_max', 'Jitter (max)', fmtMs], ['network_jitter_ms_max', 'Network jitter (max)', fmtMs],
  ['mos', 'MOS (E-model)', fmtMos]];
const GRAPH_FIGURES = [
  ['avg_loss_pct', 'Loss (average)', fmtPct], ['max_loss_pct', 'Loss (worst)', fmtPct],
  ['avg_jitter_ms', 'Jitter (average)', fmtMs], ['max_jitter_ms', 'Jitter (worst)', fmtMs],
  ['avg_rtt_ms', 'Round trip (average)', fmtMs], ['max_rtt_ms', 'Round trip (worst)', fmtMs],
  ['avg_concealed', 'Concealed samples', v => isNum(v) ? fmtPct(v * 100) : '—'],
  ['avg_degradation', 'Audio degradation', v => isNum(v) ? v.toFixed(2) : '—'],
  ['packets', 'Packets', fmtInt]];

/* Known figures in words and units; anything else by its own name. */
function figures(obj, known) {
  const t = el('table', null, 'grid kv');
  const body = el('tbody');
  const row = (k, v) => { const tr = el('tr'); tr.appendChild(el('td', k)); tr.appendChild(el('td', v)); body.appendChild(tr); };
  if (!obj || typeof obj !== 'object') row('no data', '');
  else {
    const seen = new Set();
    for (const [k, label, f] of known) if (k in obj) { row(label, f(obj[k])); seen.add(k); }
    for (const k of Object.keys(obj)) {
      if (seen.has(k)) continue;
      const v = obj[k];
      row(k.replace(/_/g, ' '), v !== null && typeof v === 'object' ? JSON.stringify(v) : (v === null ? '—' : String(v)));
    }
  }
  t.appendChild(body);
  return t;
}

function panel(title, content) {
  const p = el('div', null, 'panel');
  p.appendChild(el('h4', title));
  p.appendChild(content);
  return p;
}

function streamHead(s) {
  const head = el('p', null, 'stream-head');
  head.appendChild(el('strong', (s.direction || '?') + ' ' + (s.media || '') + ' '));
  head.appendChild(verdictBadge(s.verdict));
  return head;
}

function probeFigures(streams) {
  const box = el('div');
  if (!streams.length) { box.appendChild(el('p', 'no stream matched to this participant', 'muted')); return box; }
  for (const s of streams) {
    box.appendChild(streamHead(s));
    const pr = s.probe;
    box.appendChild(figures(pr ? { probe: pr.probe_id, loss_pct: pr.loss_pct, lost: pr.lost, packets: pr.packets,
      jitter_ms_max: pr.jitter_ms_max, network_jitter_ms_max: pr.network_jitter_ms_max, mos: pr.mos,
      'first seen': fmtLocal(pr.first_seen, true), client: pr.client_ip } : (s.evidence && s.evidence.wire), WIRE_FIGURES));
  }
  return box;
}

function graphFigures(p, streams) {
  const box = el('div');
  box.appendChild(figures(p.evidence && p.evidence.graph, GRAPH_FIGURES));
  for (const s of streams) {
    if (!s.evidence || !s.evidence.graph) continue;
    box.appendChild(streamHead(s));
    box.appendChild(figures(s.evidence.graph, GRAPH_FIGURES));
  }
  return box;
}

function drawCharts(tl) {
  const box = $('call-charts');
  box.replaceChildren();
  const thr = tl.thresholds || {};
  const lossThr = isNum(thr.wire_loss_pct) ? thr.wire_loss_pct : thr.loss_pct;
  const jitThr = isNum(thr.wire_jitter_ms) ? thr.wire_jitter_ms : thr.jitter_ms;
  let n = 0;
  for (const s of tl.streams) {
    if (!s.intervals.length) continue;
    n++;
    const iv = s.intervals;
    const t0 = iv[0].t, t1 = iv[iv.length - 1].t + (iv[iv.length - 1].dur_s || 0);
    const g = s.graph || {};
    const side = s.direction === 'inbound' ? 'inbound (WAN side of the probe)' : 'outbound (LAN/Wi-Fi side of the probe)';
    const group = el('div', null, 'chart-group');
    const h = el('h4', s.participant + ' · ' + (s.media || 'media') + ' ' + side + ' ');
    h.appendChild(verdictBadge(s.verdict));
    group.appendChild(h);
    const row = el('div', null, 'chart-row');
    row.appendChild(lineChart({ title: 'Loss per interval', unit: '%', fmt: fmtPct, t0: t0, t1: t1, thr: lossThr, ref: g.avg_loss_pct,
      pts: iv.map(x => [x.t, x.loss_pct]), cls: 's-loss', floor: 1 }));
    row.appendChild(lineChart({ title: 'Jitter per interval (max)', unit: 'ms', fmt: fmtMs, t0: t0, t1: t1, thr: jitThr, ref: g.avg_jitter_ms,
      pts: iv.map(x => [x.t, isNum(x.network_jitter_ms_max) ? x.network_jitter_ms_max : x.jitter_ms_max]), cls: 's-jitter', floor: 10 }));
    if (iv.some(x => isNum(x.mos)))
      row.appendChild(lineChart({ title: 'MOS per interval', unit: '', fmt: fmtMos, t0: t0, t1: t1, pts: iv.map(x => [x.t, x.mos]), cls: 's-mos', floor: 4.5 }));
    if (iv.some(x => isNum(x.bitrate_kbps)))
      row.appendChild(lineChart({ title: 'Bitrate', unit: 'kbit/s', fmt: fmtKbps, t0: t0, t1: t1, pts: iv.map(x => [x.t, x.bitrate_kbps]), cls: 's-rate' }));
    group.appendChild(row);
    box.appendChild(group);
  }
  if (!n) box.appendChild(el('p', 'No interval records for this call (the probe runs without --interval, or the call had no probe streams).', 'muted'));
}

/* The call's verdicts in order: the wire's provisional one, then with Graph. */
function drawHistory(h) {
  const box = $('call-history');
  box.replaceChildren();
  if (!h.length) { box.appendChild(el('li', 'no history kept for this call', 'muted')); return; }
  for (const x of h) {
    const li = el('li');
    li.appendChild(el('span', fmtLocal(x.at, true) + ' ', 'muted'));
    li.appendChild(verdictBadge(x.verdict));
    li.appendChild(el('span', ' ' + (x.provisional ? 'provisional, from the wire (Graph not in yet)' :
      x.source === 'joined' ? 'judged with Graph\'s record' : x.source) + ' · ' + (x.rule || '')));
    box.appendChild(li);
  }
}

async function openCall(id) {
  state.call = id;
  saveHash();
  const [d, tl] = await Promise.all([api('/api/calls/' + encodeURIComponent(id)),
    api('/api/calls/' + encodeURIComponent(id) + '/timeline')]);
  const c = d.call;
  $('call-view').hidden = false;
  $('call-id').textContent = c.call_id;
  const sum = $('call-summary');
  const a = parseTime(c.start), b = parseTime(c.end);
  sum.replaceChildren(verdictBadge(c.verdict),
    el('span', ' ' + LABEL[VERDICTS.includes(c.verdict) ? c.verdict : 'unknown'] + ' · confidence ' + Math.round(Number(c.confidence) * 100) + ' % · ' +
      (c.site || '(no site)') + ' · ' + fmtLocal(c.start, true) + ', ' + fmtDuration(a !== null && b !== null ? (b - a) / 1000 : NaN) +
      ' · ' + c.source),
    el('br'), el('span', 'Why: ' + ((c.evidence && c.evidence.rule) || '?'), 'rule'));
  drawPeople(d);
  drawCharts(tl);
  drawHistory(d.history || []);
  const box = $('call-participants');
  box.replaceChildren();
  for (const p of d.participants) {
    const mine = d.streams.filter(s => s.participant === p.participant);
    const card = el('div', null, 'participant');
    const h = el('h3', (personName(p) ? personName(p) + ' · ' : '') + p.participant + ' ');
    h.appendChild(verdictBadge(p.verdict));
    h.appendChild(el('span', ' ' + (p.client_ip || p.client_id || '') + (p.site ? ' · ' + p.site : ''), 'muted'));
    card.appendChild(h);
    if (p.evidence && p.evidence.rule) card.appendChild(el('p', p.evidence.rule, 'rule'));
    const side = el('div', null, 'side');
    side.appendChild(panel('Wire (probe)', probeFigures(mine)));
    side.appendChild(panel('Graph (Microsoft)', graphFigures(p, mine)));
    card.appendChild(side);
    box.appendChild(card);
  }
  if (!state.wall) $('call-view').scrollIntoView();
}

/* ---- refresh, wall display, start ------------------------------------------------- */

let busy = false, again = false;

/* A panel's load; when it fails, its table says so instead of keeping the
 * rows of the last refresh or staying blank. */
function panelLoad(fn, tableId) {
  return fn().catch(e => {
    if (tableId && e.status !== 401) tableNote($(tableId).tBodies[0], 'could not load: ' + e.message, 'error-note');
    throw e;
  });
}

/* The panels' requests in two waves instead of one after the other (seven
 * round trips, about 6 s of the bench's 1,000,000-call store at load 20):
 * first the live panel with the light ones (sites, then the site's timeline,
 * which needs a site: the chosen or last one at once, else the worst from
 * /api/sites; /api/whoami), then, once the live answer is in, the heavier
 * lists (buildings, rated poor, calls, the open call) at once. Why live
 * goes ahead of them: its first request after a feed or a restart reads
 * the look-back (180,000 records with the bench's 1,500 calls in progress,
 * 1.6 s alone at load 20); sharing the 2 cores with the lists it passed the server's 3 s
 * statement limit, and a read cut short starts again from nothing on the
 * next request, so the panel kept answering 503 on every refresh. Later
 * requests read only what is new (10-50 ms). */
async function refresh() {
  if (busy) { again = true; return; } /* a click while loading: once more after this one */
  busy = true;
  again = false;
  setStatus('loading');
  try {
    const live = panelLoad(loadLive, 'live');
    const sites = panelLoad(loadSites, 'sites');
    const jobs = [live, sites, state.site ? loadSite() : sites.then(loadSite)];
    const after = fn => live.then(fn, fn); /* the next wave, whatever live answered */
    jobs.push(after(() => panelLoad(loadBuildings, 'buildings')));
    if (!state.wall) {
      jobs.push(after(() => panelLoad(loadRatedPoor, 'rated-poor')), after(() => panelLoad(loadCalls, 'calls')));
      if (state.call) jobs.push(after(() => openCall(state.call)));
    }
    const bad = (await Promise.allSettled(jobs)).filter(r => r.status === 'rejected').map(r => r.reason);
    if (bad.some(e => e && e.status === 401)) { forget(); setStatus('error', 'token refused'); return; }
    if (bad.length) setStatus('error', bad.map(e => (e && e.message) || String(e)).filter((m, i, a) => a.indexOf(m) === i).join('; '));
    else setStatus('ready', 'ready · ' + fmtLocal(new Date().toISOString()));
  } finally {
    busy = false;
    if (again && state.token) refresh();
  }
}

function schedule() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  const s = parseInt($('auto').value, 10) || 0;
  if (s > 0 && state.token) state.timer = setInterval(() => { if (!document.hidden) refresh(); }, s * 1000);
}

function setWall(on) {
  state.wall = on;
  document.body.classList.toggle('wall', on);
  $('wall').textContent = on ? 'Leave wall display' : 'Wall display';
  if (on && $('auto').value === '0') $('auto').value = '30';
  saveHash();
}

/* Until its first answer, a table says it is loading (not an empty table). */
function showLoading() {
  for (const t of document.querySelectorAll('#main table.grid')) if (!t.tBodies[0].rows.length) tableNote(t.tBodies[0], 'loading…');
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  $('main').hidden = true;
  $('login').hidden = false;
}

function keepToken(t, remember) {
  sessionStorage.setItem(TOKEN_KEY, t);
  if (remember) localStorage.setItem(TOKEN_KEY, t);
}

function start() {
  const hp = hashParams();
  if (hp.token) keepToken(hp.token, hp.remember === '1');
  state.token = sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY);
  state.site = hp.site || null;
  state.siteChosen = !!hp.site;
  siteFilter(state.site);
  state.call = hp.call || null;
  state.liveBuilding = hp.live_building || null;
  setWall(hp.wall === '1'); /* also takes the token out of the address bar */
  $('login-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    keepToken(t, $('remember').checked);
    state.token = t;
    $('token').value = '';
    $('login').hidden = true;
    $('main').hidden = false;
    showLoading();
    state.who = whoami();
    refresh();
    schedule();
  });
  $('refresh').addEventListener('click', refresh);
  $('range').addEventListener('change', () => { $('custom-range').hidden = $('range').value !== 'custom'; refresh(); });
  $('from').addEventListener('change', refresh);
  $('to').addEventListener('change', refresh);
  $('auto').addEventListener('change', schedule);
  $('wall').addEventListener('click', () => { setWall(!state.wall); refresh(); schedule(); });
  $('apply').addEventListener('click', () => loadCalls().then(() => setStatus('ready'), e => setStatus('error', e.message)));
  $('live-building').addEventListener('change', () => {
    state.liveBuilding = $('live-building').value || null;
    saveHash();
    loadLive().then(() => setStatus('ready', 'ready · ' + fmtLocal(new Date().toISOString())), e => setStatus('error', e.message));
  });
  $('site-filter').addEventListener('change', () => { chooseSite($('site-filter').value || null); });
  for (const th of $('calls').tHead.rows[0].cells) {
    th.tabIndex = 0;
    th.addEventListener('click', () => {
      const k = th.dataset.key;
      state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : (th.dataset.type === 'num' && k !== 'worst_mos' ? -1 : 1) };
      renderCalls();
    });
  }
  $('logout').addEventListener('click', () => { forget(); setStatus('idle', 'no token'); });
  if (hp.user) $('f-user').value = hp.user;
  if (hp.building) $('f-building').value = hp.building;
  for (const id of ['f-user', 'f-building', 'client'])
    $(id).addEventListener('keydown', ev => { if (ev.key === 'Enter') $('apply').click(); });
  if (!state.token) { forget(); setStatus('idle', 'no token'); return; }
  $('main').hidden = false;
  showLoading();
  state.who = whoami(); /* in parallel with the panels; only the call list waits for it */
  refresh();
  schedule();
}

/* The token's role (/api/whoami): a viewer sees no personal data and may
 * not search by person, so the person and client address boxes go. A
 * server without whoami (404) serves investigators. */
async function whoami() {
  try {
    const w = await api('/api/whoami');
    state.role = w && w.role === 'viewer' ? 'viewer' : 'investigator';
  } catch (e) {
    state.role = 'investigator';
  }
  $('f-user-label').hidden = state.role === 'viewer';
  $('client-label').hidden = state.role === 'viewer';
  if (state.role === 'viewer') $('f-user').value = $('client').value = '';
  document.body.dataset.role = state.role;
}

window.addEventListener('error', ev => setStatus('error', 'script error: ' + ev.message));
window.addEventListener('unhandledrejection', ev => setStatus('error', 'script error: ' + (ev.reason && ev.reason.message)));
start();
