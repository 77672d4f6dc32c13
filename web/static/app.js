// The live page: sign in, list and add projects and tasks, and show the caller's changes as they happen.
// Plain browser JavaScript, no build step, no library: it talks to the API like any other client.
"use strict";

const TOKEN_KEY = "tasks-api-token"; // sessionStorage: gone when the tab closes, never in a cookie or URL
const state = { token: sessionStorage.getItem(TOKEN_KEY), projects: [], tasks: [], projectId: null };
let stream = null; // the AbortController of the running GET /events, if any

const $ = (selector) => document.querySelector(selector);

// ---- the API ---------------------------------------------------------------------------------

// One request; a problem+json answer becomes an Error carrying the problem (spec: "Problem details").
async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) {
    const error = new Error(data.errors ? data.errors.map((e) => e.detail).join("; ") : data.detail);
    error.problem = data;
    throw error;
  }
  return data;
}

// Every item of a paged list, following next_cursor (spec/README.md "Pagination").
async function listAll(path) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `${path}?${query}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// ---- live events: fetch() + ReadableStream, because EventSource cannot send Authorization ----------

// Read GET /events until the page signs out: parse the framing, apply each event, reconnect after
// `: end` (or a dropped connection) with Last-Event-ID, so that nothing is missed or seen twice.
// The lists are loaded once the first stream is open: every change committed after that is in the
// stream, so subscribing first and reading the lists second misses nothing in between.
async function followEvents() {
  const controller = new AbortController();
  stream = controller;
  let lastEventId = null;
  let retry = 1000;
  while (stream === controller) {
    try {
      const headers = { Authorization: `Bearer ${state.token}` };
      if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch("/events", { headers, signal: controller.signal, cache: "no-store" });
      if (response.status === 401) return signOut("Your session has ended: please log in again.");
      if (!response.ok) throw new Error(`GET /events answered ${response.status}`);
      for await (const block of sseBlocks(response.body)) {
        if (block.retry !== undefined) retry = block.retry;
        if (block.comment !== undefined) setStreamState(block.comment); // open, heartbeat, end
        if (block.comment === "open" && lastEventId === null) await loadLists();
        if (block.event !== undefined) {
          lastEventId = block.id;
          applyEvent(block.id, block.event, JSON.parse(block.data));
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      console.warn("event stream:", error);
    }
    setStreamState("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

// The body's blocks (the text up to a blank line), each parsed into its fields and comments.
async function* sseBlocks(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      yield parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

// `: text` is a comment; `name: value` a field (the one space after the colon is not part of the value).
function parseBlock(text) {
  const block = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) { block.comment = line.slice(1).trim(); continue; }
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "id") block.id = value;
    else if (name === "event") block.event = value;
    else if (name === "data") block.data = block.data === undefined ? value : `${block.data}\n${value}`;
    else if (name === "retry" && /^\d+$/.test(value)) block.retry = Number(value);
  }
  return block;
}

// One event: log it, then update the lists from its data (no need to fetch them again).
function applyEvent(id, type, data) {
  const [kind, change] = type.split(".");
  const label = data.resource ? (data.resource.name ?? data.resource.title) : `#${data.id}`;
  logEvent(id, type, label);
  if (kind === "project") {
    state.projects = upsert(state.projects, data, change);
    if (change === "deleted" && state.projectId === data.id) state.projectId = null;
    if (state.projectId === null) return selectProject(state.projects[0]?.id ?? null);
  } else if (kind === "task") {
    const projectId = data.resource ? data.resource.project_id : data.project_id;
    // A task moved to another project leaves this list; one moved here joins it.
    const here = projectId === state.projectId && change !== "deleted";
    state.tasks = here ? upsert(state.tasks, data, change) : state.tasks.filter((t) => t.id !== data.id);
  }
  render();
}

function upsert(items, data, change) {
  const others = items.filter((item) => item.id !== data.id);
  return change === "deleted" ? others : [...others, data.resource].sort((a, b) => a.id - b.id);
}

// ---- the page ------------------------------------------------------------------------------------

function setStreamState(text) {
  const open = text === "open" || text === "heartbeat";
  document.body.dataset.stream = open ? "open" : text === "closed" ? "closed" : "waiting";
  $("#stream-state").textContent = text === "heartbeat" ? `open (heartbeat ${clock()})` : text;
}

