// gridedge dashboard: shared code (token, API calls, navigation, formatting).
// Plain JavaScript, no build step. The bearer token is kept in sessionStorage (gone when
// the tab closes); a ?token= link is stored and removed from the address bar.
'use strict';

const GE = (() => {
  const TOKEN_KEY = 'gridedge.token';

  function takeTokenFromUrl() {
    const url = new URL(window.location.href);
    const t = url.searchParams.get('token');
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      url.searchParams.delete('token');
      history.replaceState(null, '', url.pathname + (url.search ? url.search : '') + url.hash);
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options = {}) {
    const headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    if (options.body !== undefined && typeof options.body !== 'string') {
      headers['Content-Type'] = 'application/json';
      options = Object.assign({}, options, { body: JSON.stringify(options.body) });
    }
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.status === 204) return null;
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = text;
    }
    if (!response.ok) {
      const err = body && body.error ? body.error : { code: 'http_' + response.status, message: text };
      if (response.status === 401) showLogin(err.message);
      throw new ApiError(response.status, err.code, err.message);
    }
    return body;
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function showLogin(message) {
    if (document.getElementById('login')) return;
    const input = el('input', { id: 'login-token', type: 'password', placeholder: 'ge_…', autocomplete: 'off', size: 70 });
    const form = el(
      'form',
      { id: 'login', class: 'login' },
      el('h2', { text: 'Sign in with an API token' }),
      el('p', { class: 'muted', text: message || 'Create one with: gridedge api token create --db FILE --name NAME --role reader' }),
      input,
      el('button', { type: 'submit', text: 'Sign in' })
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (input.value.trim()) {
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        window.location.reload();
      }
    });
    document.body.prepend(form);
  }

  const PAGES = [
    ['index', './', 'Fleet'],
    ['outages', 'outages.html', 'Outages'],
    ['vee', 'vee.html', 'VEE exceptions'],
    ['billing', 'billing.html', 'Billing'],
    ['commands', 'commands.html', 'Commands'],
  ];

  let whoami = null;

  async function header() {
    const page = document.body.dataset.page;
    const nav = el(
      'nav',
      {},
      el('span', { class: 'brand', text: 'gridedge' }),
      PAGES.map(([id, href, label]) => el('a', { href, class: id === page ? 'active' : null, text: label }))
    );
    const who = el('span', { id: 'whoami', class: 'whoami' });
    const out = el('button', {
      class: 'link',
      text: 'sign out',
      onclick: () => {
        sessionStorage.removeItem(TOKEN_KEY);
        window.location.reload();
      },
    });
    document.body.prepend(el('header', {}, nav, el('span', {}, who, ' ', out)));
    if (!token()) {
      showLogin();
      return null;
    }
    try {
      whoami = await api('/api/v1/whoami');
      who.textContent = `${whoami.name} (${whoami.role})`;
      document.body.dataset.role = whoami.role;
      return whoami;
    } catch (e) {
      who.textContent = '';
      return null;
    }
  }

  function canOperate() {
    return whoami && (whoami.role === 'operator' || whoami.role === 'admin');
  }

  function fmtTime(t) {
    if (!t) return '—';
    return t.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  }

  function fmtNum(v, digits = 2) {
    if (v === null || v === undefined || Number.isNaN(v)) return '—';
    return Number(v).toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return '—';
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
  }

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  function table(headers, rows, attrs = {}) {
    return el(
      'table',
      attrs,
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows)
    );
  }

  function badge(text, kind) {
    return el('span', { class: `badge ${kind || text}`, text });
  }

  function error(container, e) {
    container.replaceChildren(el('p', { class: 'error', text: `${e.code || 'error'}: ${e.message}` }));
  }

  takeTokenFromUrl();

  return { api, el, header, canOperate, fmtTime, fmtNum, fmtDuration, isoDay, table, badge, error, token, ApiError };
})();
