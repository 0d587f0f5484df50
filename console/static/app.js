// Cloud Kafka web console: the browser side.
//
// The page is plain HTML, CSS and ES2020 with no build step; the broker's
// admin listener serves it from files embedded in its binary, and nothing is
// fetched from anywhere else. It talks to the JSON API of console/API.md as
// the operator who logged in, so the broker's ACLs decide what is shown and
// which write controls appear.
//
// The page must run under a strict Content-Security-Policy
// (default-src 'self'; style-src 'self'), and everything it shows comes from
// the cluster, where names, keys, values and headers may hold markup. So:
// no innerHTML, insertAdjacentHTML or document.write; no inline handlers or
// style attributes; no eval. Elements are built with h() from dom.js, which
// sets text with textContent and attributes with setAttribute only.
//
// Modules: app.js (state, API client, session, routing, pages), dom.js
// (element building and formatting), records.js (record bytes as text,
// JSON or hex) and chart.js (canvas line charts).
//
// Element ids and attributes the browser tests rely on (keep them stable):
//
//   layout    #status (role=alert, errors and notices)  #whoami  #logout
//             #nav-brokers #nav-topics #nav-groups #nav-messages #nav-charts
//             #page[data-page=brokers|topics|topic|groups|group|messages|charts|login]
//             #page[data-ready=true|false]: false while the page loads or a
//             write is in flight, true once the load has finished (with its
//             data, or with the error shown in #status); when the API
//             cannot be reached at all, data-page=unavailable and #retry
//   login     #login-user #login-password #login-mechanism (select)
//             #login-submit #login-error
//   brokers   #cluster-id #controller-id #brokers-table tr[data-broker=<id>]
//   topics    #topics-table tr[data-topic=<name>] td.partitions td.size
//             td.under-replicated (td.size has data-bytes with the raw count)
//             #topic-create-name #topic-create-partitions #topic-create-rf
//             #topic-create-submit (also #topic-create-configs, #topic-filter)
//   topic     #topic-name #topic-messages (link to the message browser)
//             #partitions-table tr[data-partition=<n>] td.leader td.replicas
//             td.isr td.start td.end td.size
//             #configs-table tr[data-config=<name>] td.value td.source
//             #config-edit-name (input with a datalist) #config-edit-value
//             #config-edit-submit #config-delete-submit
//             #add-partitions-count #add-partitions-submit
//             #topic-delete, then #topic-delete-confirm (created on click)
//   groups    #groups-table tr[data-group=<id>] td.state td.members td.lag
//   group     #group-id #group-state #group-lag #group-refresh
//             #members-table tr[data-member=<memberId>]
//             #offsets-table tr[data-topic=<t>][data-partition=<p>]
//             td.committed td.end td.lag
//             #reset-topic #reset-to #reset-value #reset-submit (shown only
//             when the group is Empty or Dead and the session may alter)
//   messages  #msg-topic (select) #msg-partition (number) #msg-mode (select)
//             #msg-offset #msg-time (datetime-local, local time) #msg-limit
//             #msg-view (select text|json|hex) #msg-submit
//             #msg-range  #messages-empty  #msg-prev #msg-next #msg-latest
//             #messages-table tr[data-offset=<n>] td.timestamp td.key
//             td.value td.headers
//   charts    canvas#chart-throughput canvas#chart-lag (data-samples holds
//             the number of samples drawn) #chart-topic #chart-group

import {
  h, add, cell, numCell, sizeCell, muted, badge, thead, tableWrap, emptyRow, dataTable, field, card,
  pageHeader, fact, readOnlyNote, filterInput,
  fmtBytes, fmtTime, fmtLag, fmtList, clockTime, localInputToMs, msToLocalInput, wholeNumber,
} from './dom.js';
import { bytesView, headersView } from './records.js';
import { drawChart } from './chart.js';

// ---------------------------------------------------------------------------
// Limits and shared state
// ---------------------------------------------------------------------------

// The group page reloads its group this often while it is shown.
const GROUP_REFRESH_MS = 5000;

// The message API's bounds on `limit` (API.md: 1 to 200, default 20).
const MESSAGE_LIMIT_MIN = 1;
const MESSAGE_LIMIT_MAX = 200;
const MESSAGE_LIMIT_DEFAULT = 20;

// The charts refresh every `intervalMs` of the series, clamped so that a
// strange value neither spins the browser nor freezes the charts.
const CHART_INTERVAL_MS_MIN = 1000;
const CHART_INTERVAL_MS_MAX = 60000;
const CHART_INTERVAL_MS_DEFAULT = 5000;

// Kafka's own limit on topic name length.
const TOPIC_NAME_LENGTH_MAX = 249;

const LOGIN_PATH = '/api/login';
const PAGE_TITLES = {
  brokers: 'Brokers', topics: 'Topics', topic: 'Topic', groups: 'Consumer groups',
  group: 'Consumer group', messages: 'Messages', charts: 'Charts', login: 'Log in',
};

const state = {
  // The /api/session document; null until it has loaded.
  session: null,
  // Counts page changes. Asynchronous work started for a page compares it
  // before touching the DOM, so a late answer never draws over a newer page.
  generation: 0,
  // Functions that stop the current page's timers and observers.
  leaveHooks: [],
  // A notice to show once the next page has started: a write that moves to
  // another page (deleting a topic) reports its success there.
  pendingNotice: '',
};

const byId = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// ---------------------------------------------------------------------------
// Status area
// ---------------------------------------------------------------------------

function showStatus(kind, message) {
  const status = byId('status');
  status.textContent = message;
  status.setAttribute('data-kind', kind);
}

// showError shows an error in #status. Errors already dealt with (a 401,
// which has moved to the login screen) are skipped.
function showError(err) {
  if (err && err.handled) return;
  showStatus('error', err instanceof Error ? err.message : String(err));
}

function showNotice(message) {
  showStatus('notice', message);
}

function clearStatus() {
  const status = byId('status');
  status.textContent = '';
  status.removeAttribute('data-kind');
}

// ---------------------------------------------------------------------------
// API client
// ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    // True when the error has been dealt with and must not be shown again.
    this.handled = false;
  }
}

// api calls the console API. Writes carry the session's CSRF token; every
// call sends the session cookie. It returns the parsed body (null for 204)
// and throws ApiError with the API's `error` text otherwise. A 401 (other
// than a refused login) means the session is gone: it shows the login page.
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') headers['X-CK-CSRF'] = (state.session && state.session.csrf) || '';
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  let data;
  try {
    response = await fetch(path, init);
    data = await readBody(response);
  } catch (err) {
    throw new ApiError(0, `The console could not reach the broker's admin listener (${err.message}).`);
  }
  if (response.ok) {
    if (data === undefined) throw new ApiError(response.status, `${method} ${path}: the answer is not JSON.`);
    return data;
  }
  const message = data && typeof data.error === 'string' && data.error !== ''
    ? data.error : `${method} ${path} failed: HTTP ${response.status}.`;
  const err = new ApiError(response.status, message);
  if (response.status === 401 && path !== LOGIN_PATH) {
    sessionEnded(message);
    err.handled = true;
  }
  throw err;
}

