// gridedge dashboard: one function per page, chosen by <body data-page>.
'use strict';

(() => {
  const { api, el, fmtTime, fmtNum, fmtDuration, table, badge } = GE;
  const $ = (id) => document.getElementById(id);

  function card(label, value, id) {
    return el('div', { class: 'card' }, el('div', { class: 'label', text: label }), el('div', { class: 'value', id, text: String(value) }));
  }

  // ---------------------------------------------------------------- fleet overview
  async function overview() {
    const cards = $('cards');
    const meters = $('meters');
    const alarms = $('alarms');
    try {
      const o = await api('/api/v1/fleet');
      cards.replaceChildren(
        card('Meters', o.meters, 'meters-total'),
        card('Communicating', o.comm_ok, 'comm-ok'),
        card('Stale', o.comm_stale, 'comm-stale'),
        card('Never read', o.comm_never_read, 'comm-never'),
        card('Read success (24 h)', o.read_success_rate_24h === null ? '—' : fmtNum(o.read_success_rate_24h * 100, 1) + ' %', 'read-rate'),
        card('Last read', fmtTime(o.last_read_at), 'last-read'),
        card('Alarms (24 h)', o.alarms_24h, 'alarms-24h'),
        card('Open VEE exceptions', o.open_vee_exceptions, 'open-vee'),
        card('Relays open', o.relays_open, 'relays-open')
      );
      alarms.replaceChildren(
        o.recent_alarms.length === 0
          ? el('p', { class: 'muted', text: 'No alarms in the last 24 hours.' })
          : table(
              ['Occurred', 'Meter', 'Event', 'Severity'],
              o.recent_alarms.map((e) =>
                el('tr', {}, el('td', { text: fmtTime(e.occurred_at) }), el('td', {}, meterLink(e.meter)),
                  el('td', { text: e.name || e.event_type }), el('td', {}, badge(e.severity)))
              )
            )
      );
    } catch (e) {
      GE.error(cards, e);
    }
    try {
      const rows = [];
      let cursor = null;
      do {
        const page = await api('/api/v1/meters?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
        for (const m of page.items) {
          rows.push(
            el('tr', { 'data-serial': m.serial },
              el('td', {}, meterLink(m.serial)),
              el('td', { text: m.status }),
              el('td', {}, badge(m.comm_status)),
              el('td', { text: fmtTime(m.last_read_at) }),
              el('td', { text: m.clock_drift_ms === null ? '—' : m.clock_drift_ms + ' ms' }),
              el('td', {}, m.relay_state ? badge(m.relay_state) : '—'),
              el('td', { text: m.transformer || '—' }),
              el('td', { text: m.feeder || '—' }))
          );
        }
        cursor = page.next_cursor;
      } while (cursor);
      meters.replaceChildren(
        table(['Meter', 'Status', 'Communication', 'Last successful read', 'Clock drift', 'Relay', 'Transformer', 'Feeder'], rows, { id: 'meter-table' })
      );
    } catch (e) {
      GE.error(meters, e);
    }
  }

  function meterLink(serial) {
    return el('a', { href: 'meter.html?id=' + encodeURIComponent(serial), text: serial });
  }

  // ---------------------------------------------------------------- meter page
  let chart = null;

  async function meterPage() {
    const id = new URLSearchParams(window.location.search).get('id');
    if (!id) {
      $('title').textContent = 'No meter given (meter.html?id=SERIAL)';
      return;
    }
    $('title').textContent = 'Meter ' + id;
    document.title = 'gridedge — ' + id;
    loadDetail(id);
    loadChart(id);
    loadRegisters(id);
    loadEvents(id);
    loadCommands(id);
    for (const b of document.querySelectorAll('[data-range-days]')) {
      b.addEventListener('click', () => loadChart(id, Number(b.dataset.rangeDays)));
    }
    const canOperate = GE.canOperate();
    for (const [button, kind] of [[$('disconnect'), 'disconnect'], [$('reconnect'), 'reconnect']]) {
      button.disabled = !canOperate;
      button.title = canOperate ? '' : 'needs the operator role';
      button.addEventListener('click', () => sendCommand(id, kind));
    }
  }

  async function loadDetail(id) {
    const box = $('detail');
    try {
      const m = await api('/api/v1/meters/' + encodeURIComponent(id));
      const r = m.registry || {};
      box.replaceChildren(
        el('dl', { class: 'facts' },
          el('dt', { text: 'Status' }), el('dd', { text: m.status }),
          el('dt', { text: 'Communication' }), el('dd', {}, badge(m.comm_status)),
          el('dt', { text: 'Last successful read' }), el('dd', { id: 'meter-last-read', text: fmtTime(m.last_read_at) }),
          el('dt', { text: 'Relay' }), el('dd', { id: 'relay-state' }, m.relay_state ? badge(m.relay_state) : '—'),
          el('dt', { text: 'Address' }), el('dd', { text: r.address ? `${r.address} (${r.transport}, ${r.authentication})` : '—' }),
          el('dt', { text: 'Transformer / feeder' }), el('dd', { text: `${r.transformer || '—'} / ${r.feeder || '—'}` }),
          el('dt', { text: 'Clock drift' }), el('dd', { text: m.clock_drift_ms === null ? '—' : m.clock_drift_ms + ' ms' }))
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function loadChart(id, days) {
    const box = $('chart');
    const info = $('chart-info');
    let url = '/api/v1/meters/' + encodeURIComponent(id) + '/load-profile';
    if (days) {
      const to = new Date();
      const from = new Date(to.getTime() - days * 86400000);
      url += '?from=' + from.toISOString() + '&to=' + to.toISOString();
    } else {
      // Default: the last 7 days up to the newest stored interval (demo data may be old).
      const m = await api('/api/v1/meters/' + encodeURIComponent(id)).catch(() => null);
      const last = m && m.last_read_at ? new Date(m.last_read_at) : new Date();
      const to = new Date(last.getTime() + 1000);
      const from = new Date(to.getTime() - 7 * 86400000);
      url += '?from=' + from.toISOString() + '&to=' + to.toISOString();
    }
    let lp;
    try {
      lp = await api(url);
    } catch (e) {
      GE.error(box, e);
      return;
    }
    const xs = lp.points.map((p) => Date.parse(p.end) / 1000);
    const kw = lp.points.map((p) => p.average_kw);
    const est = lp.points.map((p) => (p.estimated ? p.average_kw : null));
    const sus = lp.points.map((p) => (p.suspect && !p.estimated ? p.average_kw : null));
    box.dataset.points = String(lp.points.length);
    box.dataset.estimated = String(lp.estimated_points);
    info.textContent = `${lp.points.length} intervals of ${lp.interval_length_s / 60} min, ${lp.estimated_points} estimated` +
      ` — drag to zoom, double-click to reset`;
    const opts = {
      width: Math.max(600, box.clientWidth || 900),
      height: 320,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      // Axis labels and the cursor in UTC, like every time on the dashboard.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      axes: [{}, { label: 'kW', size: 60 }],
      series: [
        { label: 'interval end (UTC)' },
        { label: 'demand kW', stroke: '#1f6feb', width: 1.5, fill: 'rgba(31,111,235,0.08)' },
        { label: 'estimated', stroke: '#d97706', fill: '#d97706', paths: () => null, points: { show: true, size: 7, fill: '#d97706' } },
        { label: 'suspect', stroke: '#dc2626', paths: () => null, points: { show: true, size: 7, fill: '#dc2626' } },
      ],
    };
    if (chart) chart.destroy();
    box.replaceChildren();
    chart = new uPlot(opts, [xs, kw, est, sus], box);
    window.GE_CHART = chart;
    box.dataset.rendered = 'true';
  }

  async function loadRegisters(id) {
    const box = $('registers');
    try {
      const channels = await api('/api/v1/meters/' + encodeURIComponent(id) + '/registers');
      if (channels.length === 0) {
        box.replaceChildren(el('p', { class: 'muted', text: 'No register reads in the last 31 days.' }));
        return;
      }
      box.replaceChildren(
        table(['Register', 'OBIS', 'Latest value', 'Read at', 'Reads'],
          channels.map((c) => {
            const last = c.reads[c.reads.length - 1];
            return el('tr', {}, el('td', { text: c.reading_type }), el('td', { text: c.obis }),
              el('td', { text: `${fmtNum(last.value, 1)} ${c.unit}` }), el('td', { text: fmtTime(last.read_at) }),
              el('td', { text: String(c.reads.length) }));
          }))
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function loadEvents(id) {
    const box = $('events');
    try {
      const to = new Date(Date.now() + 60000);
      const from = new Date(to.getTime() - 30 * 86400000);
      const page = await api(`/api/v1/events?meter=${encodeURIComponent(id)}&from=${from.toISOString()}&to=${to.toISOString()}&limit=1000`);
      if (page.items.length === 0) {
        box.replaceChildren(el('p', { class: 'muted', text: 'No events in the last 30 days.' }));
        return;
      }
      box.replaceChildren(
        timeline(page.items.map((e) => ({ at: Date.parse(e.occurred_at), label: e.name || e.event_type, kind: e.severity })), from, to),
        table(['Occurred', 'Event', 'Code', 'Severity', 'Source'],
          page.items.slice().reverse().map((e) => el('tr', {}, el('td', { text: fmtTime(e.occurred_at) }),
            el('td', { text: e.name || '—' }), el('td', { text: e.event_type }), el('td', {}, badge(e.severity)),
            el('td', { text: e.source }))), { id: 'event-table' })
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  // A horizontal timeline of instant events (SVG).
  function timeline(items, from, to) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    const w = 900;
    const h = 40;
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('class', 'timeline');
    const line = document.createElementNS(ns, 'line');
    Object.entries({ x1: 0, y1: 20, x2: w, y2: 20, stroke: '#999' }).forEach(([k, v]) => line.setAttribute(k, v));
    svg.appendChild(line);
    const span = to.getTime() - from.getTime();
    for (const it of items) {
      const c = document.createElementNS(ns, 'circle');
      const x = ((it.at - from.getTime()) / span) * w;
      Object.entries({ cx: x, cy: 20, r: 6, class: 'dot ' + it.kind }).forEach(([k, v]) => c.setAttribute(k, v));
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${it.label} ${new Date(it.at).toISOString()}`;
      c.appendChild(title);
      svg.appendChild(c);
    }
    return svg;
  }

  async function loadCommands(id) {
    const box = $('commands');
    $('all-commands').href = 'commands.html?meter=' + encodeURIComponent(id);
    try {
      const page = await api('/api/v1/commands?meter=' + encodeURIComponent(id) + '&limit=20');
      box.replaceChildren(
        page.items.length === 0
          ? el('p', { class: 'muted', text: 'No commands yet.' })
          : table(['Id', 'Command', 'State', 'By', 'Created', 'Finished', 'Relay', 'Reason'],
            page.items.map((c) => el('tr', { 'data-command-id': String(c.id) },
              el('td', { text: String(c.id) }), el('td', { text: c.kind }), el('td', {}, badge(c.state)),
              el('td', { text: c.issued_by }), el('td', { text: fmtTime(c.created_at) }),
              el('td', { text: fmtTime(c.finished_at) }), el('td', { text: c.relay_state || '—' }),
              el('td', { text: c.reason || '' }))), { id: 'command-table' })
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function sendCommand(id, kind) {
    const status = $('command-status');
    const buttons = [$('disconnect'), $('reconnect')];
    buttons.forEach((b) => (b.disabled = true));
    status.dataset.state = 'queued';
    status.textContent = `${kind}: sending…`;
    try {
      let c = await api('/api/v1/commands', { method: 'POST', body: { meter: id, kind } });
      status.textContent = `${kind} #${c.id}: ${c.state}`;
      loadCommands(id);
      for (let i = 0; i < 12 && !['confirmed', 'failed'].includes(c.state); i++) {
        c = await api(`/api/v1/commands/${c.id}?wait_s=5`);
        status.textContent = `${kind} #${c.id}: ${c.state}`;
      }
      status.dataset.state = c.state;
      status.dataset.commandId = String(c.id);
      status.textContent = `${kind} #${c.id}: ${c.state}` + (c.relay_state ? ` (relay ${c.relay_state})` : '') + (c.reason ? ` — ${c.reason}` : '');
      loadCommands(id);
      loadDetail(id);
      loadEvents(id);
    } catch (e) {
      status.dataset.state = 'error';
      status.textContent = `${kind}: ${e.code}: ${e.message}`;
    } finally {
      buttons.forEach((b) => (b.disabled = !GE.canOperate()));
    }
  }

  // ---------------------------------------------------------------- outages
  async function outagesPage() {
    const fromInput = $('from');
    const toInput = $('to');
    const today = new Date();
    toInput.value = GE.isoDay(new Date(today.getTime() + 86400000));
    fromInput.value = GE.isoDay(new Date(today.getTime() - 30 * 86400000));
    $('period').addEventListener('submit', (ev) => {
      ev.preventDefault();
      loadOutages();
    });
    await loadOutages();
  }

  async function loadOutages() {
    const from = $('from').value + 'T00:00:00Z';
    const to = $('to').value + 'T00:00:00Z';
    const indices = $('indices');
    const current = $('current');
    const past = $('past');
    try {
      const r = await api(`/api/v1/reliability?from=${from}&to=${to}`);
      indices.replaceChildren(
        card('SAIFI (interruptions / customer)', fmtNum(r.saifi, 3), 'saifi'),
        card('SAIDI (min / customer)', fmtNum(r.saidi_minutes, 2), 'saidi'),
        card('CAIDI (min / interruption)', r.caidi_minutes === null ? '—' : fmtNum(r.caidi_minutes, 1), 'caidi'),
        card('MAIFI (momentary / customer)', fmtNum(r.maifi, 3), 'maifi'),
        card('Customers served', r.customers_served, 'customers'),
        card('Sustained interruptions', r.sustained_interruptions, 'sustained')
      );
      const list = await api(`/api/v1/outages?from=${from}&to=${to}&ongoing=true`);
      const ongoing = list.filter((o) => o.kind === 'ongoing');
      const done = list.filter((o) => o.kind !== 'ongoing');
      const row = (o) => el('tr', { 'data-outage': o.id },
        el('td', {}, badge(o.scope)), el('td', { text: o.transformer || '—' }), el('td', { text: o.feeder || '—' }),
        el('td', {}, o.meter ? meterLink(o.meter) : '—'), el('td', { text: `${o.meters_affected} / ${o.meters_served}` }),
        el('td', { text: fmtTime(o.started_at) }), el('td', { text: fmtTime(o.restored_at) }),
        el('td', { text: fmtDuration(o.duration_s) }), el('td', {}, badge(o.kind)));
      const headers = ['Scope', 'Transformer', 'Feeder', 'Meter', 'Meters out', 'Started', 'Restored', 'Duration', 'Kind'];
      current.replaceChildren(ongoing.length ? table(headers, ongoing.map(row), { id: 'current-table' }) : el('p', { class: 'muted', text: 'No outage in progress.' }));
      past.replaceChildren(
        done.length ? outageTimeline(done, new Date(from), new Date(to)) : el('span'),
        done.length ? table(headers, done.map(row), { id: 'past-table' }) : el('p', { class: 'muted', text: 'No outages in the period.' })
      );
    } catch (e) {
      GE.error(indices, e);
    }
  }

  // One row per transformer (or meter), a bar per outage across the period (SVG).
  function outageTimeline(list, from, to) {
    const ns = 'http://www.w3.org/2000/svg';
    const rows = [...new Set(list.map((o) => (o.transformer ? 'T ' + o.transformer : 'M ' + o.meter)))].sort();
    const w = 900;
    const rowH = 22;
    const left = 120;
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${rows.length * rowH + 10}`);
    svg.setAttribute('class', 'timeline');
    svg.setAttribute('id', 'outage-timeline');
    const span = to.getTime() - from.getTime();
    rows.forEach((name, i) => {
      const t = document.createElementNS(ns, 'text');
      t.setAttribute('x', 4);
      t.setAttribute('y', i * rowH + 16);
      t.textContent = name;
      svg.appendChild(t);
    });
    for (const o of list) {
      const name = o.transformer ? 'T ' + o.transformer : 'M ' + o.meter;
      const i = rows.indexOf(name);
      const start = Date.parse(o.started_at);
      const end = o.restored_at ? Date.parse(o.restored_at) : Date.now();
      const x = left + ((start - from.getTime()) / span) * (w - left);
      const width = Math.max(3, ((end - start) / span) * (w - left));
      const r = document.createElementNS(ns, 'rect');
      Object.entries({ x, y: i * rowH + 4, width, height: rowH - 8, class: 'bar ' + o.kind }).forEach(([k, v]) => r.setAttribute(k, v));
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${name}: ${o.started_at} – ${o.restored_at || 'ongoing'} (${o.meters_affected} meters)`;
      r.appendChild(title);
      svg.appendChild(r);
    }
    return svg;
  }

  // ---------------------------------------------------------------- VEE exceptions
  let veeOffset = 0;

  async function veePage() {
    $('filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      veeOffset = 0;
      loadVee();
    });
    await loadVee();
  }

  async function loadVee() {
    const box = $('exceptions');
    const meter = $('f-meter').value.trim();
    const rule = $('f-rule').value.trim();
    const params = new URLSearchParams({ limit: '100', offset: String(veeOffset) });
    if (meter) params.set('meter', meter);
    if (rule) params.set('rule', rule);
    try {
      const page = await api('/api/v1/vee/exceptions?' + params);
      $('vee-total').textContent = `${page.total} open exceptions`;
      const rows = page.items.map((x) => {
        const accept = el('button', { class: 'small', text: 'Accept', disabled: !GE.canOperate() });
        accept.addEventListener('click', () => acceptException(x));
        return el('tr', {}, el('td', {}, meterLink(x.meter)), el('td', { text: x.reading_type }),
          el('td', { text: x.rule, title: x.rule_source }), el('td', { text: fmtTime(x.first_interval_end) }),
          el('td', { text: fmtTime(x.last_interval_end) }), el('td', { text: String(x.intervals) }),
          el('td', { text: x.measured === null ? '—' : fmtNum(x.measured, 2) }),
          el('td', { text: x.limit === null ? '—' : fmtNum(x.limit, 2) }), el('td', { text: fmtTime(x.detected_at) }),
          el('td', {}, accept));
      });
      const nav = el('div', { class: 'pager' });
      if (veeOffset > 0) nav.appendChild(el('button', { text: '← previous', onclick: () => { veeOffset = Math.max(0, veeOffset - 100); loadVee(); } }));
      if (page.next_offset !== null) nav.appendChild(el('button', { text: 'next →', onclick: () => { veeOffset = page.next_offset; loadVee(); } }));
      box.replaceChildren(
        rows.length ? table(['Meter', 'Channel', 'Rule', 'First interval', 'Last interval', 'Intervals', 'Measured', 'Limit', 'Detected', ''], rows, { id: 'vee-table' })
          : el('p', { class: 'muted', text: 'The queue is empty.' }),
        nav
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function acceptException(x) {
    const reason = window.prompt(`Accept ${x.rule} on ${x.meter} (${x.intervals} intervals)? Reason:`);
    if (!reason) return;
    const to = new Date(Date.parse(x.last_interval_end) + 1000).toISOString();
    try {
      await api('/api/v1/vee/exceptions/accept', {
        method: 'POST',
        body: { meter: x.meter, reading_type: x.reading_type, rule: x.rule, from: x.first_interval_end, to, reason },
      });
      loadVee();
    } catch (e) {
      window.alert(`${e.code}: ${e.message}`);
    }
  }

  // ---------------------------------------------------------------- billing
  async function billingPage() {
    const y = new Date(Date.now() - 86400000);
    $('last-day').value = GE.isoDay(y);
    $('first-day').value = GE.isoDay(new Date(y.getTime() - 6 * 86400000));
    $('period').addEventListener('submit', (ev) => {
      ev.preventDefault();
      loadBilling();
    });
    await loadBilling();
  }

  async function loadBilling() {
    const box = $('billing');
    const first = $('first-day').value;
    const last = $('last-day').value;
    try {
      const lines = [];
      let cursor = null;
      let view = null;
      do {
        view = await api(`/api/v1/billing?first_day=${first}&last_day=${last}&limit=200` + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
        lines.push(...view.lines.items);
        cursor = view.lines.next_cursor;
      } while (cursor);
      $('schedule').textContent = `${view.schedule} (${view.time_zone}), ${view.first_day} to ${view.last_day}`;
      const periods = lines.length ? lines[0].tou_kwh.map(([p]) => p) : [];
      box.replaceChildren(
        table(['Meter', 'Bill ready', 'Total kWh', ...periods.map((p) => p + ' kWh'), 'Max demand kW', 'at', 'PF', 'Estimated intervals', 'Problems'],
          lines.map((l) => el('tr', {}, el('td', {}, meterLink(l.meter)), el('td', {}, badge(l.bill_ready ? 'ready' : 'not ready', l.bill_ready ? 'ok' : 'stale')),
            el('td', { text: fmtNum(l.total_kwh, 3) }), l.tou_kwh.map(([, v]) => el('td', { text: fmtNum(v, 3) })),
            el('td', { text: fmtNum(l.max_demand_kw, 3) }), el('td', { text: fmtTime(l.max_demand_at) }),
            el('td', { text: fmtNum(l.power_factor, 3) }), el('td', { text: String(l.estimated_intervals) }),
            el('td', { text: String(l.problems) }))), { id: 'billing-table' })
      );
    } catch (e) {
      GE.error(box, e);
    }
  }


  // ---------------------------------------------------------------- commands
  // The list refreshes itself every 2 s while a shown command is not final, so states
  // follow live (queued → sent → confirmed | failed).
  const FINAL = ['confirmed', 'failed'];
  const commandsView = { before: [], filter: '', timer: null, selected: null };

  async function commandsPage() {
    const meterSelect = $('c-meter');
    try {
      const meters = [];
      let cursor = null;
      do {
        const page = await api('/api/v1/meters?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
        meters.push(...page.items.map((m) => m.serial));
        cursor = page.next_cursor;
      } while (cursor);
      meterSelect.replaceChildren(...meters.map((m) => el('option', { value: m, text: m })));
    } catch (e) {
      GE.error($('c-status'), e);
    }
    const preset = new URL(window.location.href).searchParams.get('meter');
    if (preset) meterSelect.value = preset;
    $('c-send').disabled = !GE.canOperate();
    $('new-command').addEventListener('submit', (ev) => {
      ev.preventDefault();
      createCommand();
    });
    $('c-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      commandsView.before = [];
      loadCommandList();
    });
    $('c-more').addEventListener('click', () => {
      if (commandsView.next) {
        commandsView.before.push(commandsView.next);
        loadCommandList();
      }
    });
    await loadCommandList();
  }

  function commandQuery() {
    const q = new URLSearchParams({ limit: '25' });
    const meter = $('f-meter').value.trim();
    const state = $('f-state').value;
    if (meter) q.set('meter', meter);
    if (state) q.set('state', state);
    const cursor = commandsView.before[commandsView.before.length - 1];
    if (cursor) q.set('cursor', cursor);
    return q.toString();
  }

  function describeResult(c) {
    if (c.state === 'failed') return c.reason || '';
    if (c.state !== 'confirmed' || !c.result) return '';
    const r = c.result;
    if (c.relay_state) return 'relay ' + c.relay_state;
    if (r.drift_before_s !== undefined) return `drift ${fmtNum(r.drift_before_s, 3)} s → ${fmtNum(r.drift_after_s, 3)} s`;
    if (r.threshold_active_w !== undefined) return `threshold ${r.threshold_active_w} W`;
    if (r.calendar_name !== undefined) return `calendar ${r.calendar_name}` + (r.active ? ' (active)' : ' (pending)');
    return '';
  }

  async function loadCommandList() {
    const box = $('command-list');
    clearTimeout(commandsView.timer);
    try {
      const page = await api('/api/v1/commands?' + commandQuery());
      commandsView.next = page.next_cursor;
      $('c-more').hidden = !page.next_cursor;
      box.replaceChildren(
        page.items.length === 0
          ? el('p', { class: 'muted', text: 'No commands.' })
          : table(['Id', 'Meter', 'Command', 'State', 'By', 'Created', 'Updated', 'Outcome'],
            page.items.map((c) => el('tr', { 'data-command-id': String(c.id), 'data-state': c.state, class: 'clickable',
              onclick: () => showHistory(c.id) },
              el('td', { text: String(c.id) }), el('td', {}, meterLink(c.meter)), el('td', { text: c.kind }),
              el('td', { class: 'state' }, badge(c.state)), el('td', { text: c.issued_by }),
              el('td', { text: fmtTime(c.created_at) }), el('td', { text: fmtTime(c.updated_at) }),
              el('td', { text: describeResult(c) }))), { id: 'commands-table' })
      );
      if (page.items.some((c) => !FINAL.includes(c.state))) {
        commandsView.timer = setTimeout(loadCommandList, 2000);
      }
      if (commandsView.selected !== null) showHistory(commandsView.selected);
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function showHistory(id) {
    commandsView.selected = id;
    const box = $('command-history');
    try {
      const c = await api(`/api/v1/commands/${id}`);
      box.replaceChildren(
        el('p', { text: `#${c.id} ${c.kind} for ${c.meter}: ${c.state}` + (c.reason ? ` — ${c.reason}` : '') }),
        table(['At', 'Event', 'Detail'], c.history.map((h) => el('tr', {}, el('td', { text: fmtTime(h.at) }),
          el('td', { text: h.event }), el('td', {}, el('code', { text: JSON.stringify(h.detail) })))),
        { id: 'history-table' })
      );
    } catch (e) {
      GE.error(box, e);
    }
  }

  async function createCommand() {
    const status = $('c-status');
    const meter = $('c-meter').value;
    const kind = $('c-kind').value;
    const text = $('c-parameters').value.trim();
    const body = { meter, kind };
    if (text) {
      try {
        body.parameters = JSON.parse(text);
      } catch (e) {
        status.dataset.state = 'error';
        status.textContent = 'parameters: not JSON: ' + e.message;
        return;
      }
    }
    $('c-send').disabled = true;
    status.dataset.state = 'queued';
    status.textContent = `${kind}: sending…`;
    try {
      let c = await api('/api/v1/commands', { method: 'POST', body });
      status.dataset.commandId = String(c.id);
      status.textContent = `${kind} #${c.id} for ${meter}: ${c.state}`;
      commandsView.before = [];
      loadCommandList();
      for (let i = 0; i < 12 && !FINAL.includes(c.state); i++) {
        c = await api(`/api/v1/commands/${c.id}?wait_s=5`);
        status.dataset.state = c.state;
        status.textContent = `${kind} #${c.id} for ${meter}: ${c.state}`;
      }
      status.dataset.state = c.state;
      status.textContent = `${kind} #${c.id} for ${meter}: ${c.state}` + (describeResult(c) ? ` (${describeResult(c)})` : '');
      loadCommandList();
    } catch (e) {
      status.dataset.state = 'error';
      status.textContent = `${kind}: ${e.code}: ${e.message}`;
    } finally {
      $('c-send').disabled = !GE.canOperate();
    }
  }

  const PAGES = { index: overview, meter: meterPage, outages: outagesPage, vee: veePage, billing: billingPage, commands: commandsPage };

  window.addEventListener('DOMContentLoaded', async () => {
    const who = await GE.header();
    const page = PAGES[document.body.dataset.page];
    if (who && page) {
      await page();
    }
    document.body.dataset.ready = 'true';
  });
})();
