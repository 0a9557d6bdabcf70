// The demo page: sign in with the test token, list payment requests and invoices, create approval
// flows (as carol), create, submit, approve and reject requests, upload an invoice PDF and watch it
// parse, all through the public API, with other browsers' changes arriving over the WebSocket.
// Plain ES modules, no build step.

import { api, ApiError, uploadToBucket } from "./api.js";
import { LiveSync } from "./live.js";

// The local stack's demo users (local/payreq_local/seed.py) and the permissions they sign in with.
const PEOPLE = [
  { email: "alice@example.com", name: "Alice Requester",
    permissions: ["pr.read", "pr.write", "invoice.read", "invoice.write", "tokens.manage"] },
  { email: "bob@example.com", name: "Bob Approver",
    permissions: ["pr.read", "pr.approve", "invoice.read", "tokens.manage"] },
  { email: "carol@example.com", name: "Carol Finance",
    permissions: ["pr.read", "pr.approve", "invoice.read", "invoice.write", "invoice.verify", "payment.read",
      "payment.write", "audit.read", "flows.manage", "users.admin", "tokens.manage"] },
];
const LIST_LIMIT = 20;

const $ = (id) => document.getElementById(id);
// `awaiting`: the requests the server says this person may decide now (`?awaiting=me`), their own
// steps and those they decide for someone who delegated to them: the rule lives in one place.
const state = { me: null, prs: new Map(), invoices: new Map(), parsing: new Set(), awaiting: new Set(), live: null };

// ------------------------------------------------------------------------------------ helpers

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

function can(permission) {
  return state.me?.permissions.includes(permission) ?? false;
}

function say(text, kind = "info") {
  const message = $("message");
  message.textContent = text;
  message.dataset.kind = kind;
  message.hidden = false;
}

function fail(error) {
  say(error instanceof ApiError ? `${error.message} (${error.status} ${error.code})` : String(error), "error");
}

// Runs a click or submit handler with its button disabled, reporting failures on the page.
function action(handler) {
  return async (event) => {
    event.preventDefault();
    const control = event.submitter ?? event.currentTarget;
    control.disabled = true;
    try {
      await handler(event);
    } catch (error) {
      fail(error);
    } finally {
      control.disabled = false;
    }
  };
}

function setLive(status, text) {
  const live = $("live");
  live.dataset.state = status;
  live.textContent = text;
}

// ------------------------------------------------------------------------ payment requests

function currentStep(pr) {
  return pr.status === "pending" && pr.currentStep !== null ? pr.steps[pr.currentStep] : null;
}

function statusText(pr) {
  const step = currentStep(pr);
  return step ? `pending: ${step.name} (${step.approvals.length}/${step.required})` : pr.status;
}

function prActions(pr) {
  const mine = pr.requesterId === state.me.id;
  const step = currentStep(pr);
  const buttons = [];
  if (pr.status === "draft" && mine && can("pr.write")) {
    buttons.push(h("button", { type: "button", "aria-label": `Submit ${pr.number}`, onclick: action(() => transition(pr, "submit")) }, "Submit"));
  }
  const decided = step?.approvals.some((approval) => approval.approverId === state.me.id);
  const mayDecide = step?.approvers.includes(state.me.id) || state.awaiting.has(pr.id);
  if (step && !mine && !decided && can("pr.approve") && mayDecide) {
    buttons.push(
      h("button", { type: "button", "aria-label": `Approve ${pr.number}`, onclick: action(() => transition(pr, "approve", {})) }, "Approve"),
      h("button", { type: "button", class: "secondary", "aria-label": `Reject ${pr.number}`, onclick: action(() => transition(pr, "reject", {})) }, "Reject"),
    );
  }
  return buttons;
}

// A decision a delegate made says for whom: "approved on behalf of Alice".
function onBehalfNotes(pr) {
  return pr.steps.flatMap((step) =>
    step.approvals
      .filter((approval) => approval.onBehalfOf)
      .map((approval) => h("small", { class: "on-behalf" }, `${approval.decision} on behalf of ${approval.onBehalfOf.displayName}`)),
  );
}

function prRow(pr) {
  return h(
    "tr",
    { "data-pr-id": pr.id, "data-status": pr.status },
    h("th", { scope: "row" }, pr.number),
    h("td", {}, pr.title),
    h("td", {}, pr.payee),
    h("td", { class: "number" }, `${pr.amount} ${pr.currency}`),
    h("td", {}, h("span", { class: `badge ${pr.status}` }, statusText(pr)), ...onBehalfNotes(pr)),
    h("td", { class: "actions" }, ...prActions(pr)),
  );
}