// readBody returns the JSON body, null when there is none, or undefined
// when there is one that is not JSON.
async function readBody(response) {
  const text = await response.text();
  if (response.status === 204 || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const topicPath = (name) => `/api/topics/${enc(name)}`;
const groupPath = (id) => `/api/groups/${enc(id)}`;

// ---------------------------------------------------------------------------
// Session: who is logged in, login and logout
// ---------------------------------------------------------------------------

function renderWho() {
  const s = state.session;
  const loggedIn = Boolean(s && s.loggedIn);
  byId('whoami').textContent = loggedIn ? s.principal : '';
  byId('access').hidden = !loggedIn || s.canAlter;
  byId('logout').hidden = !(loggedIn && s.loginRequired);
  document.body.classList.toggle('logged-out', !loggedIn);
}

// sessionEnded reacts to a 401: forget the session and show the login page
// with the API's reason in #status.
function sessionEnded(message) {
  if (state.session) {
    state.session.loggedIn = false;
    state.session.csrf = '';
  }
  renderWho();
  if (byId('page').getAttribute('data-page') !== 'login') showLogin();
  showStatus('error', message);
}

function showLogin() {
  const ctx = startPage('login');
  renderWho();
  markNav('');
  const offered = state.session && state.session.mechanisms;
  const mechanisms = offered && offered.length > 0 ? offered : ['PLAIN'];
  const fields = {
    user: h('input', { id: 'login-user', name: 'user', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' }),
    password: h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password' }),
    mechanism: h('select', { id: 'login-mechanism', name: 'mechanism' },
      mechanisms.map((m) => h('option', { value: m, text: m }))),
  };
  const submit = h('button', { id: 'login-submit', type: 'submit', class: 'btn primary', text: 'Log in' });
  const error = h('p', { id: 'login-error', class: 'form-error', 'aria-live': 'polite' });
  const form = h('form', { class: 'card login', novalidate: true },
    h('h1', { text: 'Log in to Cloud Kafka' }),
    h('p', { class: 'muted', text: 'Use the SASL credentials the broker knows you by.' }),
    field('User', fields.user), field('Password', fields.password), field('Mechanism', fields.mechanism),
    error, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    login(ctx, fields, submit, error);
  });
  add(ctx.root, form);
  ctx.setReady(true);
  fields.user.focus();
}

async function login(ctx, fields, submit, error) {
  error.textContent = '';
  clearStatus();
  if (fields.user.value.trim() === '') {
    error.textContent = 'Enter a user name.';
    return;
  }
  submit.disabled = true;
  ctx.setReady(false);
  try {
    state.session = await api('POST', LOGIN_PATH, {
      user: fields.user.value.trim(), password: fields.password.value, mechanism: fields.mechanism.value,
    });
    renderWho();
    route();
  } catch (err) {
    if (!ctx.alive()) return;
    error.textContent = err.message;
    showError(err);
  } finally {
    submit.disabled = false;
    ctx.setReady(true);
  }
}

async function logout() {
  clearStatus();
  try {
    await api('POST', '/api/logout');
  } catch (err) {
    showError(err);
    if (!err.handled) return;
  }
  try {
    state.session = await api('GET', '/api/session');
  } catch (err) {
    showError(err);
    return;
  }
  state.pendingNotice = 'Logged out.';
  route();
}

// ---------------------------------------------------------------------------
// Routing: #/brokers, #/topics, #/topics/<name>, #/groups, #/groups/<id>,
// #/messages[?topic=t&partition=p...], #/charts[?topic=t&group=g]
// ---------------------------------------------------------------------------

// The pages reached from the navigation, which are also their hash paths.
const LIST_PAGES = ['brokers', 'topics', 'groups', 'messages', 'charts'];

const PAGES = {
  brokers: pageBrokers, topics: pageTopics, topic: pageTopic, groups: pageGroups,
  group: pageGroup, messages: pageMessages, charts: pageCharts,
};

// parseRoute splits a location hash into the page, its decoded name
// parameter and its query. Anything unknown is the brokers page.
function parseRoute(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const slash = path.indexOf('/');
  const head = slash < 0 ? path : path.slice(0, slash);
  const rest = slash < 0 ? '' : path.slice(slash + 1);
  let param = rest;
  try {
    param = decodeURIComponent(rest);
  } catch {
    // A malformed escape: use the text as it is.
  }
  if (head === 'topics' && rest !== '') return { page: 'topic', nav: 'topics', param, query };
  if (head === 'groups' && rest !== '') return { page: 'group', nav: 'groups', param, query };
  if (LIST_PAGES.includes(head)) return { page: head, nav: head, param: '', query };
  return { page: 'brokers', nav: 'brokers', param: '', query };
}

// leavePage stops the current page: later answers for it are dropped and
// its timers end.
function leavePage() {
  state.generation += 1;
  for (const stop of state.leaveHooks.splice(0)) stop();
}

function setReady(ready) {
  byId('page').setAttribute('data-ready', ready ? 'true' : 'false');
}

// startPage empties #page for a new page and returns the page's context:
// its root, alive() (still the current page?), setReady, and onLeave to
// register cleanup.
function startPage(name) {
  leavePage();
  const root = byId('page');
  root.replaceChildren();
  root.setAttribute('data-page', name);
  setReady(false);
  document.title = `${PAGE_TITLES[name] || 'Console'} · Cloud Kafka`;
  const generation = state.generation;
  const alive = () => generation === state.generation;
  return {
    root,
    alive,
    setReady: (ready) => { if (alive()) setReady(ready); },
    onLeave: (stop) => { state.leaveHooks.push(stop); },
  };
}

function markNav(current) {
  for (const name of LIST_PAGES) {
    const link = byId(`nav-${name}`);
    if (name === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// route shows the page named by the location hash.
async function route() {
  if (!state.session) return;
  const r = parseRoute(location.hash);
  clearStatus();
  if (state.pendingNotice) {
    showNotice(state.pendingNotice);
    state.pendingNotice = '';
  }
  if (!state.session.loggedIn) {
    showLogin();
    return;
  }
  renderWho();
  markNav(r.nav);
  const ctx = startPage(r.page);
  try {
    await PAGES[r.page](ctx, r);
  } catch (err) {
    if (ctx.alive()) showError(err);
  }
  ctx.setReady(true);
}

// reload shows the current page again from fresh data, with a notice.
function reload(notice) {
  state.pendingNotice = notice || '';
  route();
}

// navigate goes to `hash` and shows `notice` there.
function navigate(hash, notice) {
  state.pendingNotice = notice || '';
  if (location.hash === hash) route();
  else location.hash = hash;
}

// runWrite runs a write for a page: it disables the button and marks the
// page not ready while the request is in flight, and shows a failure in
// #status. On success `write` usually reloads, which starts a new page.
async function runWrite(ctx, button, write) {
  clearStatus();
  button.disabled = true;
  ctx.setReady(false);
  try {
    await write();
  } catch (err) {
    if (ctx.alive()) showError(err);
  } finally {
    button.disabled = false;
    ctx.setReady(true);
  }
}

// mayCluster says whether the session may do `operation` on the cluster.
function mayCluster(cluster, operation) {
  if (state.session.canAlter) return true;
  return Boolean(cluster && (cluster.authorizedOperations || []).includes(operation));
}

// mayTopic says whether the session may do `operation` on topic `t`.
function mayTopic(t, operation) {
  return state.session.canAlter || (t.authorizedOperations || []).includes(operation);
}

const topicHref = (name) => `#/topics/${enc(name)}`;
const groupHref = (id) => `#/groups/${enc(id)}`;

// ---------------------------------------------------------------------------
// Brokers page
// ---------------------------------------------------------------------------

async function pageBrokers(ctx) {
  const cluster = await api('GET', '/api/cluster');
  if (!ctx.alive()) return;
  const brokers = [...(cluster.brokers || [])].sort((a, b) => a.id - b.id);
  const controller = cluster.controller;
  const rows = brokers.map((b) => h('tr', { 'data-broker': b.id },
    numCell('id', b.id),
    cell('host', b.host),
    numCell('port', b.port),
    h('td', { class: 'rack' }, b.rack === null || b.rack === undefined ? muted('none') : b.rack),
    h('td', { class: 'role' }, b.id === controller ? badge('controller', 'ok') : '')));
  add(ctx.root, 
    pageHeader('Brokers'),
    card('', h('dl', { class: 'facts' },
      fact('Cluster id', h('span', { id: 'cluster-id', class: 'mono', text: cluster.clusterId })),
      fact('Controller', h('span', { id: 'controller-id', text: controller >= 0 ? String(controller) : 'none' })),
      fact('Brokers', String(brokers.length)),
      fact('Your cluster operations', fmtList(cluster.authorizedOperations) || 'none'))),
    card('Brokers', dataTable('brokers-table', ['Id', 'Host', 'Port', 'Rack', 'Role'], rows, 'No brokers.')));
}

// ---------------------------------------------------------------------------
// Topics page
// ---------------------------------------------------------------------------

async function pageTopics(ctx) {
  // The cluster's operations only decide whether to offer "create"; when
  // they cannot be read, canAlter alone decides. A 401 still ends the load.
  const clusterOrNull = api('GET', '/api/cluster').catch((err) => {
    if (err.handled) throw err;
    return null;
  });
  const [list, cluster] = await Promise.all([api('GET', '/api/topics'), clusterOrNull]);
  if (!ctx.alive()) return;
  const topics = list.topics || [];
  const body = h('tbody', {}, topics.length > 0 ? topics.map(topicRow) : emptyRow(6, 'No topics yet.'));
  add(ctx.root, 
    pageHeader('Topics', h('span', { class: 'count', text: `${topics.length} topic${topics.length === 1 ? "" : "s"}` })),
    card('', filterInput('topic-filter', 'Filter topics by name', body, 'data-topic'),
      tableWrap(h('table', { id: 'topics-table' },
        thead(['Name', 'Partitions', 'Replication', 'Under-replicated', 'Offline', 'Size']), body))),
    mayCluster(cluster, 'CREATE') ? topicCreateForm(ctx)
      : readOnlyNote('You may not create topics on this cluster.'));
}

function topicRow(t) {
  return h('tr', { 'data-topic': t.name },
    h('td', { class: 'name' }, h('a', { href: topicHref(t.name), text: t.name }),
      t.internal ? [' ', badge('internal')] : null),
    numCell('partitions', t.partitions),
    numCell('rf', t.replicationFactor),
    numCell('under-replicated', t.underReplicated, t.underReplicated > 0 ? 'warn' : ''),
    numCell('offline', t.offline, t.offline > 0 ? 'bad' : ''),
    sizeCell(t.sizeBytes));
}

function topicCreateForm(ctx) {
  const fields = {
    name: h('input', { id: 'topic-create-name', autocomplete: 'off', maxlength: TOPIC_NAME_LENGTH_MAX, placeholder: 'orders' }),
    partitions: h('input', { id: 'topic-create-partitions', type: 'number', min: 1, value: 1, inputmode: 'numeric' }),
    rf: h('input', { id: 'topic-create-rf', type: 'number', min: 1, value: 1, inputmode: 'numeric' }),
    configs: h('textarea', { id: 'topic-create-configs', rows: 2, placeholder: 'retention.ms=86400000' }),
  };
  const submit = h('button', { id: 'topic-create-submit', type: 'submit', class: 'btn primary', text: 'Create topic' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: 'Create a topic' }),
    h('div', { class: 'fields' },
      field('Name', fields.name), field('Partitions', fields.partitions),
      field('Replication factor', fields.rf),
      field('Configs, one name=value a line (optional)', fields.configs, 'wide')),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    createTopic(ctx, fields, submit);
  });
  return form;
}

// parseConfigLines reads "name=value" lines; blank lines are skipped.
function parseConfigLines(text) {
  const configs = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`Config line "${trimmed}" is not name=value.`);
    configs[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
  }
  return configs;
}

function createTopic(ctx, fields, submit) {
  clearStatus();
  const name = fields.name.value.trim();
  let body;
  try {
    if (name === '') throw new Error('Enter a topic name.');
    body = {
      name,
      partitions: wholeNumber(fields.partitions.value, 'Partitions', 1),
      replicationFactor: wholeNumber(fields.rf.value, 'Replication factor', 1),
    };
    const configs = parseConfigLines(fields.configs.value);
    if (Object.keys(configs).length > 0) body.configs = configs;
  } catch (err) {
    showError(err);
    return;
  }
  runWrite(ctx, submit, async () => {
    await api('POST', '/api/topics', body);
    reload(`Topic "${name}" created.`);
  });
}

// ---------------------------------------------------------------------------
// Topic page: partitions, configs and the writes on one topic
// ---------------------------------------------------------------------------

async function pageTopic(ctx, r) {
  const t = await api('GET', topicPath(r.param));
  if (!ctx.alive()) return;
  document.title = `${t.name} · Cloud Kafka`;
  const partitions = [...(t.partitions || [])].sort((a, b) => a.partition - b.partition);
  const sizes = partitions.map((p) => p.sizeBytes).filter((s) => typeof s === 'number' && s >= 0);
  const total = sizes.length === partitions.length ? sizes.reduce((a, b) => a + b, 0) : -1;
  const canConfig = mayTopic(t, 'ALTER_CONFIGS');
  const canGrow = mayTopic(t, 'ALTER');
  const canDelete = mayTopic(t, 'DELETE') && !t.internal;
  add(ctx.root, 
    pageHeader(h('span', { id: 'topic-name', text: t.name }), t.internal ? badge('internal') : null,
      h('a', { id: 'topic-messages', class: 'btn', href: `#/messages?topic=${enc(t.name)}&partition=0`, text: 'Browse messages' })),
    card('', h('dl', { class: 'facts' },
      fact('Topic id', h('span', { class: 'mono', text: t.id || '' })),
      fact('Partitions', String(partitions.length)),
      fact('Size', fmtBytes(total)),
      fact('Your operations', fmtList(t.authorizedOperations) || 'none'))),
    card('Partitions', partitionsTable(partitions)),
    configsCard(ctx, t, canConfig),
    canGrow ? addPartitionsCard(ctx, t, partitions.length) : null,
    canDelete ? deleteTopicCard(ctx, t) : null,
    canConfig || canGrow || canDelete ? null : readOnlyNote('You may not change this topic.'));
}

function partitionsTable(partitions) {
  const rows = partitions.map((p) => {
    const under = (p.isr || []).length < (p.replicas || []).length;
    return h('tr', { 'data-partition': p.partition, class: p.offline ? 'offline' : (under ? 'under' : null) },
      numCell('partition', p.partition),
      cell('leader', p.leader >= 0 ? String(p.leader) : 'none'),
      cell('replicas', fmtList(p.replicas)),
      h('td', { class: under ? 'isr warn' : 'isr', text: fmtList(p.isr) }),
      numCell('start', p.startOffset),
      numCell('end', p.endOffset),
      numCell('messages', p.endOffset - p.startOffset),
      sizeCell(p.sizeBytes),
      h('td', { class: 'state' }, p.offline ? badge('offline', 'bad') : (under ? badge('under-replicated', 'warn') : '')));
  });
  return dataTable('partitions-table',
    ['Partition', 'Leader', 'Replicas', 'ISR', 'Start', 'End', 'Messages', 'Size', 'State'], rows, 'No partitions.');
}

function configsCard(ctx, t, canEdit) {
  const configs = t.configs || [];
  const form = canEdit ? configEditForm(ctx, t) : null;
  const rows = configs.map((c) => configRow(c, form));
  const body = h('tbody', {}, rows.length > 0 ? rows : emptyRow(4, 'No configs.'));
  return card('Configs',
    filterInput('config-filter', 'Filter configs by name', body, 'data-config'),
    tableWrap(h('table', { id: 'configs-table' }, thead(['Name', 'Value', 'Source', '']), body)),
    form ? form.el : null);
}

// configRow shows one config. When the configs may be edited, its Edit
// button copies the config into the edit form.
function configRow(c, form) {
  let value;
  if (c.sensitive) value = h('td', { class: 'value muted', text: 'hidden (sensitive)' });
  else if (c.value === null || c.value === undefined) value = h('td', { class: 'value' }, muted('null'));
  else value = cell('value', c.value);
  const flags = [c.readOnly ? badge('read-only') : null];
  if (form && !c.readOnly) {
    flags.push(h('button', {
      type: 'button', class: 'btn small', text: 'Edit', 'aria-label': `Edit ${c.name}`,
      on: { click: () => form.fill(c) },
    }));
  }
  return h('tr', { 'data-config': c.name, class: c.source === 'DYNAMIC_TOPIC_CONFIG' ? 'override' : null },
    cell('name mono', c.name, c.documentation || null),
    value,
    cell('source', c.source),
    h('td', { class: 'actions' }, flags));
}

function configEditForm(ctx, t) {
  const names = (t.configs || []).filter((c) => !c.readOnly).map((c) => c.name);
  const name = h('input', { id: 'config-edit-name', list: 'config-names', autocomplete: 'off', placeholder: 'retention.ms' });
  const value = h('input', { id: 'config-edit-value', autocomplete: 'off' });
  const set = h('button', { id: 'config-edit-submit', type: 'submit', class: 'btn primary', text: 'Set' });
  const remove = h('button', { id: 'config-delete-submit', type: 'button', class: 'btn', text: 'Delete override' });
  const el = h('form', { class: 'subform', novalidate: true },
    h('h3', { text: 'Change a config' }),
    h('datalist', { id: 'config-names' }, names.map((n) => h('option', { value: n }))),
    h('div', { class: 'fields' }, field('Name', name), field('Value', value, 'wide')),
    h('div', { class: 'actions' }, set, remove));
  const chosen = () => {
    const n = name.value.trim();
    if (n === '') showStatus('error', 'Enter the name of a config.');
    return n;
  };
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    clearStatus();
    const n = chosen();
    if (n !== '') alterConfigs(ctx, t, set, { set: { [n]: value.value } }, `${n} set to "${value.value}".`);
  });
  remove.addEventListener('click', () => {
    clearStatus();
    const n = chosen();
    if (n !== '') alterConfigs(ctx, t, remove, { delete: [n] }, `Override of ${n} deleted.`);
  });
  const fill = (c) => {
    name.value = c.name;
    value.value = c.sensitive || c.value === null || c.value === undefined ? '' : c.value;
    value.focus();
  };
  return { el, fill };
}

function alterConfigs(ctx, t, button, body, notice) {
  runWrite(ctx, button, async () => {
    await api('PATCH', `${topicPath(t.name)}/configs`, body);
    reload(notice);
  });
}

function addPartitionsCard(ctx, t, current) {
  const count = h('input', {
    id: 'add-partitions-count', type: 'number', min: current + 1, value: current + 1, inputmode: 'numeric',
  });
  const submit = h('button', { id: 'add-partitions-submit', type: 'submit', class: 'btn primary', text: 'Add partitions' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: 'Add partitions' }),
    h('p', { class: 'muted', text: `The topic has ${current}. Partitions can be added, never removed; keys may map to other partitions afterwards.` }),
    h('div', { class: 'fields' }, field('New total', count)),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearStatus();
    let n;
    try {
      n = wholeNumber(count.value, 'The new partition count', 1);
    } catch (err) {
      showError(err);
      return;
    }
    runWrite(ctx, submit, async () => {
      const answer = await api('POST', `${topicPath(t.name)}/partitions`, { count: n });
      reload(`Topic "${t.name}" has ${answer && answer.partitions ? answer.partitions : n} partitions now.`);
    });
  });
  return form;
}

