// The rows of a campaign: a table of them by state showing any column of
// the sheet, or all of them (the uploaded data as a table, in the sheet's
// order), and the dialog that corrects a row not yet sent: its cells in
// the sheet's order, the changes shown for a yes before they are saved.
import { html, useState, useEffect, useRef } from "preact-htm";
import { listRecipients, correctRow } from "app/api/campaigns";
import { Loading, Empty, ErrorBox, Badge, total, sentence, when } from "app/ui";
import { rowStates } from "app/words";

const states = ["", "pending", "sent", "failed", "unknown", "skipped"];
// (A column name is trimmed: none begins with a space.)
const everything = " all";
const pageSize = 50;

// started says whether the campaign began sending: until then a skipped
// row can be corrected, and is then sent with the others.
export const started = (c) => !!c.startedAt || ["completed", "failed", "cancelled"].includes(c.status);

// correctable says whether row r of campaign c can still change.
export const correctable = (c, r) => r.status === "pending" || (r.status === "skipped" && !started(c));

// toColumn is the column the recipients come from (Email or To).
const toColumn = (columns) => columns.find((col) => ["email", "to"].includes(col.trim().toLowerCase())) || columns[0] || "";

const unsubscribed = (r) => r.status === "skipped" && r.reason && r.reason.code === "unsubscribed";

// State shows a row's state; a row to an address on the unsubscribe list
// says so on its badge.
// State is the row's state, and what came back from its message: a reply,
// or a report that it bounced (read from the owner's inbox, when allowed).
function State({ r }) {
  if (unsubscribed(r)) return html`<span class="badge badge-skipped">Unsubscribed</span>`;
  return html`<${Badge} status=${r.status} kind="row" />${r.repliedAt ? html` <span class="badge badge-sent" title=${"Replied " + when(r.repliedAt)}>Replied</span>` : ""}${r.bouncedAt
    ? html` <span class="badge badge-failed" title=${(r.bounce === "soft" ? "Delivery delayed " : "Not delivered ") + when(r.bouncedAt)}>${r.bounce === "soft" ? "Delayed" : "Bounced"}</span>` : ""}`;
}

const stateName = (s) => (s ? (rowStates[s] && rowStates[s].name) || s : "All rows");

// Recipients lists the campaign's rows, 50 at a time, by state, with one
// column of the sheet (the recipients' addresses at first) or all of them.
// onChange is told when a row was corrected (the counts moved).
export function Recipients({ c, onChange }) {
  const [status, setStatus] = useState("");
  const [column, setColumn] = useState("");
  const [editing, setEditing] = useState(null);
  const [pages, setPages] = useState([]);
  const [list, setList] = useState({ loading: true, data: null, error: null });
  const [saved, setSaved] = useState(null);
  const query = (cursor) => listRecipients(c.id, { limit: pageSize, status, cursor });
  const seq = useRef(0);
  const load = () => {
    const mine = ++seq.current;
    setList((l) => ({ ...l, loading: true, error: null }));
    query().then(
      (data) => { if (mine === seq.current) { setPages([]); setList({ loading: false, data, error: null }); } },
      (error) => { if (mine === seq.current) setList((l) => ({ ...l, loading: false, error })); },
    );
  };
  useEffect(load, [c.id, status, c.counts && total(c.counts) - c.counts.pending]);
  // A note on a saved row is about the campaign as it was.
  useEffect(() => setSaved(null), [c.status]);
  const columns = (list.data && list.data.columns) || [];
  const shown = column || toColumn(columns);
  const rows = [...(list.data ? list.data.recipients : []), ...pages.flatMap((p) => p.recipients)];
  const next = pages.length ? pages[pages.length - 1].next : list.data && list.data.next;
  const [more, setMore] = useState({ busy: false, error: null });
  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const p = await query(next);
      setPages([...pages, p]);
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };
  const all = shown === everything;
  const cells = all ? columns : [shown];
  const corrected = (r) => {
    setEditing(null);
    setSaved(r);
    load();
    if (onChange) onChange();
  };
  return html`<div class="recipients">
    <div class="rows-view">
      <label>Show <select value=${status} onChange=${(e) => setStatus(e.target.value)}>
        ${states.map((s) => html`<option value=${s}>${stateName(s)}</option>`)}
      </select></label>
      ${columns.length > 0 && html`<label>Column <select value=${shown} onChange=${(e) => setColumn(e.target.value)}>
        ${columns.map((col) => html`<option value=${col}>${col}</option>`)}
        <option value=${everything}>All columns</option>
      </select></label>`}
    </div>
    ${(status === "unknown" || (c.counts && c.counts.unknown > 0)) && html`<p class="warn">
      <strong>${stateName("unknown")}</strong> rows got no clear answer from Microsoft 365: the message may have been sent.
      Look in your Sent Items before sending to them again; we never resend them by ourselves.</p>`}
    ${!started(c) && (c.counts && c.counts.skipped > 0) && html`<p class="small">Skipped rows are not sent. Until the campaign starts, you can correct them: they are then sent with the others.</p>`}
    ${saved && html`<p role="status" class="ok">Row ${saved.row} was saved${saved.status === "pending" ? ": it will be sent" : ""}.</p>`}
    ${list.loading && !list.data && html`<${Loading} what="rows" />`}
    <${ErrorBox} error=${list.error} retry=${load} />
    ${list.data && rows.length === 0 && html`<${Empty}><p>No rows${status ? " in this state" : ""}.</p></${Empty}>`}
    ${rows.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label=${all ? "Your spreadsheet's rows" : "Recipients"}>
      <table class=${"stack" + (all ? " sheet" : "")}>
        <thead><tr><th scope="col">Row</th>${cells.map((col) => html`<th scope="col">${col}</th>`)}<th scope="col">State</th><th scope="col">Why</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.row}>
          <td data-label="Row" class="nowrap">${r.row}${correctable(c, r) && html` <button type="button" class="link" onClick=${() => { setSaved(null); setEditing(r); }} aria-label=${"Correct row " + r.row}>Correct</button>`}</td>
          ${cells.map((col) => html`<td data-label=${col}>${(r.cells || {})[col] || ""}</td>`)}
          <td data-label="State"><${State} r=${r} /></td>
          <td data-label=${r.reason ? "Why" : undefined}>${r.reason ? sentence(r.reason.message || r.reason.code) : ""}</td>
        </tr>`)}</tbody>
      </table></div>`}
    ${next && html`<button type="button" class="secondary" disabled=${more.busy} onClick=${loadMore}>${more.busy ? "Loading…" : "More rows"}</button>`}
    <${ErrorBox} error=${more.error} retry=${loadMore} />
    ${editing && html`<${Correct} c=${c} r=${editing} columns=${columns} onCancel=${() => setEditing(null)} onDone=${corrected} />`}
  </div>`;
}

