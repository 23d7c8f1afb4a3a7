// The unsubscribe list: people who asked not to be mailed, addresses a
// message could not be delivered to (bounces, found in the owner's inbox
// when they let us read it), and addresses the owner added or imported;
// no campaign mails them. Each way onto the list can be shown apart.
import { html, useState, useRef } from "preact-htm";
import { listSuppressions, addSuppressions, removeSuppression } from "app/api/suppressions";
import { Loading, Empty, ErrorBox, Confirm, when, plural, useLoad } from "app/ui";

const sources = { unsubscribe: "unsubscribed", "one-click": "unsubscribed in their mail program", email: "unsubscribed by email",
  bounce: "bounced: a message could not be delivered", added: "added by you" };

// shows are the parts of the list one can show apart (the API's source),
// and what each says when it is empty.
const shows = [
  ["", "Everyone", "Nobody is on the list."],
  ["unsubscribe", "Unsubscribed", "Nobody has unsubscribed."],
  ["bounce", "Bounced", "No message has bounced. Bounces are found when you let us read your mailbox (Account and privacy)."],
  ["added", "Added by you", "You have not added anyone."],
];

// An unsubscribe from a message of a campaign you deleted is kept without
// the address (we no longer have it): it stops mail to that address all
// the same, and is named and removed by its key.
const hidden = "an address from a deleted campaign";
const perPage = 100;
// perCall is the API's limit for one import.
const perCall = 10000;
const maxFile = 5 << 20;

// cellsOf reads a CSV or text file's cells: commas, semicolons, tabs and
// line ends separate them; double quotes hold a cell with any of those
// ("Doe, Jane" <jane@example.com>) and "" inside them is a quote.
export function cellsOf(text) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') cell += ch, i++;
      else if (ch === '"') {
        quoted = false;
        // A display name before an address ("Doe, Jane" <jane@…>) keeps
        // its quotes: the comma in it is no separator.
        const rest = text.slice(i + 1).match(/^[ ]*(.)/);
        if (rest && !",;\t\r\n".includes(rest[1])) cell = '"' + cell.replace(/"/g, '\\"') + '"';
      }
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (",;\t\r\n".includes(ch)) cells.push(cell), (cell = "");
    else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.replace(/^\uFEFF/, "").trim()).filter(Boolean);
}

// addressesOf keeps the cells that hold an address; headers and names
// are left out.
export const addressesOf = (text) => cellsOf(text).filter((c) => c.includes("@"));

// addAll sends addresses in calls of the API's size, and adds up what it
// answers; invalid entries keep their text, to be shown.
async function addAll(addresses, onProgress) {
  const out = { added: 0, already: 0, invalid: [] };
  for (let i = 0; i < addresses.length; i += perCall) {
    const part = addresses.slice(i, i + perCall);
    const r = await addSuppressions(part);
    out.added += r.added;
    out.already += r.already || 0;
    for (const x of r.invalid || []) out.invalid.push({ entry: part[x.index], message: x.message });
    onProgress && onProgress(Math.min(i + perCall, addresses.length) / addresses.length);
  }
  return out;
}

function Result({ r }) {
  if (!r) return null;
  return html`<div role="status">
    <p>${plural(r.added, "address", "addresses")} added${r.already ? `; ${plural(r.already, "was", "were")} on the list already` : ""}.${r.invalid.length ? ` ${plural(r.invalid.length, "entry was", "entries were")} not an address:` : ""}</p>
    ${r.invalid.length > 0 && html`<ul class="small">${r.invalid.slice(0, 20).map((x) => html`<li><code>${x.entry}</code>: ${x.message}</li>`)}
      ${r.invalid.length > 20 && html`<li>and ${r.invalid.length - 20} more</li>`}</ul>`}
  </div>`;
}