function logEvent(id, type, label) {
  const item = document.createElement("li");
  item.dataset.type = type;
  item.innerHTML = `<time></time> <code></code> <strong></strong> <span></span>`;
  item.querySelector("time").textContent = clock();
  item.querySelector("code").textContent = `id ${id}`;
  item.querySelector("strong").textContent = type;
  item.querySelector("span").textContent = label;
  $("#events").prepend(item);
  while ($("#events").children.length > 50) $("#events").lastElementChild.remove();
}

const clock = () => new Date().toLocaleTimeString();

// Lists are drawn with textContent only: names and titles are user data, never HTML.
function render() {
  $("#projects").replaceChildren(...state.projects.map((project) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = project.name;
    button.className = project.id === state.projectId ? "selected" : "";
    button.addEventListener("click", () => selectProject(project.id));
    item.append(button);
    return item;
  }));
  const project = state.projects.find((p) => p.id === state.projectId);
  $("#tasks-of").textContent = project ? `in ${project.name}` : "";
  $("#task-form").hidden = !project;
  $("#tasks").replaceChildren(...state.tasks.map((task) => {
    const item = document.createElement("li");
    const done = document.createElement("input");
    done.type = "checkbox";
    done.checked = task.done;
    done.setAttribute("aria-label", `done: ${task.title}`);
    // If-Match: the change applies only to the version shown (a 412 if someone changed it meanwhile);
    // the task.updated event then brings the new version.
    const ifMatch = { "If-Match": `"${task.version}"` };
    done.addEventListener("change", () =>
      guarded(() => api("PATCH", `/tasks/${task.id}`, { done: done.checked }, ifMatch)));
    const title = document.createElement("span");
    title.textContent = task.title;
    item.append(done, " ", title);
    return item;
  }));
}

async function loadLists() {
  state.projects = await listAll("/projects");
  const keep = state.projects.some((project) => project.id === state.projectId);
  await selectProject(keep ? state.projectId : state.projects[0]?.id ?? null);
}

async function selectProject(id) {
  state.projectId = id;
  state.tasks = id === null ? [] : await listAll(`/projects/${id}/tasks`);
  render();
}

function showMessage(text) {
  $("#message").textContent = text;
  $("#message").hidden = !text;
}

// Run an action, showing its error (the problem's detail) instead of failing silently.
async function guarded(action) {
  showMessage("");
  try {
    await action();
  } catch (error) {
    showMessage(error.message);
  }
}

async function signIn(email, password, name, register) {
  if (register) await api("POST", "/users", { email, password, name: name || email.split("@")[0] });
  state.token = (await api("POST", "/tokens", { email, password })).access_token;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  await start();
}

// With a token: show who is signed in and follow the stream (which loads the lists once it is open).
async function start() {
  const me = await api("GET", "/users/me");
  $("#who-email").textContent = me.email;
  $("#who").hidden = false;
  $("#signin").hidden = true;
  $("#workspace").hidden = false;
  followEvents();
}

async function signOut(message = "") {
  stream?.abort();
  stream = null;
  if (state.token && !message) await api("DELETE", "/tokens/current").catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { token: null, projects: [], tasks: [], projectId: null });
  $("#who").hidden = true;
  $("#workspace").hidden = true;
  $("#signin").hidden = false;
  $("#events").replaceChildren();
  setStreamState("closed");
  showMessage(message);
}

$("#signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const register = event.submitter?.value === "register";
  guarded(() => signIn(form.get("email"), form.get("password"), form.get("name"), register));
});

$("#project-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.target.elements.name;
  // The list is updated by the project.created event, like a change made anywhere else.
  guarded(async () => {
    await api("POST", "/projects", { name: input.value });
    input.value = "";
  });
});

$("#task-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.target.elements.title;
  guarded(async () => {
    await api("POST", `/projects/${state.projectId}/tasks`, { title: input.value });
    input.value = "";
  });
});

$("#logout").addEventListener("click", () => signOut());

// A token kept from earlier in this tab: use it, or sign out if it no longer works.
if (state.token) start().catch(() => signOut("Your session has ended: please log in again."));
