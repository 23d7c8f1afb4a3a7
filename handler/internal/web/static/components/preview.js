// A message as one row's recipient gets it: rendered by the service for
// any row, shown in a frame that runs nothing.
import { html, useState } from "preact-htm";
import { preview } from "app/api/campaigns";
import { ErrorBox, sentence } from "app/ui";

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

export function Preview({ c }) {
  const [row, setRow] = useState("");
  const [state, setState] = useState({ busy: false, error: null, p: null });
  const show = async (e) => {
    e && e.preventDefault();
    setState({ busy: true, error: null, p: state.p });
    try {
      const body = row ? { row: Number(row) } : {};
      const p = await preview(c.id, body);
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
