// Sluice web UI: a small hand-written app over the manager's own API (no build step, no
// dependencies). Every element is built with h(), never from HTML strings, so names and logs
// coming from the server are always text.
"use strict";

const state = { session: null, stream: null, timers: [] };
const STATES = ["Pending", "Running", "Succeeded", "Failed"];

// ---- small helpers -------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, value);
  for (const child of children.flat()) {
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function bytes(n) {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

function toast(text) {
  const box = h("div", {}, text);
  document.getElementById("toast").append(box);
  setTimeout(() => box.remove(), 4000);
}

// At most one call of ``fn`` per ``ms`` however many events ask for it, the last one included.
function throttle(fn, ms) {
  let timer = null;
  return () => {
    if (timer === null) timer = setTimeout(() => { timer = null; fn(); }, ms);
  };
}

function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, url, body, options = {}) {
  const headers = { "X-Sluice-UI": "1" };
  if (method !== "GET" && state.session) headers[state.session.csrf_header] = state.session.csrf;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 401 && !options.login) { showLogin(); throw new ApiError(401, "log in again"); }
  if (!response.ok) throw new ApiError(response.status, (await response.text()) || response.statusText);
  if (options.raw) return response;
  const type = response.headers.get("content-type") || "";
  if (response.status === 204) return null;
  return type.includes("json") ? response.json() : response.text();
}

function problem(where, error) {
  where.replaceChildren(h("div", { class: "alert", role: "alert" }, error.message || String(error)));
}

// ---- routing -------------------------------------------------------------------------------

