// The unsubscribe list: people who asked not to be mailed, and addresses
// the owner added; no campaign mails them.
import { html, useState } from "preact-htm";
import { get, call } from "app/api";
import { Loading, Empty, ErrorBox, when, useLoad } from "app/ui";

const sources = { unsubscribe: "unsubscribed", "one-click": "unsubscribed in their mail program", added: "added by you" };

export function Suppressions() {
  const list = useLoad(() => get("/v1/suppressions?limit=200"), []);
  const [text, setText] = useState("");
  const [state, setState] = useState({ busy: false, error: null, result: null });
  const add = async (e) => {
    e.preventDefault();
    const addresses = text.split(/[\s,;]+/).map((a) => a.trim()).filter(Boolean);
    if (!addresses.length) return;
    setState({ busy: true, error: null, result: null });
    try {
      const result = await call("POST", "/v1/suppressions", { addresses });
      setText("");
      setState({ busy: false, error: null, result });
      list.reload();
    } catch (error) {
      setState({ busy: false, error, result: null });
    }
  };
  const remove = async (address) => {
    try {
      await call("DELETE", "/v1/suppressions/" + encodeURIComponent(address));
      list.reload();
    } catch (error) {
      setState({ ...state, error });
    }
  };
  const rows = list.data ? list.data.suppressions || [] : [];
  const r = state.result;
  return html`<section class="page" aria-labelledby="supp-title">
    <h1 id="supp-title">Unsubscribes</h1>
    <p>No campaign of yours sends to these addresses. People land here when they use the unsubscribe link of a message.</p>
    <div class="columns">
      <div class="list">
        ${list.loading && !list.data && html`<${Loading} what="the list" />`}
        <${ErrorBox} error=${list.error} retry=${list.reload} />
        ${list.data && rows.length === 0 && html`<${Empty}><p>Nobody has unsubscribed.</p></${Empty}>`}
        ${rows.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Unsubscribed addresses"><table><thead><tr><th scope="col">Address</th><th scope="col">Since</th><th scope="col">How</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
          <tbody>${rows.map((s) => html`<tr key=${s.address}><td>${s.address}</td><td>${when(s.at)}</td><td>${sources[s.source] || s.source}</td>
            <td><button type="button" class="link" onClick=${() => remove(s.address)} aria-label=${"Remove " + s.address}>Remove</button></td></tr>`)}</tbody></table></div>`}
      </div>
      <form class="card" onSubmit=${add} aria-labelledby="supp-add">
        <h2 id="supp-add">Add addresses</h2>
        <label>One or more addresses (a pasted column works too)
          <textarea rows="5" value=${text} onInput=${(e) => setText(e.target.value)} placeholder="name@example.com"></textarea></label>
        <${ErrorBox} error=${state.error} />
        ${r && html`<p role="status">${r.added} added${r.invalid && r.invalid.length ? html`; ${r.invalid.length} not valid: ${r.invalid.map((i) => i.message).join("; ")}` : ""}.</p>`}
        <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Adding…" : "Add"}</button>
      </form>
    </div>
  </section>`;
}
