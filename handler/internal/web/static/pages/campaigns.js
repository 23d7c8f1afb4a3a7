// Campaigns: searched by name, filtered by state, newest first or in
// another order, with status, progress and counts, and a menu each (open,
// copy, delete); create one.
import { html, useState, useEffect, useRef } from "preact-htm";
import { listCampaigns, copyCampaign, deleteCampaign } from "app/api/campaigns";
import { Loading, Empty, ErrorBox, Badge, Progress, Confirm, done, total, when, plural, useLoad } from "app/ui";
import { usePoll, most } from "app/live";
import { rememberAddress } from "app/components/address";
import { Create } from "app/components/create";


// Menu holds what can be done with a campaign of the list: open it, copy
// it, delete it (after a confirmation). A button shows and hides it; Escape
// or a click elsewhere closes it.
function Menu({ c, onCopy, onDelete }) {
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    const away = (e) => { if (box.current && !box.current.contains(e.target)) setOpen(false); };
    const esc = (e) => {
      if (e.key !== "Escape") return;
      setOpen(false);
      box.current && box.current.querySelector("button").focus();
    };
    document.addEventListener("click", away);
    document.addEventListener("keydown", esc);
    return () => { document.removeEventListener("click", away); document.removeEventListener("keydown", esc); };
  }, [open]);
  const pick = (run) => () => { setOpen(false); run(); };
  const id = "menu-" + c.id;
  return html`<div class="menu" ref=${box}>
    <button type="button" class="secondary menu-button" aria-expanded=${open ? "true" : "false"} aria-controls=${id} onClick=${() => setOpen(!open)}>
      Actions<span class="visually-hidden"> for ${c.name}</span></button>
    ${open && html`<ul class="menu-list" id=${id}>
      <li><a href=${"#/campaigns/" + encodeURIComponent(c.id)}>Open</a></li>
      <li><button type="button" onClick=${pick(onCopy)}>Copy</button></li>
      <li><button type="button" class="delete" onClick=${pick(onDelete)}>Delete…</button></li>
    </ul>`}
  </div>`;
}

function Row({ c, onDeleted, onCopied }) {
  const [deleting, setDeleting] = useState(false);
  const [copy, setCopy] = useState({ busy: false, error: null });
  const counts = c.counts || {};
  const t = total(counts);
  const moving = ["queued", "sending"].includes(c.status);
  const makeCopy = async () => {
    setCopy({ busy: true, error: null });
    try {
      onCopied(await copyCampaign(c.id));
    } catch (error) {
      setCopy({ busy: false, error });
    }
  };
  return html`<li class="card campaign">
    <div class="head">
      <a href=${"#/campaigns/" + encodeURIComponent(c.id)} class="name">${c.name}</a>
      <${Badge} status=${c.status} />
      <${Menu} c=${c} onCopy=${makeCopy} onDelete=${() => setDeleting(true)} />
    </div>
    ${copy.busy && html`<p role="status" class="small">Copying…</p>`}
    <${ErrorBox} error=${copy.error} />
    ${deleting && html`<${Confirm} title=${"Delete " + c.name + "?"} action="Delete campaign" onCancel=${() => setDeleting(false)}
        onConfirm=${async () => { await deleteCampaign(c.id); setDeleting(false); onDeleted(c.id); }}>
      <p>Its rows, files and tracking events go. This cannot be undone.${moving ? " Sending stops at once." : ""} Messages already sent stay in your Sent Items.</p></${Confirm}>`}
    ${t > 0 && html`<${Progress} value=${done(counts)} label=${"Progress of " + c.name} />`}
    <p class="meta">
      ${t > 0 ? html`${plural(counts.sent, "sent", "sent")} of ${plural(t, "row")}${counts.failed ? html` · ${plural(counts.failed, "failed", "failed")}` : ""}${counts.unknown ? html` · ${counts.unknown} not confirmed` : ""}` : "No rows yet"}
      ${c.status === "scheduled" && c.startAt ? html`<span> · starts ${when(c.startAt)}</span>` : ""}
      ${c.status === "review" ? html`<span> · waiting for you to start it</span>` : ""}
      <span> · created ${when(c.createdAt)}</span>
    </p>
  </li>`;
}

// The list's states, grouped as a person looks for them.
const groups = [
  ["", "All campaigns"],
  ["draft,ready", "Not started"],
  ["queued,review,scheduled,sending", "Under way"],
  ["paused", "Paused"],
  ["completed", "Completed"],
  ["failed,cancelled", "Stopped or cancelled"],
];
const orders = [["-created", "Newest first"], ["created", "Oldest first"], ["name", "Name, A to Z"], ["-name", "Name, Z to A"]];

