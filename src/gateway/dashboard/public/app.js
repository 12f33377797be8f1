/* AutoMatrix dashboard: live over the gateway WebSocket (protocol in docs/gateway.md), plus a few polled endpoints. */

(() => {
  const params = new URLSearchParams(location.search);
  if (params.get('token')) {
    sessionStorage.setItem('automatrix.token', params.get('token'));
    // Keep the token out of the address bar, history and bookmarks.
    params.delete('token');
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  }
  const token = sessionStorage.getItem('automatrix.token') || '';
  const authHeaders = token ? { authorization: `Bearer ${token}` } : {};
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const WINDOW_S = 15 * 60;
  const COLORS = {
    line: '#58a6ff',
    line2: '#bc8cff',
    grid: '#24303c',
    axis: '#8593a3',
    band: 'rgba(248,81,73,0.18)',
    bandEdge: 'rgba(248,81,73,0.85)',
  };
  const METRIC_LABEL = {
    cpu_usage: 'CPU %',
    memory_usage: 'Memory %',
    network_latency: 'Latency ms',
    error_rate: 'Errors %',
    request_count: 'Requests',
  };
  const METRICS = Object.keys(METRIC_LABEL);

  const state = {
    metric: 'cpu_usage',
    services: new Map(),
    anomalies: new Map(),
    jobs: new Map(),
    models: new Map(),
    actions: [],
    events: [],
    breakers: new Map(),
    perf: null,
    relay: null,
    connected: false,
  };

  // ---------- formatting ----------
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (ms) => {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const ago = (ms) => {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.round(s / 60)}m ago`;
    return `${Math.round(s / 3600)}h ago`;
  };
  const num = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits));
  const pct = (v) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);

  // ---------- charts ----------
  function axes(yLabel, y2Label) {
    const base = {
      stroke: COLORS.axis,
      grid: { stroke: COLORS.grid, width: 1 },
      ticks: { stroke: COLORS.grid, width: 1 },
      font: '11px system-ui, sans-serif',
    };
    const list = [{ ...base }, { ...base, label: yLabel, labelFont: '11px system-ui, sans-serif', size: 44 }];
    if (y2Label)
      list.push({
        ...base,
        scale: 'y2',
        side: 1,
        grid: { show: false },
        label: y2Label,
        labelFont: '11px system-ui, sans-serif',
        size: 48,
      });
    return list;
  }

  function widthOf(node) {
    return Math.max(200, Math.floor(node.clientWidth || node.parentElement.clientWidth || 300) - 4);
  }

  /** Shaded bands for a service's anomalies, drawn under the line. */
  function bandHook(service) {
    return (u) => {
      const { ctx } = u;
      const { left, top, width, height } = u.bbox;
      const [xmin, xmax] = [u.scales.x.min, u.scales.x.max];
      ctx.save();
      for (const a of state.anomalies.values()) {
        if (a.service !== service) continue;
        const start = a.startedAt / 1000;
        const end = (a.endedAt || (a.state === 'CLOSED' ? a.at : Date.now())) / 1000;
        if (end < xmin || start > xmax) continue;
        const x0 = u.valToPos(Math.max(start, xmin), 'x', true);
        const x1 = Math.max(x0 + 3, u.valToPos(Math.min(end, xmax), 'x', true));
        ctx.fillStyle = COLORS.band;
        ctx.fillRect(x0, top, x1 - x0, height);
        ctx.fillStyle = COLORS.bandEdge;
        ctx.fillRect(x0, top, 2, height);
      }
      ctx.restore();
      void left;
      void width;
    };
  }

  // ---------- services ----------
  function serviceEntry(name) {
    let s = state.services.get(name);
    if (s) return s;
    s = {
      name,
      t: [],
      v: Object.fromEntries(METRICS.map((m) => [m, []])),
      last: null,
      card: null,
      plot: null,
      dirty: true,
    };
    state.services.set(name, s);
    return s;
  }

  function onSample(v) {
    const s = serviceEntry(v.service);
    const t = v.timestamp / 1000;
    let i = s.t.length;
    while (i > 0 && s.t[i - 1] > t) i--;
    s.t.splice(i, 0, t);
    for (const m of METRICS) s.v[m].splice(i, 0, v[m]);
    if (!s.last || v.timestamp >= s.last.timestamp) s.last = v;
    s.dirty = true;
  }

  function prune(s) {
    const cutoff = Date.now() / 1000 - WINDOW_S;
    let n = 0;
    while (n < s.t.length && s.t[n] < cutoff) n++;
    if (!n) return;
    s.t.splice(0, n);
    for (const m of METRICS) s.v[m].splice(0, n);
  }

  function openAnomaly(service) {
    let open = null;
    for (const a of state.anomalies.values())
      if (a.service === service && a.state !== 'CLOSED' && (!open || a.at > open.at)) open = a;
    return open;
  }

  function renderServices() {
    const box = $('services');
    if (!state.services.size) return;
    box.querySelector('.empty')?.remove();
    const names = [...state.services.keys()].sort();
    for (const name of names) {
      const s = state.services.get(name);
      prune(s);
      if (!s.card) {
        s.card = el('div', 'service');
        s.card.dataset.service = name;
        s.card.dataset.testid = 'service';
        const head = el('div', 'service-head');
        head.append(el('span', 'service-name', name), el('span', 'service-badge'), el('span', 'stats'));
        s.chart = el('div', 'chart-box');
        s.card.append(head, s.chart);
        const after = names
          .slice(names.indexOf(name) + 1)
          .map((n) => state.services.get(n).card)
          .find((c) => c?.isConnected);
        box.insertBefore(s.card, after || null);
      }
      const open = openAnomaly(name);
      s.card.classList.toggle('has-anomaly', Boolean(open));
      s.card.querySelector('.service-badge').textContent = open
        ? `⚠ ${open.kind} · ${(open.score * 100).toFixed(0)}%`
        : '';
      const l = s.last;
      const stats = s.card.querySelector('.stats');
      stats.innerHTML = '';
      if (l) {
        for (const [label, value] of [
          ['cpu', `${num(l.cpu_usage, 0)}%`],
          ['mem', `${num(l.memory_usage, 0)}%`],
          ['lat', `${num(l.network_latency, 0)}ms`],
          ['err', `${num(l.error_rate, 1)}%`],
        ]) {
          const span = el('span', '', `${label} `);
          span.append(el('b', '', value));
          stats.append(span);
        }
      }
      const data = [s.t.slice(), s.v[state.metric].slice()];
      if (!s.plot || s.plotMetric !== state.metric) {
        s.plot?.destroy();
        s.plotMetric = state.metric;
        s.plot = new uPlot(
          {
            width: widthOf(s.chart),
            height: 120,
            legend: { show: false },
            cursor: { y: false, points: { size: 5 } },
            scales: {
              // Every service on the same 15-minute window, so their charts line up.
              x: { time: true, range: () => [Date.now() / 1000 - WINDOW_S, Date.now() / 1000] },
              y: {
                range: (_u, _min, max) =>
                  state.metric.endsWith('_usage') ? [0, 100] : [Math.min(0, min ?? 0), max > 0 ? max * 1.15 : 1],
              },
            },
            axes: axes(METRIC_LABEL[state.metric]),
            // Points only while there are few samples, so a new service shows at once.
            series: [
              {},
              {
                label: METRIC_LABEL[state.metric],
                stroke: COLORS.line,
                width: 1.5,
                fill: 'rgba(88,166,255,0.08)',
                points: { show: (u) => u.data[0].length < 30, size: 5 },
              },
            ],
            hooks: { drawAxes: [bandHook(name)] },
          },
          data,
          s.chart,
        );
      } else if (s.dirty) s.plot.setData(data);
      else s.plot.redraw(false, false);
      s.card.dataset.points = String(s.t.length);
      s.card.dataset.anomalies = String([...state.anomalies.values()].filter((a) => a.service === name).length);
      s.dirty = false;
    }
  }

  // ---------- anomalies ----------
  function onAnomaly(v) {
    const prev = state.anomalies.get(v.id);
    if (!prev || v.at >= prev.at) state.anomalies.set(v.id, v);
    const s = state.services.get(v.service);
    if (s) s.dirty = true;
  }

  function renderAnomalies() {
    const list = $('anomalies');
    const items = [...state.anomalies.values()].sort((a, b) => b.at - a.at).slice(0, 40);
    if (!items.length) return;
    list.innerHTML = '';
    const open = items.filter((a) => a.state !== 'CLOSED').length;
    $('anomaly-count').textContent = `${open} open · ${state.anomalies.size} in view`;
    for (const a of items) {
      const li = el('li');
      li.dataset.id = a.id;
      li.append(el('span', 'when', clock(a.at)));
      const what = el('span', 'what');
      const score = el('span', 'score');
      const fill = el('span');
      fill.style.width = `${Math.round(Math.min(1, a.score) * 100)}%`;
      score.append(fill);
      what.append(
        score,
        el('b', '', a.service),
        document.createTextNode(` ${a.kind} on ${(a.metrics || []).join(', ')}`),
        el('span', 'sub', a.explanation),
      );
      li.append(what, el('span', `badge ${a.state === 'CLOSED' ? 'ok' : 'CRITICAL'}`, a.state));
      list.append(li);
    }
  }

  // ---------- training ----------
  function onTraining(v) {
    let job = state.jobs.get(v.jobId);
    if (!job)
      state.jobs.set(
        v.jobId,
        (job = {
          id: v.jobId,
          model: v.model,
          status: 'running',
          points: [],
          last: 0,
          hyper: {},
          trial: null,
          message: null,
        }),
      );
    job.last = Math.max(job.last, v.at);
    if (v.kind === 'JOB_STARTED') job.status = 'running';
    if (v.kind === 'JOB_FINISHED') job.status = 'finished';
    if (v.kind === 'JOB_FAILED') job.status = 'failed';
    if (v.trial !== null && v.trial !== undefined) job.trial = v.trial;
    if (v.message) job.message = v.message;
    if (v.hyperparameters && Object.keys(v.hyperparameters).length) job.hyper = v.hyperparameters;
    if (v.kind === 'EPOCH')
      job.points.push({ step: job.points.length + 1, trial: v.trial, epoch: v.epoch, ...v.metrics });
    job.dirty = true;
  }

  let trainingPlot = null;
  let plottedJob = null;
  /** The running job; while it has too few epochs to draw, the last job that has curves. */
  function currentJob() {
    const jobs = [...state.jobs.values()].sort((a, b) => b.last - a.last);
    const running = jobs.find((j) => j.status === 'running');
    if (running && running.points.length >= 3) return { job: running, note: '' };
    const drawn = jobs.find((j) => j.points.length >= 3);
    if (drawn) return { job: drawn, note: running && running !== drawn ? ` · ${running.id} starting` : '' };
    return running || jobs[0] ? { job: running || jobs[0], note: '' } : undefined;
  }

  function renderTraining() {
    const current = currentJob();
    if (!current) return;
    const { job, note } = current;
    $('training-job').textContent = `${job.model} · ${job.id} · ${job.status}${note}`;
    $('training-job').dataset.status = job.status;
    const keys = [...new Set(job.points.flatMap((p) => Object.keys(p)))]
      .filter((k) => !['step', 'trial', 'epoch'].includes(k))
      .sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)))
      .slice(0, 4);
    const data = [
      job.points.map((p) => p.step),
      ...keys.map((k) => job.points.map((p) => (p[k] === undefined ? null : p[k]))),
    ];
    const box = $('training-chart');
    const sig = `${job.id}|${keys.join(',')}`;
    if (!trainingPlot || plottedJob !== sig) {
      trainingPlot?.destroy();
      plottedJob = sig;
      const palette = [COLORS.line, '#f0883e', COLORS.line2, '#3fb950'];
      trainingPlot = new uPlot(
        {
          width: widthOf(box),
          height: 180,
          cursor: { y: false },
          legend: { live: false },
          scales: { x: { time: false } },
          axes: [
            { ...axes('')[0], label: 'epoch (all trials)', labelFont: '11px system-ui, sans-serif' },
            axes('loss')[1],
          ],
          series: [
            { label: 'step' },
            ...keys.map((k, i) => ({
              label: k,
              stroke: palette[i],
              width: 1.6,
              points: { show: job.points.length < 40 },
            })),
          ],
        },
        data,
        box,
      );
    } else if (job.dirty) trainingPlot.setData(data);
    box.dataset.points = String(job.points.length);
    job.dirty = false;
    const meta = $('training-meta');
    meta.innerHTML = '';
    const last = job.points[job.points.length - 1];
    const pairs = [
      ['trial', job.trial ?? '—'],
      ['epochs', job.points.length],
      ...(last ? keys.map((k) => [k, num(last[k], 4)]) : []),
      ...Object.entries(job.hyper).slice(0, 5),
    ];
    for (const [k, v] of pairs) {
      const span = el('span', '', `${k} `);
      span.append(el('b', '', String(v)));
      meta.append(span);
    }
  }

  // ---------- models ----------
  function onModel(v, key) {
    if (v === null) state.models.delete(key);
    else state.models.set(`${v.model}/${v.version}`, v);
  }

  // The model's error on its holdout, in the target's units, beside the linear baseline's on the same rows
  // (what the promotion gate compares, the version's `evaluation`); never the scaled validation loss of training.
  const HOLDOUT_PREFERRED = ['rmse', 'combined_loss'];
  function holdoutCell(evaluation) {
    const network = evaluation?.network || {};
    const name = HOLDOUT_PREFERRED.find((k) => network[k] !== undefined) || Object.keys(network)[0];
    if (!name) return el('td', 'metric', '—');
    const baseline = evaluation.linear?.[name];
    const cell = el('td', 'metric', `${name.replace(/_/g, ' ')} ${num(network[name], 4)}`);
    cell.dataset.testid = 'holdout';
    if (baseline !== undefined) cell.append(el('span', 'sub', ` · linear ${num(baseline, 4)}`));
    const rows = evaluation.holdoutRows ? ` over ${evaluation.holdoutRows} rows` : '';
    cell.title = `holdout ${name} ${network[name]}${rows}${baseline !== undefined ? `; linear baseline ${baseline}` : ''}`;
    return cell;
  }

  /** The version, with its model in front on narrow screens (where the Model column is hidden). */
  function versionCell(m) {
    const cell = el('td', 'version');
    cell.append(el('span', 'model-prefix', `${m.model} `), document.createTextNode(m.version));
    return cell;
  }

  function renderModels() {
    const body = $('models');
    const rows = [...state.models.values()]
      .sort((a, b) => a.model.localeCompare(b.model) || b.createdAt - a.createdAt)
      .slice(0, 14);
    if (!rows.length) return;
    body.innerHTML = '';
    for (const m of rows) {
      const tr = el('tr');
      tr.dataset.model = `${m.model}/${m.version}`;
      const status = el('td');
      status.append(el('span', `badge ${m.status}`, m.status));
      tr.append(
        el('td', 'model', m.model),
        versionCell(m),
        status,
        holdoutCell(m.evaluation),
        el('td', '', ago(m.createdAt)),
      );
      body.append(tr);
    }
  }

  // ---------- actions and events ----------
  // One row per action: its latest step, and the steps so far (PROPOSED → EXECUTED → VERIFIED ...).
  function onAction(v) {
    const i = state.actions.findIndex((a) => a.id === v.id);
    const steps = i >= 0 ? state.actions[i].steps : [];
    if (i >= 0) state.actions.splice(i, 1);
    if (!steps.includes(v.status)) steps.push(v.status);
    state.actions.unshift({ ...v, steps });
    state.actions.sort((a, b) => b.at - a.at);
    state.actions.length = Math.min(state.actions.length, 50);
  }

  function renderActions() {
    const list = $('actions');
    if (!state.actions.length) return;
    list.innerHTML = '';
    for (const a of state.actions.slice(0, 30)) {
      const li = el('li');
      li.dataset.id = a.id;
      li.append(el('span', 'when', clock(a.at)));
      const what = el('span', 'what');
      what.append(
        el('b', '', `${a.kind} `),
        document.createTextNode(a.target),
        el('span', 'sub', a.reason + (a.detail ? ` — ${a.detail}` : a.error ? ` — ${a.error}` : '')),
      );
      if (a.steps.length > 1) what.append(el('span', 'sub steps', a.steps.join(' → ')));
      li.append(what);
      if (a.dryRun) li.append(el('span', 'badge dry', 'DRY RUN'));
      li.append(el('span', `badge ${a.status}`, a.status));
      list.append(li);
    }
  }

  function onEvent(v) {
    state.events.unshift(v);
    state.events.sort((a, b) => b.at - a.at);
    state.events.length = Math.min(state.events.length, 100);
    if (v.kind === 'breaker_state' && v.subject) {
      const prev = state.breakers.get(v.subject);
      if (!prev || v.at >= prev.at)
        state.breakers.set(v.subject, { state: v.data.state || v.data.to || 'UNKNOWN', at: v.at });
    }
  }

  function renderEvents() {
    const list = $('events');
    if (!state.events.length) return;
    list.innerHTML = '';
    for (const e of state.events.slice(0, 60)) {
      const li = el('li');
      li.append(el('span', 'when', clock(e.at)), el('span', `badge ${e.severity}`, e.severity));
      const what = el('span', 'what');
      what.append(
        el('b', '', `${e.component} `),
        document.createTextNode(`${e.kind}${e.subject ? ` · ${e.subject}` : ''}: ${e.message}`),
      );
      li.append(what);
      list.append(li);
    }
  }

  // ---------- routes ----------
  let deliveryPlot = null;
  function breakerOf(route, endpoint, relayEndpoint) {
    const fromRelay =
      relayEndpoint &&
      (relayEndpoint.breaker?.state || relayEndpoint.breaker || relayEndpoint.breakerState || relayEndpoint.state);
    if (typeof fromRelay === 'string') return fromRelay.toUpperCase();
    const b = state.breakers.get(`${route}/${endpoint}`) || state.breakers.get(endpoint);
    return b ? String(b.state).toUpperCase() : 'CLOSED';
  }

  function relayRoutes() {
    const r = state.relay;
    const routes = Array.isArray(r) ? r : r && Array.isArray(r.routes) ? r.routes : [];
    const out = new Map();
    for (const route of routes) {
      const name = route.name || route.route;
      if (!name) continue;
      const eps = new Map();
      for (const e of route.endpoints || []) eps.set(e.id || e.endpoint, e);
      out.set(name, eps);
    }
    return out;
  }

  // The route policy's current score of an endpoint (GET /relaycore/status): for `learned`, the expected
  // cost with the predicted latency and failure probability; before a model exists, p2c's peak-EWMA cost.
  function scoreCell(relayEp, e) {
    const s = relayEp?.score;
    if (!s || typeof s !== 'object') return el('span', '', `${num(e.throughputPerS, 1)}/s`);
    const learned = s.predictedLatencyMs !== null && s.predictedLatencyMs !== undefined;
    const text = learned
      ? `${num(s.score, 1)} · ${num(s.predictedLatencyMs, 0)} ms · ${pct(s.failureProbability)}`
      : s.score === null
        ? s.basis
        : `${s.basis} ${num(s.score, 1)}`;
    const cell = el('span', `score${relayEp.shedding ? ' shed' : ''}`, text);
    cell.dataset.testid = 'score';
    if (learned) cell.dataset.failure = String(s.failureProbability);
    cell.title = learned
      ? `learned: expected cost ${num(s.score, 2)} (lowest is chosen), predicted latency ${num(s.predictedLatencyMs, 1)} ms, failure probability ${pct(s.failureProbability)}${relayEp.shedding ? ', shed' : ''}`
      : `${s.basis}: cost ${num(s.score, 2)} (peak-EWMA ${num(s.peakEwmaMs, 1)} ms, ${s.inflight} in flight)`;
    return cell;
  }

  function relayModel() {
    const m = state.relay?.model;
    if (!m) return '';
    return m.version ? `model ${m.version}` : 'no model yet (p2c-peak-ewma)';
  }

  // A learned route says what it runs on: its model, or the p2c-peak-ewma fallback and why (status.routes[].learned).
  function learnedPolicy(name) {
    const l = (state.relay?.routes || []).find((x) => x.name === name)?.learned;
    const span = el(
      'span',
      'route-policy',
      l?.fallback ? `learned · fallback ${l.fallback}` : `learned · ${relayModel()}`,
    );
    if (l?.fallback) {
      span.dataset.fallback = l.fallback;
      span.title = l.reason || '';
      span.append(el('span', 'route-fallback', ` (${l.reason || 'no model'})`));
    }
    return span;
  }

  function relayPolicies() {
    const r = state.relay;
    return new Map((r && Array.isArray(r.routes) ? r.routes : []).map((route) => [route.name, route.policy]));
  }

  function renderRoutes() {
    const perf = state.perf;
    const window5 = perf?.windows?.find((w) => w.window === '5m');
    const relay = relayRoutes();
    const routes = new Map();
    // With RelayCore's status, its routes are the ones that exist: a deleted route's recent outcomes do not bring it back.
    for (const r of window5?.routes || []) if (!state.relay || relay.has(r.route)) routes.set(r.route, r);
    for (const name of relay.keys())
      if (!routes.has(name)) routes.set(name, { route: name, endpoints: [], attempts: 0 });
    const box = $('routes');
    if (!routes.size && (state.relay || window5)) box.replaceChildren(el('p', 'empty', 'No routes.'));
    if (routes.size) {
      box.innerHTML = '';
      for (const r of [...routes.values()].sort((a, b) => a.route.localeCompare(b.route))) {
        const div = el('div', 'route');
        div.dataset.route = r.route;
        const head = el('div', 'route-head');
        head.append(el('span', 'route-name', r.route));
        const policy = relayPolicies().get(r.route);
        if (policy) head.append(policy === 'learned' ? learnedPolicy(r.route) : el('span', 'route-policy', policy));
        head.append(
          el(
            'span',
            'route-sum',
            r.attempts
              ? `${pct(r.successRate)} ok · ${num(r.throughputPerS, 1)}/s · p99 ${num(r.latencyMs?.p99, 0)} ms`
              : 'no deliveries in 5 min',
          ),
        );
        div.append(head);
        const eps = new Map((r.endpoints || []).map((e) => [e.endpoint, e]));
        for (const id of relay.get(r.route)?.keys() || []) if (!eps.has(id)) eps.set(id, { endpoint: id, attempts: 0 });
        for (const e of [...eps.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint))) {
          const relayEp = relay.get(r.route)?.get(e.endpoint);
          const row = el('div', 'endpoint');
          row.dataset.endpoint = e.endpoint;
          const breaker = breakerOf(r.route, e.endpoint, relayEp);
          const badge = el('span', `badge ${breaker}`, breaker);
          badge.dataset.testid = 'breaker';
          const bar = el(
            'div',
            `bar ${e.successRate === null || e.successRate === undefined ? '' : e.successRate < 0.9 ? 'bad' : e.successRate < 0.98 ? 'warn' : ''}`,
          );
          const fill = el('span');
          fill.style.width = `${Math.round((e.successRate ?? 0) * 100)}%`;
          bar.append(fill);
          bar.title = `success ${pct(e.successRate)}`;
          row.append(
            el('span', 'name', e.endpoint),
            badge,
            bar,
            el('span', '', `${pct(e.successRate)} ok`),
            el('span', '', `p50 ${num(e.latencyMs?.p50, 0)} · p99 ${num(e.latencyMs?.p99, 0)}`),
            scoreCell(relayEp, e),
          );
          div.append(row);
        }
        box.append(div);
      }
    }
    const points = perf?.timeline?.points || [];
    if (!points.length) return;
    const bucket = perf.timeline.bucketSeconds || 10;
    const data = [
      points.map((p) => p.at / 1000),
      points.map((p) => p.attempts / bucket),
      points.map((p) => (p.successRate === null ? null : p.successRate * 100)),
      points.map((p) => p.p99LatencyMs),
    ];
    const chart = $('delivery-chart');
    if (!deliveryPlot) {
      deliveryPlot = new uPlot(
        {
          width: widthOf(chart),
          height: 190,
          cursor: { y: false },
          legend: { live: false },
          // Latency on a log scale: a few timeouts should not flatten the usual p99.
          scales: {
            x: { time: true },
            y: { range: (_u, _min, max) => [0, Math.max(110, max * 1.15)] },
            y2: { distr: 3, log: 10 },
          },
          axes: axes('per s · success %', 'p99 ms'),
          series: [
            {},
            { label: 'attempts/s', stroke: COLORS.line, width: 1.6, fill: 'rgba(88,166,255,0.1)' },
            // An idle bucket has no success rate or p99 (null): the lines break there instead of bridging it.
            { label: 'success %', stroke: '#3fb950', width: 1.4, spanGaps: false },
            { label: 'p99 ms', stroke: '#f0883e', width: 1.2, scale: 'y2', spanGaps: false },
          ],
        },
        data,
        chart,
      );
    } else deliveryPlot.setData(data);
  }

  // ---------- rendering ----------
  let renderTimer = null;
  function scheduleRender() {
    if (renderTimer) return;
    renderTimer = setTimeout(() => {
      renderTimer = null;
      for (const f of [
        renderServices,
        renderAnomalies,
        renderTraining,
        renderModels,
        renderActions,
        renderEvents,
        renderRoutes,
      ]) {
        try {
          f();
        } catch (err) {
          console.error(err);
        }
      }
    }, 200);
  }

  // ---------- the WebSocket feed ----------
  const SUBS = [
    { id: 'metrics', topic: 'metrics.samples', from: '-15m', on: onSample },
    { id: 'anomalies', topic: 'anomalies', from: '-1h', on: onAnomaly },
    { id: 'training', topic: 'training.events', from: '-2h', on: onTraining },
    { id: 'models', topic: 'model.registry', from: 'earliest', on: onModel },
    { id: 'actions', topic: 'orchestrator.actions', from: '-1h', on: onAction },
    { id: 'events', topic: 'ecosystem.events', from: '-1h', on: onEvent },
  ];
  /** Next offset per subscription and partition: a reconnect resumes exactly there. */
  const positions = {};
  let backoff = 500;

  function setPill(id, cls, text) {
    const p = $(id);
    p.className = `pill ${cls}`;
    p.textContent = text;
  }

  function connect() {
    const url = new URL('/api/v2/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (token) url.searchParams.set('token', token);
    const ws = new WebSocket(url);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      backoff = 500;
      state.connected = true;
      setPill('feed', 'ok', 'feed live');
      for (const s of SUBS) {
        const from = positions[s.id] ? { offsets: positions[s.id], otherwise: 'earliest' } : s.from;
        ws.send(JSON.stringify({ type: 'subscribe', id: s.id, topic: s.topic, from }));
      }
    };
    // Each frame is a JSON array of messages (docs/gateway.md).
    ws.onmessage = (ev) => {
      for (const msg of JSON.parse(ev.data)) onMessage(msg);
    };
    const onMessage = (msg) => {
      if (msg.type === 'data') {
        const sub = SUBS.find((s) => s.id === msg.sub);
        const pos = (positions[msg.sub] ||= {});
        for (const r of msg.records) {
          pos[r.partition] = String(BigInt(r.offset) + 1n);
          if (sub && (r.value !== null || sub.id === 'models')) sub.on(r.value, r.key);
        }
        scheduleRender();
      } else if (msg.type === 'subscribed' || msg.type === 'partitions_added') {
        const pos = (positions[msg.id] ||= {});
        for (const p of msg.partitions) if (pos[p.partition] === undefined) pos[p.partition] = p.start;
      } else if (msg.type === 'lagged') {
        onEvent({
          component: 'dashboard',
          kind: 'lagged',
          severity: 'WARNING',
          subject: null,
          message: `this page fell behind: ${msg.dropped} records skipped`,
          data: {},
          at: Date.now(),
        });
        scheduleRender();
      } else if (msg.type === 'error') {
        console.warn('gateway:', msg);
        if (['topic_not_allowed', 'topic_not_permitted', 'topic_unavailable'].includes(msg.code))
          onEvent({
            component: 'dashboard',
            kind: 'feed',
            severity: 'WARNING',
            subject: null,
            message: msg.message,
            data: {},
            at: Date.now(),
          });
        scheduleRender();
      }
    };
    ws.onclose = (ev) => {
      state.connected = false;
      const reason =
        !opened && !ev.reason
          ? token
            ? 'refused (token?)'
            : 'refused: if API_TOKEN is set, open this page with ?token=…'
          : ev.reason || `closed ${ev.code}`;
      setPill('feed', 'bad', `feed ${reason} · retrying`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  // ---------- polled endpoints ----------
  async function getJson(path) {
    const res = await fetch(path, { headers: authHeaders });
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    return res.json();
  }

  async function pollHealth() {
    try {
      const h = await fetch('/health').then((r) => r.json());
      setPill('health', h.status, `health ${h.status}`);
      for (const dep of ['broker', 'registry']) {
        const d = h.dependencies?.[dep];
        if (d) setPill(dep, d.ok ? 'ok' : 'bad', d.ok ? `${dep} ${d.latencyMs} ms` : `${dep} down`);
      }
    } catch {
      setPill('health', 'down', 'health unreachable');
    }
  }

  async function pollPerformance() {
    try {
      state.perf = await getJson('/api/v2/analytics/performance');
      scheduleRender();
    } catch {
      /* keep the last figures */
    }
  }

  // RelayCore is optional: ask the API description once whether this process serves its status.
  let relayMissing = false;
  const relayAvailable = fetch('/docs/json')
    .then((r) => r.json())
    .then((spec) => Boolean(spec.paths?.['/api/v2/relaycore/status']))
    .catch(() => false);
  async function pollRelay() {
    if (relayMissing || !(await relayAvailable)) return;
    try {
      state.relay = await getJson('/api/v2/relaycore/status');
      scheduleRender();
    } catch (err) {
      // RelayCore is optional: without it, routes come from delivery.outcomes alone.
      if (err.status === 404) relayMissing = true;
    }
  }

  for (const b of document.querySelectorAll('#metric-tabs button')) {
    b.addEventListener('click', () => {
      state.metric = b.dataset.metric;
      for (const o of document.querySelectorAll('#metric-tabs button')) o.classList.toggle('active', o === b);
      for (const s of state.services.values()) s.dirty = true;
      scheduleRender();
    });
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const s of state.services.values()) s.plot?.setSize({ width: widthOf(s.chart), height: 120 });
      trainingPlot?.setSize({ width: widthOf($('training-chart')), height: 180 });
      deliveryPlot?.setSize({ width: widthOf($('delivery-chart')), height: 190 });
    }, 150);
  });

  setInterval(() => ($('clock').textContent = new Date().toLocaleTimeString()), 1000);
  // Bands of open anomalies grow with time, and old samples leave the window.
  setInterval(scheduleRender, 5000);
  connect();
  pollHealth();
  pollPerformance();
  pollRelay();
  setInterval(pollHealth, 5000);
  setInterval(pollPerformance, 3000);
  setInterval(pollRelay, 5000);
})();