// Keeps `item` (a "pr" or an "invoice") in `known` and shows it in its table, newer versions only:
// in its row if it has one, else at the top. Answers whether it was shown.
function showRow(kind, known, item, row, flash) {
  const shown = known.get(item.id);
  if (shown && shown.version > item.version) return false;
  known.set(item.id, item);
  const element = row(item);
  const existing = document.querySelector(`tr[data-${kind}-id="${item.id}"]`);
  if (existing) existing.replaceWith(element);
  else $(`${kind}-rows`).prepend(element);
  if (flash) element.classList.add("changed");
  return true;
}

function showPr(pr, { flash = false } = {}) {
  if (showRow("pr", state.prs, pr, prRow, flash)) $("pr-empty").hidden = true;
}

// Approve and reject bind to what the person is looking at: If-Match carries the version shown.
// When its amount, payee, flow or invoices changed since, the API refuses (412) and the row is
// refreshed so the person decides on what the request says now.
const DECISIONS = new Set(["approve", "reject", "unapprove"]);

async function transition(pr, verb, body = undefined) {
  const headers = DECISIONS.has(verb) ? { "If-Match": `"${pr.version}"` } : {};
  try {
    const updated = await api("POST", `/api/v1/prs/${pr.id}/${verb}`, body, headers);
    showPr(updated);
    say(`${updated.number} is now ${updated.status}.`);
  } catch (error) {
    if (error.status !== 412) throw error;
    showPr(await api("GET", `/api/v1/prs/${pr.id}`), { flash: true });
    say(`${pr.number} changed since you read it: check it again before deciding.`);
  }
}

async function loadAwaiting() {
  if (!can("pr.approve")) return;
  const page = await api("GET", `/api/v1/prs?awaiting=me&limit=${LIST_LIMIT}`);
  state.awaiting = new Set(page.items.map((pr) => pr.id));
}

async function loadPrs() {
  const [page] = await Promise.all([api("GET", `/api/v1/prs?limit=${LIST_LIMIT}`), loadAwaiting()]);
  state.prs.clear();
  $("pr-rows").replaceChildren(...page.items.map(prRow));
  for (const pr of page.items) state.prs.set(pr.id, pr);
  $("pr-empty").hidden = page.items.length > 0;
}

// ---------------------------------------------------------------------------- approval flows

async function loadFlows() {
  const templates = await api("GET", "/api/v1/approval-flows");
  const select = $("pr-flow");
  const chosen = select.value;
  select.replaceChildren(...templates.map((template) => h("option", { value: template.id }, template.name)));
  if (templates.some((template) => template.id === chosen)) select.value = chosen;
  $("no-flows").hidden = templates.length > 0;
  $("flow-list").replaceChildren(...templates.map((template) => h("li", {}, template.name)));
}

async function loadApprovers() {
  const page = await api("GET", "/api/v1/users?limit=200");
  const approvers = page.items.filter((user) => user.isActive && user.permissions.includes("pr.approve"));
  $("flow-approver").replaceChildren(
    ...approvers.map((user) => h("option", { value: user.id }, `${user.displayName} (${user.email})`)),
  );
}

async function createFlow(event) {
  const form = event.currentTarget;
  const fields = Object.fromEntries(new FormData(form));
  const created = await api("POST", "/api/v1/approval-flows", {
    name: fields.name,
    steps: [{ name: fields.name, mode: "anyof", approvers: [fields.approver] }],
  });
  await loadFlows();
  form.reset();
  say(`Approval flow “${created.name}” created: requesters can choose it now.`);
}

async function createPr(event) {
  const form = event.currentTarget;
  const fields = Object.fromEntries(new FormData(form));
  const created = await api("POST", "/api/v1/prs", { ...fields, currency: fields.currency.toUpperCase() });
  showPr(created);
  form.reset();
  say(`${created.number} created as a draft: submit it for approval.`);
}

// -------------------------------------------------------------------------------- invoices

function invoiceRow(invoice) {
  return h(
    "tr",
    { "data-invoice-id": invoice.id, "data-status": invoice.status },
    h("th", { scope: "row" }, invoice.reference),
    h("td", {}, invoice.vendor ?? "—"),
    h("td", {}, invoice.number ?? "—"),
    h("td", { class: "number" }, invoice.total ? `${invoice.total} ${invoice.currency ?? ""}` : "—"),
    h("td", {}, h("span", { class: `badge ${invoice.status}`, title: invoice.parseError ?? "" }, invoice.status)),
  );
}

function showInvoice(invoice, { flash = false } = {}) {
  if (!showRow("invoice", state.invoices, invoice, invoiceRow, flash)) return;
  if (state.parsing.has(invoice.id) && invoice.status !== "received") {
    state.parsing.delete(invoice.id);
    say(invoice.status === "parsed"
      ? `${invoice.reference} parsed: ${invoice.vendor ?? "no vendor"}, ${invoice.total ?? "no total"} ${invoice.currency ?? ""}.`
      : `${invoice.reference} could not be parsed: ${invoice.parseError ?? invoice.status}.`);
  }
}