const routes = [
  [/^#\/services$/, servicesScreen],
  [/^#\/services\/new$/, newServiceScreen],
  [/^#\/service\/([^/]+)$/, serviceScreen],
  [/^#\/storage(?:\/(.*))?$/, storageScreen],
  [/^#\/workflows$/, workflowScreen],
  [/^#\/status$/, statusScreen],
];

function stopLive() {
  if (state.stream) { state.stream.close(); state.stream = null; }
  state.timers.forEach(clearInterval);
  state.timers = [];
}

async function route() {
  if (!state.session) return;
  stopLive();
  const hash = location.hash || "#/services";
  const main = document.getElementById("main");
  for (const link of document.querySelectorAll("header nav a")) {
    const current = hash.startsWith(link.getAttribute("href").replace(/s$/, ""));
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const [pattern, screen] of routes) {
    const match = hash.match(pattern);
    if (match) {
      main.replaceChildren();
      try { await screen(main, ...match.slice(1).map((m) => (m ? decodeURIComponent(m) : ""))); }
      catch (error) { if (error.status !== 401) problem(main, error); }
      return;
    }
  }
  location.hash = "#/services";
}

// Live job events for one service (or all): "ready" once listening, then "job" per change.
function listen(service, onReady, onJob) {
  const url = "/ui/api/events" + (service ? "?service=" + encodeURIComponent(service) : "");
  const stream = new EventSource(url);
  stream.addEventListener("ready", () => onReady());
  stream.addEventListener("resync", () => onReady());
  stream.addEventListener("job", (event) => onJob(JSON.parse(event.data)));
  state.stream = stream;
  return stream;
}

// ---- login ---------------------------------------------------------------------------------

function showLogin(message) {
  stopLive();
  state.session = null;
  document.getElementById("top").hidden = true;
  const error = h("div", { id: "login-error", "aria-live": "assertive" });
  if (message) error.append(h("div", { class: "alert", role: "alert" }, message));
  const user = h("input", { id: "user", name: "user", autocomplete: "username", required: true, value: "oscar" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to Sluice"),
    h("label", { for: "user" }, "User"), user,
    h("label", { for: "password" }, "Password"), password,
    error,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Log in")),
    h("p", { class: "note" }, "The admin's credentials, as for the API (sluice up prints where the password is)."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      state.session = await api("POST", "/ui/login", { user: user.value, password: password.value }, { login: true });
      started();
    } catch (e) {
      const text = e.status === 401 ? "Wrong user name or password." : e.message;
      error.replaceChildren(h("div", { class: "alert", role: "alert" }, text));
      password.select();
    }
  });
  document.getElementById("main").replaceChildren(form);
  password.focus();
}

function started() {
  document.getElementById("top").hidden = false;
  if (!location.hash || location.hash === "#/") location.hash = "#/services";
  route();
}

// ---- services ------------------------------------------------------------------------------

function counts(jobs) {
  const s = jobs.states;
  return [s.Pending, s.Running, s.Succeeded, s.Failed, jobs.dead];
}

async function servicesScreen(main) {
  main.append(h("h1", {}, "Services"));
  const actions = h("div", { class: "row" },
    h("a", { class: "button primary", href: "#/services/new" }, "New service"));
  const body = h("tbody");
  const drop = fdlDrop(() => load());
  const table = h("div", { class: "scroll" }, h("table", { "aria-label": "Services" },
    h("thead", {}, h("tr", {}, ["Service", "Kind", "State", "Warm/active", "Pending", "Running",
      "Succeeded", "Failed", "Dead letters"].map((t, i) => h("th", { scope: "col", class: i === 1 ? "wide" : null }, t)))),
    body));
  main.append(actions, drop, table);
  const load = async () => {
    const services = await api("GET", "/ui/api/services");
    body.replaceChildren(...services.map((s) => h("tr", { "data-service": s.name },
      h("td", {}, h("a", { href: "#/service/" + encodeURIComponent(s.name) }, s.name)),
      h("td", { class: "wide" }, s.kind),
      h("td", { title: s.deployment.reason }, s.deployment.state),
      h("td", {}, s.deployment.active_instances),
      ...counts(s.jobs).map((n, i) => h("td", { class: i === 4 && n ? "dead" : null }, n)))));
    if (!services.length) body.append(h("tr", {}, h("td", { colspan: 9 }, "No service yet: drop an FDL file above or create one.")));
  };
  listen("", load, throttle(load, 1000));
}

function fdlDrop(applied) {
  const result = h("div", { id: "fdl-result", "aria-live": "polite" });
  const input = h("input", { type: "file", id: "fdl-files", multiple: true, accept: ".yaml,.yml,.sh,.py,text/*" });
  const zone = h("section", { class: "card drop", "aria-labelledby": "fdl-title" },
    h("h2", { id: "fdl-title" }, "Deploy from an FDL file"),
    h("p", { class: "note" }, "Drop the FDL (.yaml) together with the scripts it names, or choose them."),
    h("label", { for: "fdl-files" }, "FDL and script files"), input, result);
  const send = async (files) => {
    result.replaceChildren(h("p", {}, "Applying…"));
    try {
      const list = Array.from(files);
      const fdl = list.find((f) => /\.ya?ml$/i.test(f.name));
      if (!fdl) throw new Error("No .yaml or .yml file among the files: the FDL is needed.");
      const texts = {};
      for (const file of list) texts[file.name] = await file.text();
      const answer = await api("POST", "/ui/api/fdl", { fdl: fdl.name, files: texts });
      result.replaceChildren(...answer.services.map((s) => h("p", { role: "status" },
        (s.updated ? "Updated " : "Created ") + s.name, " · ",
        h("a", { href: "#/service/" + encodeURIComponent(s.name) }, "open"),
        ...s.warnings.map((w) => h("div", { class: "warning" }, w)))));
      applied();
    } catch (error) {
      problem(result, error);
    }
    input.value = "";
  };
  input.addEventListener("change", () => input.files.length && send(input.files));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); send(e.dataTransfer.files); });
  return zone;
}

function field(id, text, attrs = {}) {
  const tag = attrs.rows ? "textarea" : "input";
  return [h("label", { for: id }, text), h(tag, { id, name: id, ...attrs })];
}

async function newServiceScreen(main) {
  const error = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "card", "aria-labelledby": "new-title" },
    h("h1", { id: "new-title" }, "New service"),
    h("div", { class: "grid" },
      h("div", {}, ...field("name", "Name", { required: true, placeholder: "copy" })),
      h("div", {}, ...field("image", "Image (optional)", { placeholder: "runs on this machine when empty" })),
      h("div", {}, ...field("input", "Input folder", { placeholder: "copy/in" })),
      h("div", {}, ...field("output", "Output folder", { placeholder: "copy/out" })),
      h("div", {}, ...field("memory", "Memory", { value: "256Mi" })),
      h("div", {}, ...field("cpu", "CPU", { value: "0.5" }))),
    ...field("script", "Script", { rows: 8, required: true,
      placeholder: 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"' }),
    error,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Create"),
      h("a", { class: "button", href: "#/services" }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => form.elements[id].value.trim();
    const definition = { name: value("name"), script: form.elements.script.value,
      memory: value("memory"), cpu: value("cpu"), image: value("image") };
    if (value("input")) definition.input = [{ storage_provider: "minio.default", path: value("input") }];
    if (value("output")) definition.output = [{ storage_provider: "minio.default", path: value("output") }];
    try {
      await api("POST", "/system/services", definition);
      location.hash = "#/service/" + encodeURIComponent(definition.name);
    } catch (e) { problem(error, e); }
  });
  main.append(form);
  form.elements.name.focus();
}

async function serviceScreen(main, name) {
  const service = await api("GET", "/system/services/" + encodeURIComponent(name));
  main.append(h("h1", {}, "Service ", service.name));
  const inputs = (service.input || []).map((i) => i.path);
  const outputs = (service.output || []).map((o) => o.path);
  const folderLinks = (paths) => paths.map((p) => h("a", { href: "#/storage/" + encodePath(p), style: "margin-right:8px" }, p));
  main.append(h("section", { class: "card", "aria-label": "Summary" },
    h("p", {}, "Input: ", folderLinks(inputs).length ? folderLinks(inputs) : "none",
      " · Output: ", folderLinks(outputs).length ? folderLinks(outputs) : "none"),
    tokenRow(service.token),
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => editDialog(service) }, "Edit"),
      h("button", { type: "button", class: "danger", onclick: () => deleteDialog(service.name) }, "Delete service"))));
  main.append(jobsCard(service.name), invokeCard(service.name));
}

