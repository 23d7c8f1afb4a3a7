// One campaign: its spreadsheet (upload, validation report), the address
// to send the template email to, a preview of any row, live progress
// with pause, resume and cancel, and the recipients by state.
import { html, useState, useEffect, useRef } from "preact-htm";
import { get, call, upload } from "app/api";
import { Loading, Empty, ErrorBox, Badge, Progress, Confirm, done, total, when, plural, useLoad, zone, localInput, newWindow, WindowFields, windowWords, sentence } from "app/ui";

const path = (id) => "/v1/campaigns/" + encodeURIComponent(id);
const live = ["queued", "sending"];

// usePolling reloads while the campaign may move: every 2 s while it is
// queued or sending (one small request: a change shows within 2 s);
// otherwise (waiting for its email, held, scheduled, or for its sending
// window) every 2 s at first, backing off to 5 s, or 15 s while its window
// is closed, as long as nothing changes; not at all once it has settled.
function usePolling(c, reload, moving) {
  const delay = useRef(2000);
  const last = useRef("");
  useEffect(() => {
    if (!moving) return undefined;
    const sig = JSON.stringify([c && c.status, c && c.counts, c && c.data && c.data.status]);
    const most = c && c.nextWindowAt ? 15000 : live.includes(c && c.status) ? 2000 : 5000;
    delay.current = sig === last.current ? Math.min(delay.current * 1.5, most) : 2000;
    last.current = sig;
    const t = setTimeout(reload, delay.current);
    return () => clearTimeout(t);
  }, [c, moving]);
}

export function Upload({ c, onDone }) {
  const [drag, setDrag] = useState(false);
  const [pct, setPct] = useState(null);
  const [error, setError] = useState(null);
  const input = useRef(null);
  const send = async (file) => {
    if (!file) return;
    setError(null);
    setPct(0);
    try {
      await upload(path(c.id) + "/data", file, setPct);
      setPct(null);
      onDone();
    } catch (err) {
      setPct(null);
      setError(err);
    }
  };
  const drop = (e) => {
    e.preventDefault();
    setDrag(false);
    send(e.dataTransfer.files[0]);
  };
  return html`<div class=${"drop" + (drag ? " over" : "")} onDragOver=${(e) => { e.preventDefault(); setDrag(true); }}
      onDragLeave=${() => setDrag(false)} onDrop=${drop}>
    <p><span class="pointer-only">Drop your spreadsheet here</span><span class="touch-only">Your spreadsheet</span> (.xlsx or .csv, up to 10 MB):</p>
    <input ref=${input} id="file" type="file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
      class="visually-hidden" onChange=${(e) => send(e.target.files[0])} />
    <label for="file" class="button secondary" tabindex="0" onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), input.current.click())}>Choose a file</label>
    ${pct !== null && html`<${Progress} value=${pct} label="Upload" /><p role="status">Uploading… ${Math.round(pct * 100)}%</p>`}
    <${ErrorBox} error=${error} />
  </div>`;
}

export function DataReport({ d }) {
  if (!d || d.status === "none") return null;
  if (d.status === "processing") return html`<p role="status"><span class="spinner" aria-hidden="true"></span>Reading ${d.fileName || "your file"}…</p>`;
  if (d.error) return html`<div class="error" role="alert"><p><strong>${d.fileName}:</strong> ${d.error.message}</p></div>`;
  const issues = (d.report && d.report.issues) || [];
  return html`<div class="data">
    <p><strong>${d.fileName}</strong>${d.sheet ? html` (sheet ${d.sheet})` : ""}: ${`${plural(d.rows, "row")}, ${d.validRows.toLocaleString()} will be sent${d.skippedRows ? `, ${d.skippedRows.toLocaleString()} skipped` : ""}.`}</p>
    <p class="small">Columns: ${d.columns.map((col, i) => html`${i ? ", " : ""}<code>${col}</code>`)}</p>
    ${issues.length > 0 && html`<details open=${issues.some((i) => i.severity === "error")}>
      <summary>${plural(issues.length, "note")} on rows${d.report.truncated ? " (the first ones)" : ""}</summary>
      <div class="scroll" tabindex="0" role="region" aria-label="Notes on rows"><table class="issues stack"><thead><tr><th scope="col">Row</th><th scope="col">Column</th><th scope="col">What</th></tr></thead>
      <tbody>${issues.map((i) => html`<tr class=${i.severity}><td data-label="Row">${i.row || "—"}</td><td data-label="Column">${i.column || ""}</td>
        <td data-label="What">${i.severity === "error" ? "Skipped: " : ""}${i.message}</td></tr>`)}</tbody></table></div>
    </details>`}
  </div>`;
}