async function loadInvoices() {
  const page = await api("GET", `/api/v1/invoices?limit=${LIST_LIMIT}`);
  state.invoices.clear();
  $("invoice-rows").replaceChildren(...page.items.map(invoiceRow));
  for (const invoice of page.items) state.invoices.set(invoice.id, invoice);
}

async function uploadInvoice(event) {
  const form = event.currentTarget;
  const file = $("invoice-file").files[0];
  const grant = await api("POST", "/api/v1/invoices/uploads", {
    fileName: file.name,
    contentType: file.type || "application/pdf",
    contentLength: file.size,
  });
  showInvoice(grant.invoice);
  state.parsing.add(grant.invoice.id);
  await uploadToBucket(grant.upload, file);
  form.reset();
  // (Unless the parser was quicker and its result is on the page already.)
  if (state.parsing.has(grant.invoice.id)) say(`${file.name} uploaded as ${grant.invoice.reference}: parsing…`);
}

// ---------------------------------------------------------------------------- live changes

const REFETCH = {
  pr: [(id) => `/api/v1/prs/${id}`, showPr, (id) => state.prs.get(id)],
  invoice: [(id) => `/api/v1/invoices/${id}`, showInvoice, (id) => state.invoices.get(id)],
};

async function onChange(change) {
  const entry = REFETCH[change.entity];
  if (!entry) return;
  const [path, show, known] = entry;
  if ((known(change.id)?.version ?? -1) >= change.version) return; // this page made the change
  try {
    const item = await api("GET", path(change.id));
    // A pending request at a step someone delegated to this person is theirs to decide too. Asked
    // after the read, so the answer is at least as new as what is shown (a later change of the same
    // request may be skipped above as already shown); only a pending request can await anyone.
    if (change.entity === "pr" && item.status === "pending") await loadAwaiting();
    show(item, { flash: true });
  } catch (error) {
    if (!(error instanceof ApiError && [403, 404].includes(error.status))) fail(error);
  }
}

async function reloadLists() {
  const loads = [];
  if (can("pr.read")) loads.push(loadPrs(), loadFlows());
  if (can("flows.manage") && can("users.admin")) loads.push(loadApprovers());
  if (can("invoice.read")) loads.push(loadInvoices());
  await Promise.all(loads);
}

// --------------------------------------------------------------------------------- session

async function enter(me) {
  state.me = me;
  $("who").textContent = `${me.displayName} (${me.email})`;
  $("permissions").textContent = me.permissions.join(" ");
  $("sign-in").hidden = true;
  $("account").hidden = false;
  $("prs").hidden = !can("pr.read");
  $("new-pr").hidden = !can("pr.write");
  $("flows").hidden = !(can("flows.manage") && can("users.admin"));
  $("invoices").hidden = !can("invoice.read");
  $("upload").hidden = !can("invoice.write");
  await reloadLists();
  const topics = [can("pr.read") && "prs", can("invoice.read") && "invoices"].filter(Boolean);
  state.live = new LiveSync({ topics, onChange, onStatus: setLive, onReconnect: () => reloadLists().catch(fail) });
  state.live.start();
}

function leave() {
  state.live?.stop();
  state.live = null;
  state.me = null;
  for (const id of ["account", "prs", "flows", "invoices", "message"]) $(id).hidden = true;
  $("sign-in").hidden = false;
}

async function signIn(event) {
  const fields = new FormData(event.currentTarget);
  const person = PEOPLE[Number(fields.get("person"))];
  await api("POST", "/auth/test-login", {
    token: fields.get("token"),
    email: person.email,
    displayName: person.name,
    permissions: person.permissions,
  });
  // The credential's own view of who this is, as every later request sees it.
  await enter(await api("GET", "/api/v1/me"));
}

async function signOut() {
  await api("POST", "/auth/logout");
  leave();
}

async function start() {
  $("person").replaceChildren(...PEOPLE.map((person, index) => h("option", { value: index }, `${person.name} — ${person.email}`)));
  $("sign-in-form").addEventListener("submit", action(signIn));
  $("sign-out").addEventListener("click", action(signOut));
  $("new-pr").addEventListener("submit", action(createPr));
  $("upload").addEventListener("submit", action(uploadInvoice));
  $("new-flow").addEventListener("submit", action(createFlow));
  // Flows are not pushed live: a requester starting a new request gets the current list.
  $("pr-title").addEventListener("focus", () => loadFlows().catch(fail));
  try {
    await enter(await api("GET", "/api/v1/me")); // still signed in from before
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) fail(error);
  }
}

start();