function tokenRow(token) {
  const shown = h("code", { class: "token", id: "token" }, "••••••••");
  let visible = false;
  return h("div", { class: "row" }, h("span", {}, "Token: "), shown,
    h("button", { type: "button", onclick: (e) => { visible = !visible; shown.textContent = visible ? token : "••••••••"; e.target.textContent = visible ? "Hide" : "Show"; } }, "Show"),
    h("button", { type: "button", onclick: async () => {
      try { await navigator.clipboard.writeText(token); toast("Token copied"); }
      catch { shown.textContent = token; visible = true; toast("Select the token to copy it"); }
    } }, "Copy"));
}

function editDialog(service) {
  const editable = { ...service };
  for (const key of ["token", "owner", "namespace", "volume_status", "deployment"]) delete editable[key];
  const area = h("textarea", { id: "definition", rows: 18 }, JSON.stringify(editable, null, 2));
  const error = h("div", { "aria-live": "assertive" });
  const dialog = h("dialog", { "aria-labelledby": "edit-title", style: "max-width:760px;width:95vw" },
    h("h2", { id: "edit-title" }, "Edit ", service.name),
    h("label", { for: "definition" }, "Definition (JSON, as the API takes it)"), area, error,
    h("div", { class: "row" },
      h("button", { type: "button", class: "primary", onclick: async () => {
        try {
          await api("PUT", "/system/services", JSON.parse(area.value));
          dialog.close(); dialog.remove(); toast("Saved"); route();
        } catch (e) { problem(error, e); }
      } }, "Save"),
      h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, "Cancel")));
  dialog.addEventListener("close", () => dialog.remove()); // Escape closes it too
  document.body.append(dialog);
  dialog.showModal();
}