function Add({ onAdded }) {
  const [text, setText] = useState("");
  const [state, setState] = useState({ busy: false, error: null, result: null });
  const submit = async (e) => {
    e.preventDefault();
    const addresses = addressesOf(text);
    if (!addresses.length) {
      setState({ busy: false, error: new Error("Write at least one address, such as name@example.com."), result: null });
      return;
    }
    setState({ busy: true, error: null, result: null });
    try {
      const result = await addAll(addresses);
      setText("");
      setState({ busy: false, error: null, result });
      onAdded();
    } catch (error) {
      setState({ busy: false, error, result: null });
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="supp-add">
    <h2 id="supp-add">Add addresses</h2>
    <label>One or more addresses (a pasted column works too)
      <textarea rows="4" value=${text} onInput=${(e) => setText(e.target.value)} placeholder="name@example.com"></textarea></label>
    <${ErrorBox} error=${state.error} />
    <${Result} r=${state.result} />
    <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Adding…" : "Add"}</button>
  </form>`;
}

function Import({ onAdded }) {
  const input = useRef(null);
  const [state, setState] = useState({ busy: false, pct: 0, error: null, result: null, name: "" });
  const read = async (file) => {
    if (!file) return;
    input.current.value = "";
    if (file.size > maxFile) {
      setState({ busy: false, pct: 0, error: new Error(`${file.name} is over 5 MB. Split it, or keep only the address column.`), result: null, name: file.name });
      return;
    }
    const addresses = addressesOf(await file.text());
    if (!addresses.length) {
      setState({ busy: false, pct: 0, error: new Error(`No address found in ${file.name}. Save the list from Excel as CSV, or as a text file with one address per line.`), result: null, name: file.name });
      return;
    }
    setState({ busy: true, pct: 0, error: null, result: null, name: file.name });
    try {
      const result = await addAll(addresses, (pct) => setState((s) => ({ ...s, pct })));
      setState({ busy: false, pct: 1, error: null, result, name: file.name });
      onAdded();
    } catch (error) {
      setState((s) => ({ ...s, busy: false, error }));
    }
  };
  return html`<div class="card" aria-labelledby="supp-import">
    <h2 id="supp-import">Import a list</h2>
    <p>A CSV or text file, such as an unsubscribe list from another service. Every cell that holds an address is added; the rest (headers, names) is left out.</p>
    <input ref=${input} id="supp-file" type="file" accept=".csv,.txt,text/csv,text/plain" class="visually-hidden" onChange=${(e) => read(e.target.files[0])} />
    <label for="supp-file" class="button secondary" tabindex="0" onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), input.current.click())}>Choose a file</label>
    ${state.busy && html`<p role="status">Importing ${state.name}… ${Math.round(state.pct * 100)}%</p>`}
    <${ErrorBox} error=${state.error} />
    <${Result} r=${state.result} />
  </div>`;
}

export function Suppressions() {
  const [show, setShow] = useState("");
  const [pages, setPages] = useState([]);
  const [more, setMore] = useState({ busy: false, error: null });
  const [removed, setRemoved] = useState({ key: "", address: "", error: null });
  const list = useLoad(() => { setPages([]); return listSuppressions({ limit: perPage, source: show }); }, [show]);
  const rows = [...(list.data ? list.data.suppressions || [] : []), ...pages.flatMap((p) => p.suppressions || [])]
    .filter((s) => s.key !== removed.key);
  const next = pages.length ? pages[pages.length - 1].next : list.data && list.data.next;
  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const p = await listSuppressions({ limit: perPage, cursor: next, source: show });
      setPages([...pages, p]);
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };
  const added = () => {
    setRemoved({ key: "", address: "", error: null });
    list.reload();
  };
  const [asking, setAsking] = useState(null);
  const remove = async (s) => {
    setAsking(null);
    try {
      await removeSuppression(s.address || s.key);
      setRemoved({ key: s.key, address: s.address || hidden, entry: s, error: null });
    } catch (error) {
      setRemoved({ key: "", address: "", error });
    }
  };
  // undo puts a removed address back (as added by you: the list no
  // longer knows how it first came).
  const undo = async () => {
    try {
      if (removed.entry.address) await addSuppressions([removed.entry.address]);
      setRemoved({ key: "", address: "", error: null });
      list.reload();
    } catch (error) {
      setRemoved({ ...removed, error });
    }
  };
  return html`<section class="page" aria-labelledby="supp-title">
    <h1 id="supp-title">Unsubscribes</h1>
    <p>No campaign of yours sends to these addresses, not even in CC or BCC. People land here when they unsubscribe from one of your messages (by its link, their mail program's button, or by email), and addresses land here when a message to them bounced (when you let us read your mailbox); you can add and import others.</p>
    <div class="columns">
      <div class="list">
        ${list.loading && !list.data && html`<${Loading} what="the list" />`}
        <${ErrorBox} error=${list.error} retry=${list.reload} />
        <${ErrorBox} error=${removed.error} />
        ${removed.address && html`<p role="status">${removed.address} was taken off the list: later campaigns send to it again.
          ${removed.entry && removed.entry.address && html` <button type="button" class="link" onClick=${undo}>Undo</button>`}</p>`}
        ${asking && html`<${Confirm} title=${"Send to " + (asking.address || hidden) + " again?"} action="Take it off the list"
            onCancel=${() => setAsking(null)} onConfirm=${() => remove(asking)}>
          <p>${asking.source === "added" ? "You added this address. Later campaigns will send to it again." :
            asking.source === "bounce" ? "A message to this address could not be delivered. Send to it again only if you know it works now." :
            "This person asked not to get your emails. Send to them again only if they asked you to."}</p></${Confirm}>`}
        <form class="search" aria-label="Show part of the list" onSubmit=${(e) => e.preventDefault()}>
          <label>Show <select value=${show} onChange=${(e) => { setRemoved({ key: "", address: "", error: null }); setShow(e.target.value); }}>
            ${shows.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
          </select></label>
        </form>
        ${list.data && rows.length === 0 && html`<${Empty}><p>${shows.find(([v]) => v === show)[2]}</p></${Empty}>`}
        ${rows.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Addresses on the list"><table class="stack"><thead><tr><th scope="col">Address</th><th scope="col">Since</th><th scope="col">How</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
          <tbody>${rows.map((s) => html`<tr key=${s.key}><td data-label="Address">${s.address || html`<em title="We no longer have the address, only what stops mail to it.">${hidden}</em>`}</td><td data-label="Since">${when(s.at)}</td><td data-label="How">${sources[s.source] || s.source}</td>
            <td><button type="button" class="link" onClick=${() => setAsking(s)} aria-label=${"Remove " + (s.address || hidden)}>Remove</button></td></tr>`)}</tbody></table></div>`}
        <${ErrorBox} error=${more.error} />
        ${next && html`<button type="button" class="secondary" onClick=${loadMore} disabled=${more.busy}>${more.busy ? "Loading…" : "Show more"}</button>`}
      </div>
      <div class="side">
        <${Add} onAdded=${added} />
        <${Import} onAdded=${added} />
      </div>
    </div>
  </section>`;
}