// deleteTopicCard asks twice, in the page rather than with window.confirm:
// the confirm button exists only after the first click.
function deleteTopicCard(ctx, t) {
  const start = h('button', { id: 'topic-delete', type: 'button', class: 'btn danger-outline', text: 'Delete topic…' });
  const box = h('section', { class: 'card danger-zone' },
    h('h2', { text: 'Delete topic' }),
    h('p', { class: 'muted', text: 'Deleting a topic removes all of its messages and cannot be undone.' }),
    h('div', { class: 'actions' }, start));
  start.addEventListener('click', () => {
    start.hidden = true;
    const confirm = h('button', { id: 'topic-delete-confirm', type: 'button', class: 'btn danger', text: 'Yes, delete it' });
    const cancel = h('button', { id: 'topic-delete-cancel', type: 'button', class: 'btn', text: 'Cancel' });
    const question = h('div', { class: 'confirm' },
      h('p', { text: `Delete topic "${t.name}" and all of its messages?` }),
      h('div', { class: 'actions' }, confirm, cancel));
    cancel.addEventListener('click', () => {
      question.remove();
      start.hidden = false;
      start.focus();
    });
    confirm.addEventListener('click', () => runWrite(ctx, confirm, async () => {
      await api('DELETE', topicPath(t.name));
      navigate('#/topics', `Topic "${t.name}" deleted.`);
    }));
    box.append(question);
    confirm.focus();
  });
  return box;
}