function deleteDialog(name) {
  const error = h("div", { "aria-live": "assertive" });
  const dialog = h("dialog", { role: "alertdialog", "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, "Delete ", name, "?"),
    h("p", {}, "Its definition and its jobs go; files in its folders stay."), error,
    h("div", { class: "row" },
      h("button", { type: "button", class: "danger", onclick: async () => {
        try {
          await api("DELETE", "/system/services/" + encodeURIComponent(name));
          dialog.close(); dialog.remove(); toast("Deleted " + name); location.hash = "#/services";
        } catch (e) { problem(error, e); }
      } }, "Delete"),
      h("button", { type: "button", autofocus: true, onclick: () => { dialog.close(); dialog.remove(); } }, "Cancel")));
  dialog.addEventListener("close", () => dialog.remove()); // Escape closes it too
  document.body.append(dialog);
  dialog.showModal();
}

// ---- invoke --------------------------------------------------------------------------------

function base64Of(buffer) {
  const view = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(text);
}

function decodeAnswer(text) {
  // /run answers with the output file base64-encoded (several: a zip), or the script's output.
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/=\s]+$/.test(trimmed) || trimmed.length % 4 !== 0) return { text, bytes: new TextEncoder().encode(text) };
  try {
    const raw = atob(trimmed);
    const data = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(data);
    return { text: decoded, bytes: data };
  } catch {
    return { text: null, bytes: new TextEncoder().encode(text) };
  }
}

function invokeCard(name) {
  const text = h("textarea", { id: "invoke-text", rows: 3, placeholder: "Text to send as the input file" });
  const file = h("input", { type: "file", id: "invoke-file" });
  const answer = h("div", { id: "invoke-answer", "aria-live": "polite" });
  const run = async () => {
    answer.replaceChildren(h("p", {}, "Running…"));
    try {
      const input = file.files.length ? base64Of(await file.files[0].arrayBuffer()) : base64Of(new TextEncoder().encode(text.value));
      const reply = await api("POST", "/run/" + encodeURIComponent(name), input);
      const decoded = decodeAnswer(reply);
      const url = URL.createObjectURL(new Blob([decoded.bytes]));
      answer.replaceChildren(
        decoded.text !== null ? h("pre", { id: "invoke-output" }, decoded.text) : h("p", {}, "The answer is binary (" + bytes(decoded.bytes.length) + ")."),
        h("a", { class: "button", href: url, download: name + "-answer" }, "Download the answer"));
    } catch (error) { problem(answer, error); }
  };
  return h("section", { class: "card", "aria-labelledby": "invoke-title" },
    h("h2", { id: "invoke-title" }, "Invoke synchronously"),
    h("label", { for: "invoke-text" }, "Input text"), text,
    h("label", { for: "invoke-file" }, "…or an input file"), file,
    h("div", { class: "row" }, h("button", { type: "button", class: "primary", onclick: run }, "Run")),
    answer);
}

// ---- jobs ----------------------------------------------------------------------------------

const MAX_ROWS = 500; // jobs kept in the table; the counts above it cover every job

// Pure: the server's counts as the page keeps them (tested in tests/ui).
function countsOf(counts) {
  const totals = { dead: counts.dead || 0 };
  for (const s of STATES) totals[s] = counts.states[s] || 0;
  return totals;
}

// Pure: counts after one job went from ``old`` (null: a new job) to ``row``.
function applyEvent(totals, old, row) {
  const next = { ...totals };
  if (old) { next[old.status]--; next.dead -= old.dead ? 1 : 0; }
  next[row.status]++;
  next.dead += row.dead ? 1 : 0;
  return next;
}