// The address is shown once, when the campaign is made (we keep only its
// hash): this browser remembers it for the session; elsewhere a new one
// can be made, and the old one then stops working.
const addressKey = (id) => "mm-address-" + id;

export function rememberAddress(c) {
  if (c.inboundAddress) sessionStorage.setItem(addressKey(c.id), c.inboundAddress);
}

// rememberedAddress is the campaign's address if this browser saw it.
export const rememberedAddress = (id) => sessionStorage.getItem(addressKey(id));

function Address({ c }) {
  const [address, setAddress] = useState(c.inboundAddress || rememberedAddress(c.id) || "");
  const [copied, setCopied] = useState(false);
  const [state, setState] = useState({ busy: false, error: null });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(address);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  };
  const [asking, setAsking] = useState(false);
  const renew = async () => {
    setState({ busy: true, error: null });
    try {
      const n = await call("POST", path(c.id) + "/address");
      rememberAddress(n);
      setAddress(n.inboundAddress);
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
    setAsking(false);
  };
  return html`<div class="address">
    <p>Write your email in Outlook with placeholders such as <code>{{First name}}</code>, then send it to this campaign's address:</p>
    ${address ? html`<p class="copy"><code id="inbound">${address}</code>
      <button type="button" class="secondary" onClick=${copy} aria-describedby="inbound">${copied ? "Copied" : "Copy"}</button></p>
      <button type="button" class="link" onClick=${() => setAsking(true)} disabled=${state.busy}>Make a new address…</button>`
      : html`<p>This campaign's address cannot be shown again. Make a new one to see it here; the old one stops working.</p>
      <button type="button" class="secondary" onClick=${renew} disabled=${state.busy}>${state.busy ? "Making…" : "Show a new address"}</button>`}
    ${asking && html`<${Confirm} title="Make a new address?" action="Make a new address" onCancel=${() => setAsking(false)} onConfirm=${renew}>
      <p>The current address stops working at once: an email already addressed to it, in a draft or sent, will not be used.</p></${Confirm}>`}
    <${ErrorBox} error=${state.error} />
    <p class="small">Only you can start this campaign: we accept the email only from your own address.</p>
    <details class="syntax"><summary>How to write placeholders</summary>
      <ul>
        <li><code>{{First name}}</code>: the row's cell in the column “First name” (capitals and spaces do not matter).</li>
        <li><code>{{First name | there}}</code>: “there” when the cell is empty.</li>
        <li><code>{{#if Company}}at {{Company}}{{else}}on your own{{/if}}</code>: one text or another, by whether the cell is empty.</li>
        <li><code>{{@unsubscribe}}</code>: the row's unsubscribe link, for a link of your own (every message has one in its headers anyway).</li>
        <li>The subject can have placeholders too. Outlook may split a placeholder with formatting: it still works.</li>
      </ul>
    </details>
  </div>`;
}

// Problem says what to fix in the message: a placeholder that matches no
// column (with the ones it may mean), a condition left open.
function Problem({ x }) {
  return html`<li>${x.part === "subject" ? html`<span class="small">In the subject: </span>` : ""}${x.message}</li>`;
}