// ---------------------------------------------------------------------------
// Consumer groups page
// ---------------------------------------------------------------------------

async function pageGroups(ctx) {
  const list = await api('GET', '/api/groups');
  if (!ctx.alive()) return;
  const groups = [...(list.groups || [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = groups.map((g) => h('tr', { 'data-group': g.id },
    h('td', { class: 'name' }, h('a', { href: groupHref(g.id), text: g.id })),
    h('td', { class: 'state', 'data-state': g.state, text: g.state }),
    cell('protocol-type', g.protocolType || ''),
    numCell('members', g.members),
    h('td', { class: 'lag num', title: g.lag === null ? 'no committed offsets' : null, text: fmtLag(g.lag) })));
  const body = h('tbody', {}, rows.length > 0 ? rows : emptyRow(5, 'No consumer groups.'));
  const refresh = h('button', { id: 'groups-refresh', type: 'button', class: 'btn', text: 'Refresh' });
  refresh.addEventListener('click', () => reload(''));
  add(ctx.root, 
    pageHeader('Consumer groups', refresh),
    card('', filterInput('group-filter', 'Filter groups by id', body, 'data-group'),
      tableWrap(h('table', { id: 'groups-table' }, thead(['Group', 'State', 'Type', 'Members', 'Lag']), body))));
}

// ---------------------------------------------------------------------------
// Consumer group page. It is built once and then updated in place every
// GROUP_REFRESH_MS, so that the refresh does not wipe a half-filled form.
// ---------------------------------------------------------------------------

async function pageGroup(ctx, r) {
  const id = r.param;
  const first = await api('GET', groupPath(id));
  if (!ctx.alive()) return;
  document.title = `${id} · Cloud Kafka`;
  const view = groupView(ctx, id);
  add(ctx.root, view.el);
  updateGroup(view, first);
  let busy = false;
  // refresh reloads the group; `shown` marks the page not ready meanwhile
  // (an explicit refresh) while the timer's refreshes stay quiet.
  view.refresh = async (shown) => {
    if (busy) return;
    busy = true;
    if (shown) ctx.setReady(false);
    try {
      const g = await api('GET', groupPath(id));
      if (ctx.alive()) updateGroup(view, g);
    } catch (err) {
      if (ctx.alive()) showError(err);
    } finally {
      busy = false;
      if (shown) ctx.setReady(true);
    }
  };
  const timer = setInterval(() => view.refresh(false), GROUP_REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}

function groupView(ctx, id) {
  const view = {
    state: h('span', { id: 'group-state' }),
    lag: h('span', { id: 'group-lag' }),
    protocol: h('span', { id: 'group-protocol' }),
    memberCount: h('span', { id: 'group-member-count' }),
    updated: h('span', { class: 'muted', 'aria-live': 'off' }),
    members: h('tbody'),
    offsets: h('tbody'),
    refresh: null,
  };
  const refresh = h('button', { id: 'group-refresh', type: 'button', class: 'btn', text: 'Refresh' });
  refresh.addEventListener('click', () => {
    clearStatus();
    view.refresh(true);
  });
  view.reset = resetForm(ctx, id, view);
  view.el = h('div', { class: 'group' },
    pageHeader(h('span', { id: 'group-id', text: id }), refresh),
    card('', h('dl', { class: 'facts' },
      fact('State', view.state), fact('Total lag', view.lag),
      fact('Protocol', view.protocol), fact('Members', view.memberCount)),
    h('p', { class: 'note' }, `Refreshes every ${GROUP_REFRESH_MS / 1000} s. `, view.updated)),
    card('Members', tableWrap(h('table', { id: 'members-table' },
      thead(['Member', 'Instance', 'Client', 'Host', 'Assignments']), view.members))),
    card('Committed offsets', tableWrap(h('table', { id: 'offsets-table' },
      thead(['Topic', 'Partition', 'Committed', 'End', 'Lag', 'Metadata']), view.offsets))),
    view.reset.el);
  return view;
}

function updateGroup(view, g) {
  view.state.textContent = g.state;
  view.state.setAttribute('data-state', g.state);
  view.lag.textContent = fmtLag(g.lag);
  view.protocol.textContent = [g.protocolType, g.protocol].filter(Boolean).join(' / ') || 'none';
  const members = g.members || [];
  view.memberCount.textContent = String(members.length);
  view.members.replaceChildren(...(members.length > 0 ? members.map(memberRow) : [emptyRow(5, 'No members.')]));
  const offsets = [...(g.offsets || [])].sort((a, b) =>
    (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  view.offsets.replaceChildren(...(offsets.length > 0 ? offsets.map(offsetRow) : [emptyRow(6, 'No committed offsets.')]));
  view.reset.update(g, offsets);
  view.updated.textContent = `Updated ${clockTime(Date.now())}.`;
}

function memberRow(m) {
  const assignments = (m.assignments || []).map((a) => `${a.topic}: ${fmtList(a.partitions)}`);
  return h('tr', { 'data-member': m.memberId },
    cell('member-id mono', m.memberId),
    h('td', { class: 'instance-id' }, m.instanceId === null || m.instanceId === undefined ? muted('none') : m.instanceId),
    cell('client-id', m.clientId),
    cell('host', m.host),
    h('td', { class: 'assignments' }, assignments.length > 0
      ? h('ul', { class: 'plain' }, assignments.map((a) => h('li', { text: a }))) : muted('none')));
}

function offsetRow(o) {
  return h('tr', { 'data-topic': o.topic, 'data-partition': o.partition },
    h('td', { class: 'topic' }, h('a', { href: topicHref(o.topic), text: o.topic })),
    numCell('partition', o.partition),
    numCell('committed', o.committed),
    numCell('end', o.end),
    h('td', { class: `lag num${o.lag > 0 ? ' warn' : ''}`, text: fmtLag(o.lag) }),
    h('td', { class: 'metadata' }, o.metadata ? o.metadata : muted('none')));
}

const RESET_TARGETS = ['earliest', 'latest', 'offset', 'timestamp'];
const RESET_PLACEHOLDERS = {
  earliest: 'not used', latest: 'not used', offset: 'offset, e.g. 42',
  timestamp: 'ms since epoch, or 2024-05-01T12:00 (local time)',
};

// resetForm builds the offset reset form. update() shows it only while the
// group is Empty or Dead and the session may alter; otherwise a note says
// why it is missing.
function resetForm(ctx, id, view) {
  const topic = h('select', { id: 'reset-topic' }, h('option', { value: '', text: 'All committed topics' }));
  const to = h('select', { id: 'reset-to' }, RESET_TARGETS.map((t) => h('option', { value: t, text: t })));
  const value = h('input', { id: 'reset-value', autocomplete: 'off', placeholder: RESET_PLACEHOLDERS.earliest });
  const submit = h('button', { id: 'reset-submit', type: 'submit', class: 'btn primary', text: 'Reset offsets' });
  to.addEventListener('change', () => { value.placeholder = RESET_PLACEHOLDERS[to.value]; });
  const form = h('form', { class: 'card', novalidate: true, hidden: true },
    h('h2', { text: 'Reset offsets' }),
    h('div', { class: 'fields' }, field('Topic', topic), field('Reset to', to), field('Value', value, 'wide')),
    h('div', { class: 'actions' }, submit));
  const note = h('p', { class: 'note', id: 'reset-note' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitReset(ctx, id, view, { topic, to, value, submit });
  });
  const update = (g, offsets) => {
    const empty = g.state === 'Empty' || g.state === 'Dead';
    form.hidden = !(empty && state.session.canAlter);
    if (!state.session.canAlter) note.textContent = 'Read-only: you may not reset this group\'s offsets.';
    else if (!empty) note.textContent = `Offsets can be reset only while the group is empty; it is ${g.state}.`;
    else note.textContent = '';
    fillResetTopics(topic, offsets);
  };
  return { el: h('div', {}, note, form), update };
}

// fillResetTopics lists the group's committed topics, keeping the choice.
function fillResetTopics(select, offsets) {
  const topics = [...new Set(offsets.map((o) => o.topic))].sort();
  const current = Array.from(select.options).slice(1).map((o) => o.value);
  if (current.join('\n') === topics.join('\n')) return;
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '', text: 'All committed topics' }),
    ...topics.map((t) => h('option', { value: t, text: t })));
  select.value = topics.includes(chosen) ? chosen : '';
}

// resetValue reads the value field for an offset or timestamp reset.
function resetValue(to, text) {
  if (to === 'offset') return wholeNumber(text, 'The offset');
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return wholeNumber(trimmed, 'The timestamp');
  const ms = localInputToMs(trimmed);
  if (Number.isNaN(ms)) throw new Error('The timestamp must be milliseconds since the epoch or a local time like 2024-05-01T12:00.');
  return ms;
}

function submitReset(ctx, id, view, f) {
  clearStatus();
  const body = { to: f.to.value };
  if (f.topic.value !== '') body.topic = f.topic.value;
  try {
    if (body.to === 'offset' || body.to === 'timestamp') body.value = resetValue(body.to, f.value.value);
  } catch (err) {
    showError(err);
    return;
  }
  runWrite(ctx, f.submit, async () => {
    const answer = await api('POST', `${groupPath(id)}/reset`, body);
    const moved = (answer && answer.offsets) || [];
    const shown = moved.slice(0, 5).map((o) => `${o.topic}/${o.partition} → ${o.offset}`).join(', ');
    showNotice(`Reset ${moved.length} partition${moved.length === 1 ? '' : 's'} of group "${id}"` +
      `${shown ? `: ${shown}` : ''}${moved.length > 5 ? ', …' : ''}.`);
    const g = await api('GET', groupPath(id));
    if (ctx.alive()) updateGroup(view, g);
  });
}

// ---------------------------------------------------------------------------
// Message browser: one partition, by offset or by timestamp
// ---------------------------------------------------------------------------

async function pageMessages(ctx, r) {
  const list = await api('GET', '/api/topics');
  if (!ctx.alive()) return;
  const topics = list.topics || [];
  const browser = { ctx, form: messageForm(topics, r.query), last: null, seq: 0 };
  browser.results = messageResults(browser);
  browser.form.el.addEventListener('submit', (event) => {
    event.preventDefault();
    submitQuery(browser);
  });
  browser.form.view.addEventListener('change', () => renderMessages(browser));
  add(ctx.root, pageHeader('Messages'), browser.form.el, browser.results.el);
  if (topics.length === 0 && !r.query.get('topic')) {
    showNotice('There are no topics to browse yet.');
    return;
  }
  if (r.query.get('topic')) await submitQuery(browser);
}

function messageForm(topics, query) {
  const wanted = query.get('topic') || '';
  const names = topics.map((t) => t.name);
  if (wanted !== '' && !names.includes(wanted)) names.push(wanted);
  const timestamp = query.get('timestamp');
  const f = {
    topic: h('select', { id: 'msg-topic' }, names.map((n) => h('option', { value: n, text: n }))),
    partition: h('input', { id: 'msg-partition', type: 'number', min: 0, value: query.get('partition') || 0, inputmode: 'numeric' }),
    mode: h('select', { id: 'msg-mode' }, h('option', { value: 'offset', text: 'from offset' }),
      h('option', { value: 'timestamp', text: 'from time' })),
    offset: h('input', { id: 'msg-offset', type: 'number', min: 0, value: query.get('offset') || 0, inputmode: 'numeric' }),
    time: h('input', { id: 'msg-time', type: 'datetime-local', step: 1 }),
    limit: h('input', { id: 'msg-limit', type: 'number', min: MESSAGE_LIMIT_MIN, max: MESSAGE_LIMIT_MAX, value: query.get('limit') || MESSAGE_LIMIT_DEFAULT }),
    view: h('select', { id: 'msg-view' }, ['text', 'json', 'hex'].map((v) => h('option', { value: v, text: v }))),
    submit: h('button', { id: 'msg-submit', type: 'submit', class: 'btn primary', text: 'Query' }),
  };
  if (wanted !== '') f.topic.value = wanted;
  if (timestamp !== null && /^\d+$/.test(timestamp)) {
    f.mode.value = 'timestamp';
    f.time.value = msToLocalInput(Number(timestamp));
  }
  if (['text', 'json', 'hex'].includes(query.get('view'))) f.view.value = query.get('view');
  const offsetField = field('Offset', f.offset);
  const timeField = field('Time (local)', f.time);
  const showMode = () => {
    offsetField.classList.toggle('inactive', f.mode.value !== 'offset');
    timeField.classList.toggle('inactive', f.mode.value !== 'timestamp');
  };
  f.mode.addEventListener('change', showMode);
  showMode();
  const partitionsOf = new Map(topics.map((t) => [t.name, t.partitions]));
  const showPartitions = () => {
    const n = partitionsOf.get(f.topic.value);
    if (n > 0) f.partition.max = String(n - 1);
    else f.partition.removeAttribute('max');
  };
  f.topic.addEventListener('change', showPartitions);
  showPartitions();
  f.el = h('form', { class: 'card query', novalidate: true },
    h('div', { class: 'fields' },
      field('Topic', f.topic, 'wide'), field('Partition', f.partition), field('Start', f.mode),
      offsetField, timeField, field('Limit', f.limit), field('Show as', f.view)),
    h('div', { class: 'actions' }, f.submit));
  return f;
}

function messageResults(browser) {
  const results = {
    range: h('p', { id: 'msg-range', class: 'range' }),
    summary: h('p', { class: 'muted summary' }),
    body: h('div', { class: 'results' }),
    prev: h('button', { id: 'msg-prev', type: 'button', class: 'btn', text: '← Older', disabled: true }),
    next: h('button', { id: 'msg-next', type: 'button', class: 'btn', text: 'Newer →', disabled: true }),
    latest: h('button', { id: 'msg-latest', type: 'button', class: 'btn', text: 'Latest', disabled: true }),
  };
  results.prev.addEventListener('click', () => pageTo(browser, 'prev'));
  results.next.addEventListener('click', () => pageTo(browser, 'next'));
  results.latest.addEventListener('click', () => pageTo(browser, 'latest'));
  results.el = h('section', { class: 'card' },
    h('div', { class: 'results-head' }, h('div', {}, results.range, results.summary),
      h('div', { class: 'actions' }, results.prev, results.next, results.latest)),
    results.body);
  return results;
}

// readQuery turns the form into a query, or throws an Error naming the bad field.
function readQuery(f) {
  const topic = f.topic.value;
  if (!topic) throw new Error('Choose a topic.');
  const query = {
    topic,
    partition: wholeNumber(f.partition.value, 'The partition'),
    limit: wholeNumber(f.limit.value, 'The limit', MESSAGE_LIMIT_MIN),
  };
  if (query.limit > MESSAGE_LIMIT_MAX) throw new Error(`The limit must be at most ${MESSAGE_LIMIT_MAX}.`);
  if (f.mode.value === 'timestamp') {
    const ms = localInputToMs(f.time.value);
    if (Number.isNaN(ms)) throw new Error('Choose a time to start from.');
    query.timestamp = ms;
  } else {
    query.offset = wholeNumber(f.offset.value, 'The offset');
  }
  return query;
}

function queryParams(q) {
  const params = new URLSearchParams({ partition: String(q.partition) });
  if (q.timestamp !== undefined) params.set('timestamp', String(q.timestamp));
  else params.set('offset', String(q.offset));
  params.set('limit', String(q.limit));
  return params;
}

async function submitQuery(browser) {
  clearStatus();
  let query;
  try {
    query = readQuery(browser.form);
  } catch (err) {
    showError(err);
    return;
  }
  await runQuery(browser, query);
}

// runQuery fetches one page of messages. Only the newest query's answer is
// shown, however the answers arrive.
async function runQuery(browser, query) {
  const { ctx, form } = browser;
  const seq = ++browser.seq;
  ctx.setReady(false);
  form.submit.disabled = true;
  try {
    const data = await api('GET', `${topicPath(query.topic)}/messages?${queryParams(query)}`);
    if (!ctx.alive() || seq !== browser.seq) return;
    browser.last = { query, data };
    const hash = new URLSearchParams({ topic: query.topic, ...Object.fromEntries(queryParams(query)) });
    history.replaceState(null, '', `#/messages?${hash}`);
  } catch (err) {
    if (!ctx.alive() || seq !== browser.seq) return;
    browser.last = null;
    showError(err);
  } finally {
    if (ctx.alive() && seq === browser.seq) {
      renderMessages(browser);
      form.submit.disabled = false;
      ctx.setReady(true);
    }
  }
}

// pageTo moves through the partition by offset from the last answer.
function pageTo(browser, where) {
  const last = browser.last;
  if (!last) return;
  const { data, query } = last;
  const messages = data.messages || [];
  let offset;
  if (where === 'latest') offset = Math.max(data.startOffset, data.endOffset - query.limit);
  else if (where === 'next') offset = messages.length > 0 ? messages[messages.length - 1].offset + 1 : data.endOffset;
  else offset = Math.max(data.startOffset, (messages.length > 0 ? messages[0].offset : data.endOffset) - query.limit);
  browser.form.mode.value = 'offset';
  browser.form.mode.dispatchEvent(new Event('change'));
  browser.form.offset.value = String(offset);
  clearStatus();
  runQuery(browser, { topic: query.topic, partition: query.partition, limit: query.limit, offset });
}

function renderMessages(browser) {
  const res = browser.results;
  const last = browser.last;
  if (!last) {
    res.range.textContent = '';
    res.summary.textContent = '';
    res.body.replaceChildren();
    for (const b of [res.prev, res.next, res.latest]) b.disabled = true;
    return;
  }
  const { data, query } = last;
  const messages = data.messages || [];
  const view = browser.form.view.value;
  res.range.textContent = `partition ${data.partition}: offsets ${data.startOffset}–${data.endOffset}`;
  const first = messages.length > 0 ? messages[0].offset : data.endOffset;
  const end = messages.length > 0 ? messages[messages.length - 1].offset + 1 : data.endOffset;
  res.summary.textContent = messages.length > 0
    ? `${messages.length} message${messages.length === 1 ? '' : 's'}, offsets ${first}–${end - 1}` : '';
  res.prev.disabled = first <= data.startOffset;
  res.next.disabled = end >= data.endOffset;
  res.latest.disabled = data.endOffset <= data.startOffset;
  if (messages.length === 0) {
    res.body.replaceChildren(h('p', { id: 'messages-empty', class: 'empty', text: emptyText(query, data) }));
    return;
  }
  res.body.replaceChildren(tableWrap(h('table', { id: 'messages-table', class: 'messages' },
    thead(['Offset', 'Timestamp', 'Key', 'Value', 'Headers']),
    h('tbody', {}, messages.map((m) => messageRow(m, view))))));
}

function emptyText(query, data) {
  if (data.endOffset <= data.startOffset) return `Partition ${data.partition} holds no messages.`;
  if (query.timestamp !== undefined) return `No messages at or after ${fmtTime(query.timestamp)}.`;
  if (query.offset >= data.endOffset) return `No messages at or after offset ${query.offset}; the partition ends at ${data.endOffset}.`;
  return 'No messages.';
}

function messageRow(m, view) {
  return h('tr', { 'data-offset': m.offset },
    numCell('offset', m.offset),
    h('td', { class: 'timestamp', title: String(m.timestamp), 'data-ms': m.timestamp, text: fmtTime(m.timestamp) }),
    h('td', { class: 'key' }, bytesView(m.key, view)),
    h('td', { class: 'value' }, bytesView(m.value, view)),
    h('td', { class: 'headers' }, headersView(m.headers, view)));
}

// ---------------------------------------------------------------------------
// Charts page: throughput and lag from /api/metrics/series
// ---------------------------------------------------------------------------

async function pageCharts(ctx, r) {
  const [topicList, groupList] = await Promise.all([api('GET', '/api/topics'), api('GET', '/api/groups')]);
  if (!ctx.alive()) return;
  const topicNames = (topicList.topics || []).map((t) => t.name);
  const groupIds = (groupList.groups || []).map((g) => g.id).sort();
  const charts = {
    ctx, series: null, timer: 0, seq: 0, intervalMs: CHART_INTERVAL_MS_DEFAULT,
    topic: chartSelect('chart-topic', 'All topics', topicNames, r.query.get('topic')),
    group: chartSelect('chart-group', 'No group', groupIds, r.query.get('group')),
    throughput: chartFigure('chart-throughput', 'Throughput (bytes per second)',
      [['bytes in', 'in'], ['bytes out', 'out']]),
    lag: chartFigure('chart-lag', 'Consumer lag (messages)', [['lag', 'lag']]),
  };
  const changed = () => {
    const params = chartParams(charts);
    history.replaceState(null, '', `#/charts${params.toString() ? `?${params}` : ''}`);
    clearStatus();
    refreshCharts(charts, true);
  };
  charts.topic.addEventListener('change', changed);
  charts.group.addEventListener('change', changed);
  add(ctx.root, 
    pageHeader('Charts'),
    h('div', { class: 'card toolbar' }, field('Topic', charts.topic), field('Group', charts.group)),
    h('div', { class: 'charts' }, charts.throughput.el, charts.lag.el));
  const observer = new ResizeObserver(() => drawCharts(charts));
  observer.observe(charts.throughput.canvas);
  observer.observe(charts.lag.canvas);
  ctx.onLeave(() => {
    clearTimeout(charts.timer);
    observer.disconnect();
  });
  await refreshCharts(charts, false);
}

function chartSelect(id, allLabel, values, chosen) {
  const select = h('select', { id }, h('option', { value: '', text: allLabel }),
    values.map((v) => h('option', { value: v, text: v })));
  if (chosen && values.includes(chosen)) select.value = chosen;
  return select;
}

function chartFigure(id, title, legend) {
  const canvas = h('canvas', { id, class: 'chart', role: 'img', 'aria-label': title, 'data-samples': 0 });
  const now = h('p', { id: `${id}-now`, class: 'chart-now muted' });
  const el = h('figure', { class: 'card chart-card' },
    h('figcaption', {}, h('h2', { text: title }),
      h('ul', { class: 'legend' }, legend.map(([label, cls]) =>
        h('li', {}, h('span', { class: `swatch ${cls}` }), label)))),
    canvas, now);
  return { el, canvas, now };
}

function chartParams(charts) {
  const params = new URLSearchParams();
  if (charts.topic.value) params.set('topic', charts.topic.value);
  if (charts.group.value) params.set('group', charts.group.value);
  return params;
}

// refreshCharts fetches the series and draws it, then schedules the next
// refresh after the series' own interval. `shown` marks the page not ready
// meanwhile (a changed selection); timed refreshes stay quiet.
async function refreshCharts(charts, shown) {
  const { ctx } = charts;
  clearTimeout(charts.timer);
  const seq = ++charts.seq;
  if (shown) ctx.setReady(false);
  const params = chartParams(charts);
  try {
    const series = await api('GET', `/api/metrics/series${params.toString() ? `?${params}` : ''}`);
    if (!ctx.alive() || seq !== charts.seq) return;
    charts.series = series;
    const interval = Number(series.intervalMs);
    charts.intervalMs = Number.isFinite(interval)
      ? Math.min(CHART_INTERVAL_MS_MAX, Math.max(CHART_INTERVAL_MS_MIN, interval)) : CHART_INTERVAL_MS_DEFAULT;
    drawCharts(charts);
  } catch (err) {
    if (ctx.alive() && seq === charts.seq) showError(err);
  }
  if (!ctx.alive() || seq !== charts.seq) return;
  ctx.setReady(true);
  charts.timer = setTimeout(() => refreshCharts(charts, false), charts.intervalMs);
}

function drawCharts(charts) {
  const series = charts.series;
  if (!series) return;
  const throughput = series.throughput || [];
  const lag = series.lag || [];
  const style = getComputedStyle(document.documentElement);
  const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  drawChart(charts.throughput.canvas, {
    series: [
      { color: color('--c-in', '#0b62d6'), points: throughput.map((p) => ({ t: p.t, v: p.bytesIn })) },
      { color: color('--c-out', '#d9730d'), points: throughput.map((p) => ({ t: p.t, v: p.bytesOut })) },
    ],
    samples: throughput.length, formatY: (v) => `${fmtBytes(v)}/s`, integer: false,
    emptyText: 'No samples yet: the console samples the broker every few seconds.',
  });
  const latest = throughput[throughput.length - 1];
  charts.throughput.now.textContent = latest
    ? `Latest: in ${fmtBytes(latest.bytesIn)}/s, out ${fmtBytes(latest.bytesOut)}/s, ` +
      `${Number(latest.messagesIn || 0).toFixed(1)} messages/s in (${clockTime(latest.t)}).` : '';
  drawChart(charts.lag.canvas, {
    series: [{ color: color('--c-lag', '#7b3fc4'), points: lag.map((p) => ({ t: p.t, v: p.lag })) }],
    samples: lag.length, formatY: (v) => Math.round(v).toLocaleString(), integer: true,
    emptyText: charts.group.value ? 'No lag samples for this group yet.' : 'Choose a consumer group to chart its lag.',
  });
  const lastLag = lag[lag.length - 1];
  charts.lag.now.textContent = lastLag ? `Latest lag: ${lastLag.lag} (${clockTime(lastLag.t)}).` : '';
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

// start loads the session and shows the page in the hash. When the API
// cannot be reached it says so and offers to try again.
async function start() {
  try {
    state.session = await api('GET', '/api/session');
  } catch (err) {
    const ctx = startPage('unavailable');
    showError(err);
    const retry = h('button', { id: 'retry', type: 'button', class: 'btn primary', text: 'Try again' });
    retry.addEventListener('click', () => {
      clearStatus();
      start();
    });
    add(ctx.root, card('The console is not available', h('p', { text: 'The console API did not answer.' }), retry));
    ctx.setReady(true);
    return;
  }
  renderWho();
  route();
}

function boot() {
  byId('logout').addEventListener('click', logout);
  byId('status').addEventListener('click', clearStatus);
  window.addEventListener('hashchange', () => route());
  start();
}

boot();