function jobsCard(service) {
  const filter = h("select", { id: "job-filter" },
    h("option", { value: "" }, "All states"), STATES.map((s) => h("option", { value: s }, s)),
    h("option", { value: "dead" }, "Dead letters"));
  const summary = h("p", { id: "job-counts", class: "note", "aria-live": "polite" });
  const body = h("tbody", { id: "jobs" });
  const log = h("div", { id: "job-log" });
  const rows = new Map();
  let openJob = null;
  let totals = countsOf({ states: {}, dead: 0 });
  const reload = throttle(() => load(), 1000);

  const show = (row, counting = true) => {
    const status = row.dead ? "dead letter" : row.status;
    const visible = !filter.value || (filter.value === "dead" ? row.dead : row.status === filter.value && !row.dead);
    const tr = h("tr", { "data-job": row.job, "data-status": row.status, hidden: !visible },
      h("td", {}, h("button", { type: "button", class: "quiet-link", onclick: () => openLog(row.job) }, row.job)),
      h("td", { class: "state state-" + row.status + (row.dead ? " dead" : "") }, status),
      h("td", {}, row.attempts),
      h("td", { class: "wide" }, row.reason || ""),
      h("td", {}, row.dead ? h("button", { type: "button", onclick: () => retry(row.job) }, "Retry") : ""));
    const old = rows.get(row.job);
    if (counting) {
      if (old || row.status === "Pending") totals = applyEvent(totals, old ? old.row : null, row);
      else reload(); // a job the table does not show: read the list again
    }
    if (old) old.el.replaceWith(tr); else body.prepend(tr);
    rows.set(row.job, { row, el: tr });
    while (rows.size > MAX_ROWS) {
      const oldest = body.lastElementChild;
      rows.delete(oldest.dataset.job);
      oldest.remove();
    }
  };
  const tally = () => {
    summary.textContent = STATES.map((s) => s + ": " + totals[s]).join(" · ") + " · Dead letters: " + totals.dead;
  };
  const load = async () => {
    const data = await api("GET", "/ui/api/jobs/" + encodeURIComponent(service));
    rows.clear();
    body.replaceChildren();
    for (const row of [...data.jobs].reverse()) show(row, false);
    totals = countsOf(data.counts);
    tally();
  };
  const openLog = async (job) => {
    openJob = job;
    state.timers.forEach(clearInterval);
    state.timers = [];
    const refresh = async () => {
      try {
        const text = await api("GET", "/system/logs/" + encodeURIComponent(service) + "/" + encodeURIComponent(job));
        log.replaceChildren(h("h3", {}, "Log of ", job), h("pre", { id: "log-text", tabindex: "0" }, text || "(empty so far)"));
      } catch (error) { problem(log, error); }
      const current = rows.get(job);
      if (!current || current.row.status !== "Running") { state.timers.forEach(clearInterval); state.timers = []; }
    };
    await refresh();
    const current = rows.get(job);
    if (current && current.row.status === "Running") state.timers.push(setInterval(refresh, 1000));
  };
  const retry = async (job) => {
    try { show(await api("POST", `/system/jobs/${encodeURIComponent(service)}/${encodeURIComponent(job)}/retry`).then(detailRow)); tally(); toast("Retrying " + job); }
    catch (error) { toast(error.message); }
  };
  const detailRow = (d) => ({ job: d.name, status: d.status, attempts: d.attempts, reason: d.reason, dead: d.dead_letter });
  filter.addEventListener("change", () => { for (const { row } of rows.values()) show(row, false); });
  listen(service, load, (event) => {
    show(event); tally();
    if (event.job === openJob) openLog(openJob);
  });
  const clear = async () => {
    try { await api("DELETE", "/system/logs/" + encodeURIComponent(service) + "?all=true"); toast("Logs of finished jobs deleted"); await load(); }
    catch (error) { toast(error.message); }
  };
  return h("section", { class: "card", "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title" }, "Jobs"),
    h("div", { class: "row" }, h("label", { for: "job-filter", style: "margin:0" }, "Show"), filter,
      h("button", { type: "button", onclick: clear }, "Delete logs of finished jobs")),
    summary,
    h("div", { class: "scroll" }, h("table", { "aria-label": "Jobs of " + service },
      h("thead", {}, h("tr", {}, ["Job", "State", "Attempts", "Reason", ""].map((t, i) => h("th", { scope: "col", class: i === 3 ? "wide" : null }, t)))),
      body)),
    log);
}

// ---- storage -------------------------------------------------------------------------------

async function storageScreen(main, path) {
  main.append(h("h1", {}, "Storage"));
  if (!path) {
    const buckets = await api("GET", "/ui/api/buckets");
    main.append(h("section", { class: "card", "aria-label": "Buckets" }, h("h2", {}, "Buckets"),
      buckets.length ? h("ul", {}, buckets.map((b) => h("li", {}, h("a", { href: "#/storage/" + encodePath(b) }, b))))
        : h("p", {}, "No bucket yet: services create theirs.")));
    return;
  }
  const listing = await api("GET", "/ui/api/folder/" + encodePath(path));
  const parts = listing.path.split("/");
  main.append(h("nav", { "aria-label": "Folder", class: "row" }, h("a", { href: "#/storage" }, "Buckets"),
    parts.map((p, i) => ["/", h("a", { href: "#/storage/" + encodePath(parts.slice(0, i + 1).join("/")) }, p)])));
  const watched = listing.watched_by.length
    ? h("p", { class: "note" }, "Files uploaded here start jobs of: " + listing.watched_by.join(", "))
    : h("p", { class: "note" }, "No service watches this folder.");
  const table = h("div", { id: "listing" });
  main.append(watched, uploadCard(listing, async () => fillListing(table, await api("GET", "/ui/api/folder/" + encodePath(path)))), preview(), table);
  fillListing(table, listing);
}