// Rendered shows a preview as the row's recipient will get it: the
// message's HTML in a frame that runs no script and reaches nothing of
// ours (sandbox without allow-same-origin).
export function Rendered({ p }) {
  if (!p) return null;
  const problems = p.problems || [];
  return html`<div class="message">
    ${(p.to || []).length > 0 && html`<p><strong>To:</strong> ${p.to.map((a) => a.replace(/^<(.*)>$/, "$1")).join(", ")}</p>`}
    ${p.subject && html`<p><strong>Subject:</strong> ${p.subject}</p>`}
    ${(p.attachments || []).length > 0 && html`<p><strong>Attached:</strong> ${p.attachments.join(", ")}</p>`}
    ${problems.length > 0 && html`<div class="warn" role="alert"><p>Fix ${problems.length === 1 ? "this" : "these"} in your message before sending:</p>
      <ul>${problems.map((x) => html`<${Problem} x=${x} />`)}</ul></div>`}
    ${(p.warnings || []).map((x) => html`<p class=${(x.code || "").startsWith("row_") ? "note" : "warn"}>${sentence(x.message || x)}</p>`)}
    ${(p.html || p.text) && html`<iframe title=${"Preview of row " + p.row} sandbox="" srcdoc=${p.html || "<pre>" + p.text.replace(/[&<>]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[ch]) + "</pre>"}></iframe>`}
  </div>`;
}

function Preview({ c }) {
  const [row, setRow] = useState("");
  const [state, setState] = useState({ busy: false, error: null, p: null });
  const show = async (e) => {
    e && e.preventDefault();
    setState({ busy: true, error: null, p: state.p });
    try {
      const body = row ? { row: Number(row) } : {};
      const p = await call("POST", path(c.id) + "/preview", body);
      setState({ busy: false, error: null, p });
    } catch (error) {
      setState({ busy: false, error, p: null });
    }
  };
  const p = state.p;
  return html`<div class="preview">
    <form class="inline" onSubmit=${show}>
      <label>Row <input type="number" min="2" value=${row} onInput=${(e) => setRow(e.target.value)} placeholder="first" /></label>
      <button type="submit" class="secondary" disabled=${state.busy}>${state.busy ? "Rendering…" : "Preview"}</button>
    </form>
    <${ErrorBox} error=${state.error} />
    <${Rendered} p=${p} />
  </div>`;
}

