// lwm2m-emulator dashboard: the HTTP API (GET /api/devices, /api/sessions,
// /api/status, POST /api/request, /api/faults/*, /api/reload) and the event
// stream (GET /api/events, Server-Sent Events). No libraries, no network
// beyond the emulator itself.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { devices: [], selected: null, observing: {}, shown: null, paused: false };
const MAX_EVENTS = 500;

// The bearer token (--http-token), kept for this tab only.
$("token").value = sessionStorage.getItem("token") || "";
$("token").addEventListener("change", () => sessionStorage.setItem("token", $("token").value));

// One API call: JSON in and out; the status and body come back either way.
async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if ($("token").value) headers.Authorization = "Bearer " + $("token").value;
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let json = null;
  try { json = await res.json(); } catch (e) { json = { error: "bad_reply", message: String(e) }; }
  return { status: res.status, json };
}

// Small DOM helper: an element with text or children.
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function ago(ms) {
  if (ms === undefined || ms === null) return "";
  const s = Math.round(ms / 1000);
  return s < 60 ? s + " s ago" : Math.round(s / 60) + " min ago";
}

function left(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? s + " s" : Math.round(s / 60) + " min";
}

// One row per registered device, from GET /api/devices.
function deviceRow(d) {
  const c = d.carrier || {};
  const tr = el("tr");
  tr.dataset.endpoint = d.endpoint;
  if (state.selected === d.endpoint) tr.className = "selected";
  const hs = c.transport === "coap" ? "none (plain CoAP)" : c.resumed ? "resumed" : "full";
  const sni = (c.sni || "") + (c.vhost ? " (vhost " + c.vhost + ")" : "");
  const cells = [d.endpoint, d.identity || "", c.transport || "", c.suite || "", sni,
    c.own_cid || "", c.peer || "", null, ago(c.last_seen_ms), left(d.expires_in_ms),
    d.session];
  cells.forEach((v, i) => {
    const td = el("td", v);
    if (i === 7) td.appendChild(el("span", hs, "badge" + (c.resumed ? " resumed" : "")));
    tr.appendChild(td);
  });
  tr.addEventListener("click", () => selectDevice(d.endpoint));
  return tr;
}

function renderDevices() {
  const body = $("devices").querySelector("tbody");
  body.replaceChildren(...state.devices.map(deviceRow));
  $("device-count").textContent = "(" + state.devices.length + ")";
  $("no-devices").hidden = state.devices.length > 0;
}

// The object tree of a device: the paths of its registration links
// ("</3/0>;ver=1.1" -> /3/0), objects before their instances.
function objectPaths(links) {
  const paths = new Set();
  (links || []).forEach((l) => {
    const m = /^<([^>]*)>/.exec(l);
    if (!m || m[1] === "/" || m[1] === "") return;
    const p = m[1];
    paths.add("/" + p.split("/")[1]);
    paths.add(p);
  });
  return [...paths].sort((a, b) => {
    const x = a.split("/").map(Number), y = b.split("/").map(Number);
    for (let i = 1; i < Math.max(x.length, y.length); i++) {
      if (x[i] === undefined) return -1;
      if (y[i] === undefined) return 1;
      if (x[i] !== y[i]) return x[i] - y[i];
    }
    return 0;
  });
}

const OPS = ["read", "discover", "observe", "cancel", "write", "execute", "write_attributes"];

function renderObjects() {
  const d = state.devices.find((x) => x.endpoint === state.selected);
  $("device-section").hidden = !d;
  if (!d) return;
  $("device-name").textContent = d.endpoint;
  const rows = objectPaths(d.links).map((p) => {
    const tr = el("tr");
    tr.appendChild(el("td", p));
    const ops = el("td", null, "ops");
    OPS.forEach((op) => {
      const b = el("button", op.replace("_", "-"));
      b.dataset.op = op;
      b.dataset.path = p;
      b.addEventListener("click", () => operate(d.endpoint, op, p));
      ops.appendChild(b);
    });
    tr.appendChild(ops);
    return tr;
  });
  $("objects").querySelector("tbody").replaceChildren(...rows);
}

function selectDevice(ep) {
  state.selected = ep;
  renderDevices();
  renderObjects();
}

// The request body of an operation from the inputs above the tree.
function requestBody(ep, op, path) {
  const body = { endpoint: ep, method: op, path };
  if (op === "write" || op === "execute") {
    if ($("write-value").value !== "") body.payload = $("write-value").value;
  }
  if (op === "cancel") body.request = state.observing[ep + path];
  if (op === "write_attributes") {
    ["pmin", "pmax", "gt", "lt", "st"].forEach((k) => {
      if ($(k).value !== "") body[k] = Number($(k).value);
    });
  }
  if ((op === "read" || op === "observe") && $("accept").value) body.accept = $("accept").value;
  return body;
}

// Runs one LwM2M operation through POST /api/request, which answers with
// the device's response (decoded) once it comes.
async function operate(ep, op, path) {
  const out = $("result");
  out.className = "result";
  out.textContent = op + " " + path + " …";
  const { status, json } = await api("POST", "/api/request", requestBody(ep, op, path));
  if (op === "observe" && json.request) state.observing[ep + path] = json.request;
  state.shown = json.request;
  const a = json.answer || {};
  const shown = status === 200
    ? { code: a.code, format: a.format, decoded: a.decoded !== undefined ? a.decoded : a }
    : json;
  out.className = status === 200 ? "result" : "result error";
  out.textContent = "HTTP " + status + "  " + op + " " + path + "\n" + JSON.stringify(shown, null, 2);
}