function fillListing(holder, listing) {
  const body = h("tbody");
  for (const folder of listing.folders) {
    body.append(h("tr", {}, h("td", {}, h("a", { href: "#/storage/" + encodePath(listing.path + "/" + folder) }, folder + "/")), h("td", {}), h("td", { class: "wide" }), h("td", {})));
  }
  for (const file of listing.files) {
    const full = listing.path + "/" + file.name;
    body.append(h("tr", { "data-file": file.name },
      h("td", {}, file.name), h("td", {}, bytes(file.size)), h("td", { class: "wide" }, file.modified),
      h("td", {}, h("div", { class: "row", style: "margin:0" },
        h("a", { class: "button", href: "/ui/api/files/" + encodePath(full), download: file.name }, "Download"),
        h("button", { type: "button", onclick: () => showPreview(full, file) }, "Preview"),
        h("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm("Delete " + full + "?")) return;
          try { await api("DELETE", "/ui/api/files/" + encodePath(full)); route(); } catch (e) { toast(e.message); }
        } }, "Delete")))));
  }
  if (!listing.folders.length && !listing.files.length) body.append(h("tr", {}, h("td", { colspan: 4 }, "Empty folder.")));
  holder.replaceChildren(h("div", { class: "row" }, h("a", { class: "button", id: "zip", href: "/ui/api/zip/" + encodePath(listing.path), download: true }, "Download folder as zip")),
    h("div", { class: "scroll" }, h("table", { "aria-label": "Files in " + listing.path },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Size"), h("th", { scope: "col", class: "wide" }, "Modified"), h("th", { scope: "col" }, "Actions"))),
      body)));
}

function preview() { return h("div", { id: "preview", class: "preview", "aria-live": "polite" }); }

async function showPreview(path, file) {
  const box = document.getElementById("preview");
  const url = "/ui/api/files/" + encodePath(path) + "?inline=true";
  if (/\.(png|jpe?g|gif|webp|svg)$/i.test(file.name)) {
    box.replaceChildren(h("section", { class: "card" }, h("h2", {}, file.name), h("img", { src: url, alt: "Preview of " + file.name })));
    return;
  }
  try {
    const response = await api("GET", url, undefined, { raw: true });
    const blob = await response.blob();
    const text = await blob.slice(0, 64 * 1024).text();
    box.replaceChildren(h("section", { class: "card" }, h("h2", {}, file.name), h("pre", { id: "preview-text" }, text)));
  } catch (error) { problem(box, error); }
}

// Pure: what to do with chosen files, given the folder and the size limit (tested in tests/ui).
function planUpload(files, folder, watchedBy, maxBytes) {
  const tooLarge = files.filter((f) => f.size > maxBytes);
  if (tooLarge.length) {
    return { action: "refuse", message: tooLarge.map((f) => `${f.name} is ${bytes(f.size)}; the largest file Sluice takes is ${bytes(maxBytes)} (SLUICE_MAX_BODY). Nothing was uploaded.`).join("\n") };
  }
  if (!watchedBy.length) {
    return { action: "confirm", message: `No service watches ${folder}: the files would be stored but start no job. Nothing was uploaded yet.` };
  }
  return { action: "upload", message: "" };
}

