/* callscope NOC dashboard: reads the JSON API with the bearer token kept in
 * this tab's sessionStorage (given as #token=... once, or typed in). Every
 * value from the API goes into the page as text, never as HTML. */
'use strict';

const VERDICTS = ['lan', 'wan', 'endpoint', 'cloud', 'healthy', 'unknown'];
const state = { token: null, site: null, call: null };

function $(id) { return document.getElementById(id); }

function setStatus(s, text) {
  const el = $('status');
  el.dataset.state = s;
  el.textContent = text || s;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function verdictBadge(v) {
  return el('span', v || '?', 'verdict v-' + (VERDICTS.includes(v) ? v : 'unknown'));
}

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

function since() {
  const secs = parseInt($('range').value, 10) || 86400;
  return new Date(Date.now() - secs * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function fill(tbody, rows, cells, onclick) {
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = el('tr');
    const td = el('td', 'none', 'muted');
    td.colSpan = 9;
    tr.appendChild(td);
    tbody.appendChild(tr);
    return;
  }
  for (const r of rows) {
    const tr = el('tr');
    for (const c of cells(r)) {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      tr.appendChild(td);
    }
    if (onclick) { tr.className = 'link'; tr.addEventListener('click', () => onclick(r)); }
    tbody.appendChild(tr);
  }
}

async function loadSites() {
  const d = await api('/api/sites', { since: since() });
  d.sites.sort((a, b) => b.bad - a.bad || b.calls - a.calls);
  fill($('sites').tBodies[0], d.sites, s => [s.site || '(no site)', s.calls, s.bad,
    s.verdicts.lan, s.verdicts.wan, s.verdicts.endpoint, s.verdicts.cloud, s.verdicts.healthy,
    s.verdicts.unknown], s => { state.site = s.site; refresh(); });
  if (!state.site && d.sites.length) state.site = d.sites[0].site;
}

/* Empty buckets between the first and the last are drawn as gaps. */
function withGaps(tl, bucket) {
  if (!tl.length || !bucket) return tl;
  const byT = new Map(tl.map(b => [b.t, b]));
  const out = [];
  const last = tl[tl.length - 1].t;
  for (let t = tl[0].t; t <= last && out.length < 2000; t += bucket)
    out.push(byT.get(t) || { t: t, calls: 0, verdicts: {} });
  return out;
}

function drawTimeline(tl, bucket) {
  const box = $('timeline');
  box.replaceChildren();
  tl = withGaps(tl, bucket);
  const max = Math.max(1, ...tl.map(b => b.calls));
  for (const b of tl) {
    const bar = el('div', null, 'bar');
    bar.title = new Date(b.t * 1000).toISOString() + ': ' + b.calls + ' calls';
    for (const v of VERDICTS) {
      const n = b.verdicts[v] || 0;
      if (!n) continue;
      const seg = el('div', null, 'v-' + v);
      seg.style.height = Math.max(1, Math.round(120 * n / max)) + 'px';
      bar.appendChild(seg);
    }
    box.appendChild(bar);
  }
  const lg = $('legend');
  lg.replaceChildren();
  for (const v of VERDICTS) lg.appendChild(verdictBadge(v));
}

function worstCells(key) {
  return r => [r[key] || r.client_id || '?', r.calls, r.bad, r.verdicts.lan, r.verdicts.wan];
}

async function loadSite() {
  if (!state.site) { $('site-view').hidden = true; return; }
  let d;
  try {
    d = await api('/api/sites/' + encodeURIComponent(state.site), { since: since() });
  } catch (e) {
    if (e.status === 404) { $('site-view').hidden = true; return; }
    throw e;
  }
  $('site-view').hidden = false;
  $('site-name').textContent = state.site;
  drawTimeline(d.timeline, d.bucket_s);
  const pick = r => { $('client').value = r.client_ip || ''; loadCalls(); };
  fill($('worst-clients').tBodies[0], d.worst_clients, r => [r.client_ip || r.client_id, r.calls, r.bad, r.verdicts.lan, r.verdicts.wan], pick);
  fill($('worst-aps').tBodies[0], d.worst_access_points, worstCells('bssid'));
  fill($('worst-subnets').tBodies[0], d.worst_subnets, worstCells('subnet'));
}

async function loadCalls() {
  const p = { since: since(), site: state.site || '', verdict: $('verdict').value, client: $('client').value.trim(), limit: 50 };
  $('calls-scope').textContent = state.site ? 'at ' + state.site : '';
  const d = await api('/api/calls', p);
  fill($('calls').tBodies[0], d.calls, c => [c.start, c.site, verdictBadge(c.verdict),
    c.confidence === null ? '' : Number(c.confidence).toFixed(2), c.rule, c.source, c.call_id],
  c => openCall(c.call_id));
}

function kvTable(obj) {
  const t = el('table', null, 'grid kv');
  const body = el('tbody');
  if (!obj || typeof obj !== 'object') {
    const tr = el('tr');
    tr.appendChild(el('td', 'no data', 'muted'));
    body.appendChild(tr);
  } else {
    for (const k of Object.keys(obj)) {
      const tr = el('tr');
      tr.appendChild(el('td', k));
      const v = obj[k];
      tr.appendChild(el('td', v !== null && typeof v === 'object' ? JSON.stringify(v) : (v === null ? '—' : v)));
      body.appendChild(tr);
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

function probeFigures(streams) {
  const box = el('div');
  if (!streams.length) { box.appendChild(el('p', 'no stream matched to this participant', 'muted')); return box; }
  for (const s of streams) {
    const head = el('p');
    head.appendChild(el('strong', (s.direction || '?') + ' ' + (s.media || '') + ' '));
    head.appendChild(verdictBadge(s.verdict));
    box.appendChild(head);
    const pr = s.probe;
    box.appendChild(kvTable(pr ? { probe: pr.probe_id, first_seen: pr.first_seen, packets: pr.packets, lost: pr.lost,
      loss_pct: pr.loss_pct, jitter_ms_max: pr.jitter_ms_max, network_jitter_ms_max: pr.network_jitter_ms_max,
      mos: pr.mos, client_ip: pr.client_ip } : (s.evidence && s.evidence.wire)));
  }
  return box;
}

function graphFigures(p, streams) {
  const box = el('div');
  box.appendChild(kvTable(p.evidence && p.evidence.graph));
  for (const s of streams) {
    if (!s.evidence || !s.evidence.graph) continue;
    box.appendChild(el('p', (s.direction || '?') + ' ' + (s.media || '')));
    box.appendChild(kvTable(s.evidence.graph));
  }
  return box;
}

async function openCall(id) {
  state.call = id;
  setHash({ call: id });
  const d = await api('/api/calls/' + encodeURIComponent(id));
  const c = d.call;
  $('call-view').hidden = false;
  $('call-id').textContent = c.call_id;
  const sum = $('call-summary');
  sum.replaceChildren(verdictBadge(c.verdict),
    el('span', ' confidence ' + Number(c.confidence).toFixed(2) + ' · ' + (c.site || '(no site)') + ' · ' +
      c.start + ' → ' + c.end + ' · ' + c.source + ' · rule ' + ((c.evidence && c.evidence.rule) || '?')));
  const box = $('call-participants');
  box.replaceChildren();
  for (const p of d.participants) {
    const mine = d.streams.filter(s => s.participant === p.participant);
    const h = el('h3', p.participant + ' ');
    h.appendChild(verdictBadge(p.verdict));
    h.appendChild(el('span', ' ' + (p.client_ip || p.client_id || ''), 'muted'));
    box.appendChild(h);
    const side = el('div', null, 'side');
    side.appendChild(panel('Wire (probe)', probeFigures(mine)));
    side.appendChild(panel('Graph (Microsoft)', graphFigures(p, mine)));
    box.appendChild(side);
    if (p.evidence && p.evidence.thresholds) box.appendChild(panel('Thresholds', kvTable(p.evidence.thresholds)));
  }
  $('call-view').scrollIntoView();
}

async function refresh() {
  setStatus('loading');
  try {
    await loadSites();
    await loadSite();
    await loadCalls();
    if (state.call) await openCall(state.call);
    setStatus('ready');
  } catch (e) {
    if (e.status === 401) { forget(); setStatus('error', 'token refused'); return; }
    setStatus('error', e.message);
  }
}

function forget() {
  sessionStorage.removeItem('callscope-token');
  state.token = null;
  $('main').hidden = true;
  $('login').hidden = false;
}

function start() {
  const hp = hashParams();
  if (hp.token) sessionStorage.setItem('callscope-token', hp.token);
  state.token = sessionStorage.getItem('callscope-token');
  state.site = hp.site || null;
  state.call = hp.call || null;
  setHash({ site: hp.site, call: hp.call }); /* the token leaves the address bar */
  $('login-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    sessionStorage.setItem('callscope-token', t);
    state.token = t;
    $('token').value = '';
    $('login').hidden = true;
    $('main').hidden = false;
    refresh();
  });
  $('refresh').addEventListener('click', refresh);
  $('range').addEventListener('change', refresh);
  $('apply').addEventListener('click', () => loadCalls().then(() => setStatus('ready'), e => setStatus('error', e.message)));
  $('logout').addEventListener('click', () => { forget(); setStatus('idle', 'no token'); });
  if (!state.token) { forget(); setStatus('idle', 'no token'); return; }
  $('main').hidden = false;
  refresh();
}

window.addEventListener('error', ev => setStatus('error', 'script error: ' + ev.message));
window.addEventListener('unhandledrejection', ev => setStatus('error', 'script error: ' + (ev.reason && ev.reason.message)));
start();