// Fault buttons: each is a control command under /api/faults/ (reload is /api/reload).
function faultBody(name) {
  if (name === "drop") return { count: Number($("drop-count").value), direction: $("drop-dir").value };
  if (name === "delay") return { count: Number($("delay-count").value), ms: Number($("delay-ms").value) };
  if (name === "close_session") return { session: Number($("fault-session").value), silent: true };
  return {};
}

document.querySelectorAll("[data-fault]").forEach((b) => {
  b.addEventListener("click", async () => {
    const name = b.dataset.fault;
    const path = name === "reload" ? "/api/reload" : "/api/faults/" + name;
    const { status, json } = await api("POST", path, faultBody(name));
    $("fault-result").className = "result small" + (status === 200 ? "" : " error");
    $("fault-result").textContent = "HTTP " + status + " " + name + ": " + JSON.stringify(json);
    refresh();
  });
});

function renderSessions(sessions) {
  const sel = $("fault-session");
  const keep = sel.value;
  sel.replaceChildren(...sessions.map((s) => {
    const o = el("option", s.session + " " + s.transport + " " + s.peer + (s.identity ? " " + s.identity : ""));
    o.value = s.session;
    return o;
  }));
  if (keep) sel.value = keep;
}

// Polls the listings (the event stream says what happens in between).
async function refresh() {
  try {
    const [d, s, st] = await Promise.all([api("GET", "/api/devices"), api("GET", "/api/sessions"),
      api("GET", "/api/status")]);
    state.devices = (d.json.clients || []).sort((a, b) => a.endpoint.localeCompare(b.endpoint));
    renderDevices();
    renderObjects();
    renderSessions(s.json.sessions || []);
    const x = st.json;
    $("status").textContent = "up " + Math.round(x.uptime_ms / 1000) + " s · " + x.sessions +
      " sessions · " + x.registrations + " registrations · dtls " + x.dtls_port + " · coap " +
      x.coap_port + (x.stopped ? " · NOT ANSWERING" : "");
  } catch (e) {
    $("status").textContent = "emulator unreachable: " + e;
  }
}

// The live event stream, newest first, filtered by the text box.
function eventLine(ev) {
  const li = el("li");
  const t = new Date(ev.ts * 1000).toISOString().slice(11, 23);
  li.appendChild(el("span", t + " "));
  li.appendChild(el("span", ev.event, "name" + (/fail|alert|drop/.test(ev.event) ? " fail" : "")));
  const rest = Object.assign({}, ev);
  delete rest.ts; delete rest.src; delete rest.event;
  li.appendChild(el("span", " " + JSON.stringify(rest)));
  li.dataset.text = JSON.stringify(ev).toLowerCase();
  return li;
}

function applyFilter() {
  const f = $("event-filter").value.toLowerCase();
  document.querySelectorAll("#events li").forEach((li) => {
    li.hidden = f !== "" && !li.dataset.text.includes(f);
  });
}

// A notification of the observation shown in the result box replaces it.
function showNotify(ev) {
  if (ev.event !== "notify" || ev.request !== state.shown) return;
  $("result").className = "result";
  $("result").textContent = "notify " + ev.path + " (request " + ev.request + ")\n" +
    JSON.stringify({ code: ev.code, format: ev.format, decoded: ev.decoded }, null, 2);
}

function addEvent(ev, fromHistory) {
  if (!fromHistory) showNotify(ev);
  if (state.paused) return;
  const list = $("events");
  const li = eventLine(ev);
  const f = $("event-filter").value.toLowerCase();
  li.hidden = f !== "" && !li.dataset.text.includes(f);
  list.insertBefore(li, list.firstChild);
  while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  if (!fromHistory && /^(register|update|deregister|session_|registration_)/.test(ev.event)) refresh();
}

// What happened before the page was opened (GET /api/recent), oldest first.
async function loadRecent() {
  try {
    const { json } = await api("GET", "/api/recent");
    (json.events || []).forEach((ev) => addEvent(ev, true));
  } catch (e) { /* the stream still comes */ }
}

function openEvents() {
  const es = new EventSource("/api/events");
  es.onopen = () => { $("event-state").textContent = "(live)"; };
  es.onerror = () => { $("event-state").textContent = "(reconnecting…)"; };
  es.onmessage = (m) => {
    try { addEvent(JSON.parse(m.data)); } catch (e) { /* not JSON: ignored */ }
  };
}

$("event-filter").addEventListener("input", applyFilter);
$("event-pause").addEventListener("change", () => { state.paused = $("event-pause").checked; });
$("event-clear").addEventListener("click", () => $("events").replaceChildren());

// ?live=0: one snapshot, no polling and no event stream (a page that never
// finishes loading cannot be printed or captured by a headless browser).
// ?device=EP opens that device's object tree.
const params = new URLSearchParams(location.search);
const live = params.get("live") !== "0";
state.selected = params.get("device");
refresh();
loadRecent().then(() => {
  if (live) openEvents();
});
if (live) {
  setInterval(refresh, 2000);
} else {
  $("event-state").textContent = "(snapshot: open / without ?live=0 for the live stream)";
}
