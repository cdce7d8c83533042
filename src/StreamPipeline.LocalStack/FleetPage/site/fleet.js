// The fleet page: every figure comes from a Grafana panel's SQL, run by /api/panel/{dashboard}/{panel} (read-only).
'use strict';

const FLEET = 'streampipeline-fleet', PIPELINE = 'streampipeline-pipeline';
const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#bf3989', '#6e7781'];
const state = { range: '1h', agent: new URLSearchParams(location.search).get('agent'), charts: new Map(), refreshes: 0 };

async function panel(dashboard, id, agent) {
  const q = new URLSearchParams({ range: state.range });
  if (agent) q.set('agent', agent);
  const response = await fetch(`/api/panel/${dashboard}/${id}?${q}`);
  if (!response.ok) throw new Error(`${dashboard}/${id}: ${await response.text()}`);
  return response.json();
}

// ClickHouse's DateTime text ("2026-12-02 00:10:00[.000]") is UTC.
const seconds = text => Date.parse(text.replace(' ', 'T') + 'Z') / 1000;
const isText = type => /String|Enum|UUID/.test(type) && !/DateTime/.test(type);

function cell(value, name) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Math.round(value * 100) / 100);
  return String(value);
}

function renderTable(table, answer, onRow) {
  const { meta, data } = answer.result;
  const head = '<thead><tr>' + meta.map(c => `<th>${c.name}</th>`).join('') + '</tr></thead>';
  table.innerHTML = head + '<tbody></tbody>';
  const body = table.tBodies[0];
  for (const row of data) {
    const tr = body.insertRow();
    row.forEach((v, i) => {
      const td = tr.insertCell();
      td.textContent = cell(v, meta[i].name);
      td.dataset.column = meta[i].name;
      if (meta[i].name === 'status' && typeof v === 'string') td.className = 'status-' + v.toLowerCase();
    });
    if (onRow) onRow(tr, row, meta);
  }
  table.dataset.rows = String(data.length);
}

// Long format (time, [series name,] values...) to uPlot's columns: one x array, one y array per series.
function toSeries(answer) {
  const { meta, data } = answer.result;
  const keyed = meta.length > 2 && isText(meta[1].type);
  const first = keyed ? 2 : 1;
  const times = [...new Set(data.map(r => seconds(r[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = new Map();
  for (const row of data) {
    for (let c = first; c < meta.length; c++) {
      const name = keyed ? (meta.length - first > 1 ? `${row[1]} ${meta[c].name}` : row[1]) : meta[c].name;
      if (!series.has(name)) series.set(name, new Array(times.length).fill(null));
      series.get(name)[index.get(seconds(row[0]))] = row[c] === null ? null : Number(row[c]);
    }
  }
  return { times, names: [...series.keys()], values: [...series.values()] };
}

function renderChart(el, answer) {
  const { times, names, values } = toSeries(answer);
  el.dataset.points = String(times.length);
  el.dataset.series = String(names.length);
  el.dataset.interval = String(answer.intervalSeconds);
  const old = state.charts.get(el.id);
  if (old) old.destroy();
  el.innerHTML = `<div class="title">${answer.title}</div>`;
  if (typeof uPlot === 'undefined') { el.insertAdjacentHTML('beforeend', '<div class="empty">uPlot is missing: run make uplot</div>'); return; }
  if (times.length === 0) { el.insertAdjacentHTML('beforeend', '<div class="empty">no data in this range yet</div>'); el.dataset.drawn = '0'; return; }
  const opts = {
    width: Math.max(320, el.clientWidth), height: 190,
    // The x axis spans the whole range asked for, so a gap before the first point shows as a gap.
    scales: { x: { time: true, range: [answer.from / 1000, answer.to / 1000] } },
    series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false, points: { show: times.length < 60 } }))],
    axes: [{}, { size: 70 }],
    legend: { live: false },
    hooks: { draw: [u => { el.dataset.drawn = String(++state.refreshes); }] },
  };
  state.charts.set(el.id, new uPlot(opts, [times, ...values], el));
}

async function refresh() {
  const errors = [];
  const guard = p => p.catch(e => { errors.push(e.message); return null; });
  const [counts, fleet, commands] = await Promise.all([guard(panel(FLEET, 1)), guard(panel(FLEET, 2)), guard(panel(PIPELINE, 6))]);
  if (counts && counts.result.data.length) {
    const [online, offline, stale] = counts.result.data[0];
    document.getElementById('count-online').textContent = online;
    document.getElementById('count-offline').textContent = offline;
    document.getElementById('count-stale').textContent = stale;
  }
  if (fleet) {
    if (!state.agent && fleet.result.data.length) state.agent = fleet.result.data[0][0];
    renderTable(document.getElementById('fleet-table'), fleet, (tr, row) => {
      tr.dataset.agent = row[0];
      if (row[0] === state.agent) tr.classList.add('selected');
      tr.addEventListener('click', () => { state.agent = row[0]; refresh(); });
    });
  }
  if (commands) renderTable(document.getElementById('commands-table'), commands);
  document.getElementById('agent-name').textContent = state.agent || '-';
  await Promise.all([...document.querySelectorAll('.chart')].map(async el => {
    const agentPanel = el.dataset.dashboard === 'streampipeline-agent';
    if (agentPanel && !state.agent) return;
    const answer = await guard(panel(el.dataset.dashboard, Number(el.dataset.panel), agentPanel ? state.agent : null));
    if (answer) renderChart(el, answer);
  }));
  document.getElementById('errors').textContent = errors.join('\n');
  document.getElementById('updated').textContent = new Date().toISOString().slice(11, 19) + ' UTC';
  document.body.dataset.refreshedAt = String(Date.now());
}

async function start() {
  const config = await (await fetch('/api/config')).json();
  const every = Number(new URLSearchParams(location.search).get('refresh') ?? config.refreshSeconds);
  document.getElementById('refresh-seconds').textContent = every > 0 ? every : 'never';
  const range = document.getElementById('range');
  state.range = new URLSearchParams(location.search).get('range') || range.value;
  range.value = state.range;
  range.addEventListener('change', () => { state.range = range.value; refresh(); });
  await refresh();
  if (every > 0) setInterval(refresh, every * 1000);
}

start().catch(e => { document.getElementById('errors').textContent = e.message; });