// Held is a campaign whose email waits: in review until its owner starts
// it, or scheduled. Preview any row (below), send yourself a test, then
// start it now or at a time.
function Held({ c, onChange }) {
  const [row, setRow] = useState("");
  const [at, setAt] = useState("");
  const [state, setState] = useState({ busy: "", error: null, sent: null });
  const [confirming, setConfirming] = useState(false);
  const rows = (c.counts && c.counts.valid) || 0;
  const act = async (what, run) => {
    setState({ busy: what, error: null, sent: null });
    try {
      const sent = await run();
      setState({ busy: "", error: null, sent: what === "test" ? sent : null });
    } catch (error) {
      setState({ busy: "", error, sent: null });
    }
  };
  const test = (e) => {
    e.preventDefault();
    act("test", () => call("POST", path(c.id) + "/test", row ? { row: Number(row) } : {}));
  };
  const schedule = (e) => {
    e.preventDefault();
    act("schedule", async () => onChange(await call("POST", path(c.id) + "/start", { at: localInput(at) })));
  };
  const startNow = async () => {
    onChange(await call("POST", path(c.id) + "/start", {}));
    setConfirming(false);
  };
  return html`<div class="card held">
    <h2>${c.status === "review" ? "Your email is waiting for you" : "Scheduled"}</h2>
    ${c.status === "review"
      ? html`<p>Nothing is sent until you start the campaign. Preview any row below, send yourself a test, then start it now or at a time. To change the email, send the new one to the campaign's address: it takes the place of this one.</p>`
      : html`<p>It starts on its own <strong>${when(c.startAt)}</strong> (${zone()}). Nothing is sent before.</p>`}
    <form class="inline" onSubmit=${test}>
      <label>Row <input type="number" min="2" value=${row} onInput=${(e) => setRow(e.target.value)} placeholder="first" /></label>
      <button type="submit" class="secondary" disabled=${!!state.busy}>${state.busy === "test" ? "Sending…" : "Send me a test"}</button>
    </form>
    ${state.sent && html`<p role="status" class="ok">Row ${state.sent.row}'s message went to ${state.sent.to}, marked “[Test]”. It is in your Sent Items too.</p>`}
    <div class="controls">
      <button type="button" class="primary" disabled=${!!state.busy} onClick=${() => setConfirming(true)}>Start now…</button>
      <form class="inline" onSubmit=${schedule}>
        <label>Start at (${zone()}) <input type="datetime-local" required value=${at} onInput=${(e) => setAt(e.target.value)} /></label>
        <button type="submit" class="secondary" disabled=${!!state.busy}>${c.status === "scheduled" ? "Change the time" : "Schedule"}</button>
      </form>
    </div>
    <${ErrorBox} error=${state.error} />
    <${SendingHours} c=${c} onChange=${onChange} />
    <${Controls} c=${c} onChange=${onChange} />
    ${confirming && html`<${Confirm} title="Start sending now?" action="Start now" onCancel=${() => setConfirming(false)} onConfirm=${startNow}>
      <p>${plural(rows, "message")} will go from your mailbox, one row each, at your mailbox's pace.</p></${Confirm}>`}
  </div>`;
}

// SendingHours shows the campaign's sending window and changes it: the
// next step keeps to it.
function SendingHours({ c, onChange }) {
  const [editing, setEditing] = useState(null);
  const [state, setState] = useState({ busy: false, error: null });
  const put = async (window) => {
    setState({ busy: true, error: null });
    try {
      onChange(await call("PATCH", path(c.id), { window }));
      setEditing(null);
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  const save = (e) => { e.preventDefault(); put(editing); };
  return html`<div class="sending-hours">
    <p>${c.window ? html`Sends only ${windowWords(c.window)}.` : "Sends at any time of day."}
      ${c.nextWindowAt && html` <strong>Waiting: it opens ${when(c.nextWindowAt)}</strong> (${zone()}).`}</p>
    ${!editing && html`<button type="button" class="link" onClick=${() => setEditing(c.window || newWindow())}>Change the sending hours</button>`}
    ${editing && html`<form onSubmit=${save}>
      <${WindowFields} value=${editing} onChange=${setEditing} />
      <div class="controls">
        <button type="submit" class="secondary" disabled=${state.busy}>Save the hours</button>
        ${c.window && html`<button type="button" class="link" disabled=${state.busy} onClick=${() => put({})}>Any time</button>`}
        <button type="button" class="link" onClick=${() => setEditing(null)}>Keep as it is</button>
      </div>
      <${ErrorBox} error=${state.error} />
    </form>`}
  </div>`;
}

function Controls({ c, onChange }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  const act = async (what) => {
    setBusy(true);
    setError(null);
    try {
      onChange(await call("POST", path(c.id) + "/" + what));
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return html`<div class="controls">
    ${["sending", "scheduled"].includes(c.status) && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => act("pause")}>Pause</button>`}
    ${c.status === "paused" && html`<button type="button" class="primary" disabled=${busy} onClick=${() => act("resume")}>Resume</button>`}
    ${["queued", "review", "scheduled", "sending", "paused"].includes(c.status) && html`<button type="button" class="danger" disabled=${busy} onClick=${() => setCancelling(true)}>Cancel…</button>`}
    <${ErrorBox} error=${error} />
    ${cancelling && html`<${Confirm} title="Cancel this campaign?" action="Cancel campaign"
        onCancel=${() => setCancelling(false)} onConfirm=${async () => { onChange(await call("POST", path(c.id) + "/cancel")); setCancelling(false); }}>
      <p>Rows not sent yet will not be sent. Messages already sent stay sent.</p></${Confirm}>`}
  </div>`;
}

const states = ["", "pending", "sent", "failed", "unknown", "skipped"];