// The search is kept for the browser tab: back from a campaign, the list
// is as it was left.
const searchKey = "mm-campaigns-search";
const noSearch = { q: "", status: "", sort: "-created" };
function savedSearch() {
  try {
    return { ...noSearch, ...JSON.parse(sessionStorage.getItem(searchKey) || "{}") };
  } catch {
    return noSearch;
  }
}

function listed(s, cursor) {
  return listCampaigns({ limit: 20, q: s.q.trim(), status: s.status, sort: s.sort !== "-created" ? s.sort : "", cursor });
}

// Search finds campaigns by name and state, and orders them.
function Search({ value, onChange }) {
  const [q, setQ] = useState(value.q);
  useEffect(() => setQ(value.q), [value.q]); // "Show all campaigns" clears it
  // A search waits for a pause in typing: one request, not one a key.
  useEffect(() => {
    if (q === value.q) return undefined;
    const t = setTimeout(() => onChange({ ...value, q }), 300);
    return () => clearTimeout(t);
  }, [q]);
  return html`<form class="search" role="search" aria-label="Find campaigns" onSubmit=${(e) => { e.preventDefault(); onChange({ ...value, q }); }}>
    <label class="q">Name <input type="search" value=${q} onInput=${(e) => setQ(e.target.value)} placeholder="Search by name" maxlength="200" /></label>
    <label>State <select value=${value.status} onChange=${(e) => onChange({ ...value, status: e.target.value })}>
      ${groups.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
    </select></label>
    <label>Order <select value=${value.sort} onChange=${(e) => onChange({ ...value, sort: e.target.value })}>
      ${orders.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
    </select></label>
  </form>`;
}

export function Campaigns() {
  const [search, setSearch] = useState(savedSearch);
  const [pages, setPages] = useState([]);
  const [more, setMore] = useState({ busy: false, error: null });
  const [gone, setGone] = useState([]);
  const key = JSON.stringify(search);
  useEffect(() => { sessionStorage.setItem(searchKey, key); setPages([]); }, [key]);
  const first = useLoad(() => listed(search), [key]);
  const list = [...(first.data ? first.data.campaigns : []), ...pages.flatMap((p) => p.campaigns)].filter((c) => !gone.includes(c.id));
  const searching = search.q.trim() !== "" || search.status !== "";
  // While a campaign of the first page starts or sends, the list follows
  // it, by the same policy as the campaign's page (one request a look).
  usePoll(first.reload, first.data, most(first.data ? first.data.campaigns : []));
  const next = pages.length ? pages[pages.length - 1].next : first.data && first.data.next;
  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const p = await listed(search, next);
      setPages([...pages, p]);
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };
  const open = (c) => { rememberAddress(c); location.hash = "#/campaigns/" + encodeURIComponent(c.id); };
  const nothingYet = first.data && list.length === 0 && !searching && gone.length === 0;
  return html`<section class="page" aria-labelledby="campaigns-title">
    <h1 id="campaigns-title">Campaigns</h1>
    <div class="columns">
      <div class="list">
        ${!nothingYet && html`<${Search} value=${search} onChange=${setSearch} />`}
        ${first.loading && !first.data && html`<${Loading} what="campaigns" />`}
        <${ErrorBox} error=${first.error} retry=${first.reload} />
        ${nothingYet && html`<${Empty}><p>No campaigns yet.</p><p>Create one, upload your spreadsheet, then send your email to the campaign's address.</p></${Empty}>`}
        ${first.data && list.length === 0 && !nothingYet && html`<${Empty}><p>No campaign ${searching ? "matches your search" : "left"}.</p>
          ${searching && html`<button type="button" class="secondary" onClick=${() => setSearch(noSearch)}>Show all campaigns</button>`}</${Empty}>`}
        <p role="status" class="small">${first.data && searching && list.length > 0 ? `${plural(list.length, "campaign")}${next ? " so far" : ""} found.` : ""}${gone.length > 0 ? ` ${plural(gone.length, "campaign")} deleted.` : ""}</p>
        ${list.length > 0 && html`<ul class="campaigns" aria-busy=${first.loading ? "true" : "false"}>${list.map((c) => html`<${Row} key=${c.id} c=${c}
          onDeleted=${(id) => setGone([...gone, id])} onCopied=${open} />`)}</ul>`}
        <${ErrorBox} error=${more.error} />
        ${next && html`<button type="button" class="secondary" onClick=${loadMore} disabled=${more.busy}>${more.busy ? "Loading…" : "Show more campaigns"}</button>`}
      </div>
      <${Create} onCreated=${open} />
    </div>
  </section>`;
}