// Correct changes the cells of a row not yet sent, in the sheet's order;
// the changes are shown for a yes before they are saved. The service
// checks the row as an upload would (addresses, duplicates, the
// unsubscribe list) and refuses a row sent meanwhile.
export function Correct({ c, r, columns, onDone, onCancel }) {
  const ref = useRef(null);
  const was = (col) => (r.cells || {})[col] || "";
  const [cells, setCells] = useState(() => Object.fromEntries(columns.map((col) => [col, was(col)])));
  const [confirming, setConfirming] = useState(false);
  const [state, setState] = useState({ busy: false, error: null, note: "" });
  useEffect(() => { if (ref.current && !ref.current.open) ref.current.showModal(); }, []);
  // Each step starts at its first field or button.
  useEffect(() => {
    const first = ref.current && ref.current.querySelector(confirming ? ".actions button" : "input");
    if (first) first.focus();
  }, [confirming]);
  const changed = columns.filter((col) => cells[col] !== was(col));
  const review = (e) => {
    e.preventDefault();
    if (changed.length === 0) {
      setState({ busy: false, error: null, note: "Nothing has changed yet: change a cell first, or cancel." });
      return;
    }
    setState({ busy: false, error: null, note: "" });
    setConfirming(true);
  };
  const save = async (e) => {
    e.preventDefault();
    setState({ busy: true, error: null, note: "" });
    try {
      const done = await correctRow(c.id, r.row, { cells: Object.fromEntries(changed.map((col) => [col, cells[col]])) });
      onDone(done);
    } catch (error) {
      setState({ busy: false, error, note: "" });
    }
  };
  const shown = (v) => (v.trim() === "" ? html`<em>empty</em>` : v);
  return html`<dialog ref=${ref} class="confirm correct" aria-labelledby="correct-title" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    ${!confirming && html`<form onSubmit=${review}>
      <h2 id="correct-title">Correct row ${r.row}</h2>
      ${r.status === "skipped"
        ? html`<p class="small">${r.reason ? sentence(r.reason.message) + " " : ""}Once corrected, this row is sent with the others.</p>`
        : html`<p class="small">Only rows not sent yet can change. The message to this row will use what you write here.</p>`}
      ${columns.map((col) => html`<label>${col}<input value=${cells[col]} onInput=${(e) => setCells({ ...cells, [col]: e.target.value })} /></label>`)}
      ${state.note && html`<p class="warn" role="status">${state.note}</p>`}
      <div class="actions">
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        <button type="submit" class="primary">Review the changes</button>
      </div>
    </form>`}
    ${confirming && html`<form onSubmit=${save}>
      <h2 id="correct-title">Save these changes to row ${r.row}?</h2>
      <ul class="changes">${changed.map((col) => html`<li><strong>${col}</strong>: <del>${shown(was(col))}</del> <span aria-hidden="true">→</span><span class="visually-hidden"> becomes </span> <ins>${shown(cells[col])}</ins></li>`)}</ul>
      ${r.status === "skipped" && html`<p>The row will then be sent with the others.</p>`}
      <${ErrorBox} error=${state.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick=${() => { setState({ busy: false, error: null, note: "" }); setConfirming(false); }}>Back</button>
        <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Saving…" : "Save the row"}</button>
      </div>
    </form>`}
  </dialog>`;
}