// Correct changes the cells of a row not yet sent; the API checks them as
// an upload would (addresses, duplicates) and refuses a row sent meanwhile.
function Correct({ c, r, onDone, onCancel }) {
  const ref = useRef(null);
  const [cells, setCells] = useState({ ...r.cells });
  const [state, setState] = useState({ busy: false, error: null });
  useEffect(() => { if (ref.current && !ref.current.open) ref.current.showModal(); }, []);
  const save = async (e) => {
    e.preventDefault();
    setState({ busy: true, error: null });
    const changed = {};
    for (const [k, v] of Object.entries(cells)) if (v !== r.cells[k]) changed[k] = v;
    try {
      await call("PATCH", path(c.id) + "/recipients/" + r.row, { cells: changed });
      onDone();
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<dialog ref=${ref} class="confirm" aria-labelledby="correct-title" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <form onSubmit=${save}>
      <h2 id="correct-title">Correct row ${r.row}</h2>
      <p class="small">Only rows not sent yet can change. The message to this row will use what you write here.</p>
      ${Object.keys(r.cells).map((col) => html`<label>${col}<input value=${cells[col]} onInput=${(e) => setCells({ ...cells, [col]: e.target.value })} /></label>`)}
      <${ErrorBox} error=${state.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Saving…" : "Save"}</button>
      </div>
    </form>
  </dialog>`;
}

function Recipients({ c }) {
  const [status, setStatus] = useState("");
  const [editing, setEditing] = useState(null);
  const [pages, setPages] = useState([]);
  const list = useLoad(() => get(path(c.id) + "/recipients?limit=50" + (status ? "&status=" + status : "")), [c.id, status, c.counts && total(c.counts) - c.counts.pending]);
  useEffect(() => setPages([]), [status]);
  const rows = [...(list.data ? list.data.recipients : []), ...pages.flatMap((p) => p.recipients)];
  const next = pages.length ? pages[pages.length - 1].next : list.data && list.data.next;
  const more = async () => setPages([...pages, await get(path(c.id) + "/recipients?limit=50&cursor=" + encodeURIComponent(next) + (status ? "&status=" + status : ""))]);
  return html`<div class="recipients">
    <label>Show <select value=${status} onChange=${(e) => setStatus(e.target.value)}>
      ${states.map((s) => html`<option value=${s}>${s ? s[0].toUpperCase() + s.slice(1) : "All rows"}</option>`)}
    </select></label>
    ${(status === "unknown" || (c.counts && c.counts.unknown > 0)) && html`<p class="warn">
      <strong>Unknown</strong> rows got no clear answer from Microsoft 365: the message may have been sent.
      Look in your Sent Items before sending to them again; we never resend them by ourselves.</p>`}
    ${list.loading && !list.data && html`<${Loading} what="rows" />`}
    <${ErrorBox} error=${list.error} retry=${list.reload} />
    ${list.data && rows.length === 0 && html`<${Empty}><p>No rows${status ? " in this state" : ""}.</p></${Empty}>`}
    ${rows.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Recipients"><table class="stack"><thead><tr><th scope="col">Row</th><th scope="col">To</th><th scope="col">State</th><th scope="col">Why</th><th scope="col"><span class="visually-hidden">Correct</span></th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.row}><td data-label="Row">${r.row}</td><td data-label="To">${r.to}</td><td data-label="State"><${Badge} status=${r.status} /></td>
        <td data-label=${r.reason ? "Why" : undefined}>${r.reason ? r.reason.message || r.reason.code : ""}</td>
        <td>${r.status === "pending" && html`<button type="button" class="link" onClick=${() => setEditing(r)} aria-label=${"Correct row " + r.row}>Correct</button>`}</td></tr>`)}</tbody></table></div>`}
    ${editing && html`<${Correct} c=${c} r=${editing} onCancel=${() => setEditing(null)} onDone=${() => { setEditing(null); setPages([]); list.reload(); }} />`}
    ${next && html`<button type="button" class="secondary" onClick=${more}>More rows</button>`}
  </div>`;
}

// Refused shows why the last template email was not used and what to do:
// the campaign is waiting for a corrected one at the same address. A
// placeholder, written `{{…}}` in the reason, is shown as code.
function Refused({ c, r }) {
  const code = (line) => line.split(/(`[^`]*`)/).filter((p) => p !== "")
    .map((p) => p.startsWith("`") && p.endsWith("`") ? html`<code>${p.slice(1, -1)}</code>` : p);
  // A line per problem, then what to do.
  const lines = (r.message || "").split("\n").filter((l) => l.trim() !== "");
  const last = lines.pop();
  return html`<div class="card refused" role="alert">
    <h2>Your email was not used</h2>
    ${lines.length > 0 && html`<ul>${lines.map((l) => html`<li>${code(l)}</li>`)}</ul>`}
    <p>${code(last || "")}</p>
    <p class="small">${c.status === "ready" ? "The campaign is still ready: no row has changed. " : ""}If you no longer have its address, make a new one below.</p>
  </div>`;
}

export function Campaign({ id }) {
  const view = useLoad(() => get(path(id)), [id]);
  const data = useLoad(() => get(path(id) + "/data"), [id]);
  const [deleting, setDeleting] = useState(false);
  const c = view.data;
  const d = data.data;
  // Follow the campaign while it moves, and while it waits for its
  // template email (it starts when that arrives).
  // One call per poll: the campaign (its counts are kept as it goes); the
  // file's report only while it is being read.
  usePolling(c, () => { view.reload(); if (d && d.status === "processing") data.reload(); },
    c && (live.includes(c.status) || ["ready", "review", "scheduled"].includes(c.status) || (d && d.status === "processing")));
  if (view.loading && !c) return html`<${Loading} what="the campaign" />`;
  if (!c) return html`<section class="page"><${ErrorBox} error=${view.error} retry=${view.reload} /><p><a href="#/">Back to campaigns</a></p></section>`;
  const counts = c.counts || {};
  const editable = ["draft", "ready"].includes(c.status);
  return html`<section class="page" aria-labelledby="campaign-title">
    <p class="crumbs"><a href="#/">Campaigns</a></p>
    <div class="title"><h1 id="campaign-title">${c.name}</h1><${Badge} status=${c.status} /></div>
    ${c.reason && html`<p class=${c.status === "failed" ? "error" : "warn"}>${sentence(c.reason.message || c.reason.text)}</p>`}
    ${c.refused && editable && html`<${Refused} c=${c} r=${c.refused} />`}
    ${["review", "scheduled"].includes(c.status) && html`<${Held} c=${c} onChange=${(n) => view.set(n)} />`}
    <${ErrorBox} error=${view.error} />
    ${total(counts) > 0 && !editable && !["review", "scheduled"].includes(c.status) && html`<div class="card">
      <h2>Progress</h2>
      <${Progress} value=${done(counts)} label="Sending progress" />
      <p>${`${plural(counts.sent, "sent", "sent")}${counts.pending + (counts.sending || 0) ? `, ${counts.pending + (counts.sending || 0)} to go` : ""}, ${counts.failed} failed, ${counts.unknown} unknown, ${counts.skipped} skipped.`}
        ${c.completedAt ? html` <span class="small">Ended ${when(c.completedAt)}.</span>` : c.startedAt ? html` <span class="small">Started ${when(c.startedAt)}.</span>` : ""}</p>
      ${(c.window || c.nextWindowAt) && html`<${SendingHours} c=${c} onChange=${(n) => view.set(n)} />`}
      <${Controls} c=${c} onChange=${(n) => view.set(n)} />
      <p><a class="button secondary" href=${"#/campaigns/" + encodeURIComponent(c.id) + "/report"}>See the report</a></p>
    </div>`}
    ${editable && html`<div class="card">
      <h2>1. Your spreadsheet</h2>
      <${DataReport} d=${d} />
      <${Upload} c=${c} onDone=${() => { data.reload(); view.reload(); }} />
    </div>
    <div class="card">
      <h2>2. Your email</h2>
      <${Address} c=${c} />
    </div>`}
    ${!editable && d && d.status === "ready" && html`<div class="card"><h2>Preview a row</h2><${Preview} c=${c} /></div>`}
    ${total(counts) > 0 && html`<div class="card"><h2>Recipients</h2><${Recipients} c=${c} /></div>`}
    <div class="card danger-zone">
      <h2>Delete</h2>
      <p>Deletes the campaign with its rows, files and tracking events. Messages already sent stay in your Sent Items.</p>
      <button type="button" class="danger" onClick=${() => setDeleting(true)}>Delete campaign…</button>
    </div>
    ${deleting && html`<${Confirm} title=${"Delete " + c.name + "?"} action="Delete campaign" onCancel=${() => setDeleting(false)}
        onConfirm=${async () => { await call("DELETE", path(c.id)); location.hash = "#/"; }}>
      <p>This cannot be undone.${live.includes(c.status) ? " Sending stops at once." : ""}</p></${Confirm}>`}
  </section>`;
}