function uploadCard(listing, uploaded) {
  const input = h("input", { type: "file", id: "upload-files", multiple: true });
  const status = h("div", { id: "upload-status", "aria-live": "polite" });
  const bars = h("div", { id: "upload-progress" });
  const start = (files, force) => {
    status.replaceChildren();
    let left = files.length;
    for (const file of files) {
      const bar = h("progress", { max: 100, value: 0, "aria-label": "Upload of " + file.name });
      const label = h("span", {}, "0%");
      bars.append(h("div", { class: "progress" }, h("span", {}, file.name), bar, label));
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", "/ui/api/files/" + encodePath(listing.path + "/" + file.name) + (force ? "?force=true" : ""));
      xhr.setRequestHeader(state.session.csrf_header, state.session.csrf);
      xhr.setRequestHeader("X-Sluice-UI", "1");
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) { bar.value = (100 * e.loaded) / e.total; label.textContent = Math.round(bar.value) + "%"; } });
      xhr.addEventListener("loadend", () => {
        if (xhr.status >= 200 && xhr.status < 300) { bar.value = 100; label.textContent = "done"; }
        else { label.textContent = "failed"; status.append(h("div", { class: "alert", role: "alert" }, file.name + ": " + (xhr.responseText || "upload failed"))); }
        if (--left === 0) { toast("Uploads finished"); uploaded(); }
      });
      xhr.send(file);
    }
  };
  input.addEventListener("change", () => {
    const files = Array.from(input.files);
    if (!files.length) return;
    const plan = planUpload(files, listing.path, listing.watched_by, state.session.max_upload);
    if (plan.action === "refuse") { status.replaceChildren(h("div", { class: "alert", role: "alert" }, plan.message)); input.value = ""; return; }
    if (plan.action === "confirm") {
      status.replaceChildren(h("div", { class: "warning", role: "alert" }, plan.message, " ",
        h("button", { type: "button", onclick: () => { start(files, true); input.value = ""; } }, "Upload anyway"), " ",
        h("button", { type: "button", onclick: () => { status.replaceChildren(); input.value = ""; } }, "Cancel")));
      return;
    }
    start(files, false);
    input.value = "";
  });
  return h("section", { class: "card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload to ", listing.path),
    h("label", { for: "upload-files" }, "Files"), input, status, bars);
}

// ---- workflows -----------------------------------------------------------------------------

// Pure: positions of nodes in columns by depth (tested in tests/ui).
function layout(graph) {
  const columns = {};
  for (const node of graph.nodes) (columns[graph.depth[node.name] || 0] ||= []).push(node.name);
  const at = {};
  for (const [depth, names] of Object.entries(columns)) {
    names.forEach((name, row) => { at[name] = { x: 20 + Number(depth) * 340, y: 30 + row * 110 }; });
  }
  return at;
}

async function workflowScreen(main) {
  main.append(h("h1", {}, "Workflows"),
    h("p", { class: "note" }, "Services chained through their folders: an arrow goes from a service to the one its output path feeds, with the jobs of that service."));
  const holder = h("div", { class: "card scroll", id: "workflow" });
  main.append(holder);
  const draw = async () => {
    const graph = await api("GET", "/ui/api/workflow");
    if (!graph.nodes.length) { holder.replaceChildren(h("p", {}, "No service yet.")); return; }
    const at = layout(graph);
    const width = Math.max(...Object.values(at).map((p) => p.x)) + 240;
    const height = Math.max(...Object.values(at).map((p) => p.y)) + 100;
    const tally = (c) => `✓${c.Succeeded} ▶${c.Running} …${c.Pending} ✗${c.Failed}`;
    const byName = Object.fromEntries(graph.nodes.map((n) => [n.name, n]));
    const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Workflow graph" },
      svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#57606a" }))),
      graph.edges.map((e) => {
        const a = at[e.from], b = at[e.to];
        return svg("g", { class: "edge", "data-edge": e.from + "->" + e.to },
          svg("line", { x1: a.x + 180, y1: a.y + 30, x2: b.x, y2: b.y + 30, "marker-end": "url(#arrow)" }),
          svg("text", { x: (a.x + 180 + b.x) / 2, y: (a.y + b.y) / 2 + 22, "text-anchor": "middle" }, e.path),
          svg("text", { x: (a.x + 180 + b.x) / 2, y: (a.y + b.y) / 2 + 50, "text-anchor": "middle" }, tally(byName[e.to].counts)));
      }),
      graph.nodes.map((n) => svg("g", { class: "node", "data-node": n.name },
        svg("rect", { x: at[n.name].x, y: at[n.name].y, width: 180, height: 60, rx: 8 }),
        svg("text", { x: at[n.name].x + 10, y: at[n.name].y + 24 }, n.name),
        svg("text", { class: "counts", x: at[n.name].x + 10, y: at[n.name].y + 44 }, tally(n.counts)))));
    holder.replaceChildren(picture, h("p", { class: "note" }, "✓ succeeded ▶ running … pending ✗ failed"));
  };
  listen("", draw, throttle(draw, 1000));
}

