// One campaign: its spreadsheet (upload, validation report), the address
// to send the template email to, a preview of any row, live progress
// with pause, resume and cancel, and the recipients by state.
import { html, useState } from "preact-htm";
import { changeCampaign, deleteCampaign, sendTest, startCampaign, pauseCampaign, resumeCampaign, cancelCampaign } from "app/api/campaigns";
import { Loading, ErrorBox, Progress, Confirm, done, total, when, plural, zone, localInput, newWindow, WindowFields, windowWords, sentence } from "app/ui";
import { useCampaign, live } from "app/live";
import { Head } from "app/pages/campaign-head";
import { Recipients } from "app/components/rows";
import { Upload, DataReport } from "app/components/upload";
import { Address, rememberAddress } from "app/components/address";
import { Preview } from "app/components/preview";
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
    act("test", () => sendTest(c.id, row ? { row: Number(row) } : {}));
  };
  const schedule = (e) => {
    e.preventDefault();
    act("schedule", async () => onChange(await startCampaign(c.id, { at: localInput(at) })));
  };
  const startNow = async () => {
    onChange(await startCampaign(c.id));
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
      onChange(await changeCampaign(c.id, { window }));
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
  const act = async (control) => {
    setBusy(true);
    setError(null);
    try {
      onChange(await control(c.id));
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return html`<div class="controls">
    ${["sending", "scheduled"].includes(c.status) && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => act(pauseCampaign)}>Pause</button>`}
    ${c.status === "paused" && html`<button type="button" class="primary" disabled=${busy} onClick=${() => act(resumeCampaign)}>Resume</button>`}
    ${["queued", "review", "scheduled", "sending", "paused"].includes(c.status) && html`<button type="button" class="danger" disabled=${busy} onClick=${() => setCancelling(true)}>Cancel…</button>`}
    <${ErrorBox} error=${error} />
    ${cancelling && html`<${Confirm} title="Cancel this campaign?" action="Cancel campaign"
        onCancel=${() => setCancelling(false)} onConfirm=${async () => { onChange(await cancelCampaign(c.id)); setCancelling(false); }}>
      <p>Rows not sent yet will not be sent. Messages already sent stay sent.</p></${Confirm}>`}
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
  const { c, d, view, data } = useCampaign(id);
  const [deleting, setDeleting] = useState(false);
  if (view.loading && !c) return html`<${Loading} what="the campaign" />`;
  if (!c) return html`<section class="page"><${ErrorBox} error=${view.error} retry=${view.reload} /><p><a href="#/">Back to campaigns</a></p></section>`;
  const counts = c.counts || {};
  const editable = ["draft", "ready"].includes(c.status);
  return html`<section class="page" aria-labelledby="campaign-title">
    <p class="crumbs"><a href="#/">Campaigns</a></p>
    <${Head} c=${c} onChange=${(n) => view.set(n)}
      onCopied=${(n) => { rememberAddress(n); location.hash = "#/campaigns/" + encodeURIComponent(n.id); }} />
    ${c.reason && html`<p class=${c.status === "failed" ? "error" : "warn"}>${sentence(c.reason.message || c.reason.text)}</p>`}
    ${c.refused && editable && html`<${Refused} c=${c} r=${c.refused} />`}
    ${["review", "scheduled"].includes(c.status) && html`<${Held} c=${c} onChange=${(n) => view.set(n)} />`}
    <${ErrorBox} error=${view.error} />
    ${total(counts) > 0 && !editable && !["review", "scheduled"].includes(c.status) && html`<div class="card">
      <h2>Progress</h2>
      <${Progress} value=${done(counts)} label="Sending progress" />
      <p>${`${plural(counts.sent, "sent", "sent")}${counts.pending + (counts.sending || 0) ? `, ${counts.pending + (counts.sending || 0)} to go` : ""}, ${counts.failed} failed, ${counts.unknown} not confirmed, ${counts.skipped} skipped${counts.replied ? `, ${plural(counts.replied, "reply", "replies")}` : ""}${counts.bounced ? `, ${counts.bounced} bounced` : ""}.`}
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
    ${total(counts) > 0 && html`<div class="card"><h2>Recipients</h2><${Recipients} c=${c} onChange=${() => { view.reload(); data.reload(); }} /></div>`}
    <div class="card danger-zone">
      <h2>Delete</h2>
      <p>Deletes the campaign with its rows, files and tracking events. Messages already sent stay in your Sent Items.</p>
      <button type="button" class="danger" onClick=${() => setDeleting(true)}>Delete campaign…</button>
    </div>
    ${deleting && html`<${Confirm} title=${"Delete " + c.name + "?"} action="Delete campaign" onCancel=${() => setDeleting(false)}
        onConfirm=${async () => { await deleteCampaign(c.id); location.hash = "#/"; }}>
      <p>This cannot be undone.${live.includes(c.status) ? " Sending stops at once." : ""}</p></${Confirm}>`}
  </section>`;
}