// ---- status --------------------------------------------------------------------------------

function meter(label, used, total, format) {
  const share = total ? Math.min(100, (100 * used) / total) : 0;
  return h("div", {}, h("p", {}, `${label}: ${format(used)} used of ${format(total)} (${format(Math.max(0, total - used))} free)`),
    h("div", { class: "meter", role: "meter", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": used }, h("span", { style: `width:${share}%` })));
}

async function statusScreen(main) {
  main.append(h("h1", {}, "Status"));
  const [status, points] = await Promise.all([api("GET", "/system/status"), api("GET", "/ui/api/throughput")]);
  const node = status.cluster.nodes[0];
  const reserved = status.oscar.capacity;
  const cores = (n) => (n === null || n === undefined ? "?" : Number(n).toFixed(2) + " cores");
  main.append(h("section", { class: "card", "aria-labelledby": "capacity-title" }, h("h2", { id: "capacity-title" }, "Capacity"),
    // OSCAR's node figures are in millicores whatever their names say
    meter("CPU of this machine", node.cpu.usage_cores / 1000, node.cpu.capacity_cores / 1000, cores),
    meter("Memory of this machine", node.memory.usage_bytes, node.memory.capacity_bytes, bytes),
    meter("CPU reserved by jobs", reserved.cpu_cores.used, reserved.cpu_cores.total, cores),
    meter("Memory reserved by jobs", reserved.memory_bytes.used, reserved.memory_bytes.total, bytes)));
  const top = Math.max(1, ...points.map((p) => p.succeeded + p.failed));
  const chart = svg("svg", { class: "chart", width: 420, height: 140, viewBox: "0 0 420 140", role: "img", "aria-label": "Jobs finished per minute, last ten minutes" },
    points.map((p, i) => {
      const ok = (100 * p.succeeded) / top, bad = (100 * p.failed) / top;
      return svg("g", {}, svg("title", {}, `${p.minute}: ${p.succeeded} succeeded, ${p.failed} failed`),
        svg("rect", { x: 10 + i * 40, y: 110 - ok - bad, width: 30, height: ok }),
        svg("rect", { class: "failed", x: 10 + i * 40, y: 110 - bad, width: 30, height: bad }),
        svg("text", { x: 10 + i * 40, y: 128 }, p.minute.slice(11, 16)));
    }), svg("text", { x: 10, y: 12 }, `max ${top}/min`));
  main.append(h("section", { class: "card", "aria-labelledby": "tp-title" }, h("h2", { id: "tp-title" }, "Throughput"),
    h("p", { class: "note" }, "Jobs finished per minute (green succeeded, red failed)."), chart),
    h("section", { class: "card", "aria-labelledby": "store-title" }, h("h2", { id: "store-title" }, "Object store"),
      h("p", {}, `${status.minio.buckets_count} buckets, ${status.minio.total_objects} objects`),
      h("p", {}, `Jobs: ${Object.entries(status.oscar.jobs).map(([k, v]) => k + " " + v).join(", ") || "none yet"}`)));
}

// ---- start ---------------------------------------------------------------------------------

async function boot() {
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault(); // the hash is the router's: move focus without navigating
    document.getElementById("main").focus();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/ui/logout"); } catch { /* logged out anyway */ }
    showLogin();
  });
  window.addEventListener("hashchange", async () => {
    await route();
    document.getElementById("main").focus({ preventScroll: true }); // a new screen: start there
  });
  try {
    state.session = await api("GET", "/ui/session", undefined, { login: true });
    started();
  } catch {
    showLogin();
  }
}

if (typeof document !== "undefined" && document.getElementById) {
  document.addEventListener("DOMContentLoaded", boot);
}
if (typeof module !== "undefined") module.exports = { planUpload, layout, decodeAnswer, bytes, countsOf, applyEvent };
