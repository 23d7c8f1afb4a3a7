// "This message": a mail merge from the message being written. Pick or
// create the campaign, upload its spreadsheet, preview the message for
// any row (read from Outlook as it is now), then put the campaign's
// address in To and send. Once the message has arrived, the campaign's
// own page follows the sending.
import { html, useState, useEffect } from "preact-htm";
import { listCampaigns, newAddress, preview, sendTest } from "app/api/campaigns";
import { Loading, Empty, ErrorBox, Badge, Confirm, plural, useLoad } from "app/ui";
import { useCampaign } from "app/live";
import { Upload, DataReport } from "app/components/upload";
import { Rendered } from "app/components/preview";
import { rememberAddress, rememberedAddress } from "app/components/address";
import { Create } from "app/components/create";
const chosenKey = "mm-pane-campaign";

// office calls an Office.js method that answers through a callback with
// an AsyncResult, as a promise.
function office(what, fn) {
  return new Promise((resolve, reject) => {
    try {
      fn((r) => (r.status === "succeeded" ? resolve(r.value) : reject(new Error(`Outlook could not ${what}: ${(r.error && r.error.message) || "no reason given"}.`))));
    } catch (err) {
      reject(new Error(`Outlook could not ${what}: ${err.message}.`));
    }
  });
}

const item = () => Office.context.mailbox.item;
const supports = (set, version) => Office.context.requirements.isSetSupported(set, version);

// readDraft reads the message being written: subject, HTML body and,
// where Outlook can tell (Mailbox 1.8), its attachments.
export async function readDraft() {
  const [subject, body] = await Promise.all([
    office("read the subject", (cb) => item().subject.getAsync(cb)),
    office("read the message", (cb) => item().body.getAsync(Office.CoercionType.Html, cb)),
  ]);
  let attachments = [];
  if (supports("Mailbox", "1.8")) {
    const list = await office("list the attachments", (cb) => item().getAttachmentsAsync(cb));
    attachments = list.map((a) => ({ name: a.name, size: a.size, contentId: a.isInline ? a.contentId : undefined }));
  }
  return { subject, html: body, attachments };
}

// tidy makes a campaign's name of a subject: its placeholders left out.
const tidy = (s) => s.replace(/\{\{[^}]*\}\}/g, " ").replace(/\s+([,.;:!?])/g, "$1").replace(/[,;:]+(?=[,;:.!?]|\s*$)/g, "")
  .replace(/^[\s,.;:!?]+/, "").replace(/\s+/g, " ").trim();

// Choose picks a campaign that has not started, or makes one named after
// the message's subject.
function Choose({ onChosen }) {
  const list = useLoad(() => listCampaigns({ limit: 50, status: "draft,ready" }), []);
  const [suggest] = useState(() => office("read the subject", (cb) => item().subject.getAsync(cb)).then(tidy));
  const open = list.data ? list.data.campaigns.filter((c) => c.status === "draft" || c.status === "ready") : [];
  return html`<div>
    <${Create} suggest=${suggest} onCreated=${(c) => { rememberAddress(c); onChosen(c.id); }} />
    <div class="card">
      <h2>Or one not sent yet</h2>
      ${list.loading && !list.data && html`<${Loading} what="campaigns" />`}
      <${ErrorBox} error=${list.error} retry=${list.reload} />
      ${list.data && open.length === 0 && html`<${Empty}><p>None waiting.</p></${Empty}>`}
      ${open.length > 0 && html`<ul class="choices">${open.map((c) => html`<li>
        <button type="button" class="secondary" onClick=${() => onChosen(c.id)}>${c.name}</button>
        <${Badge} status=${c.status} /></li>`)}</ul>`}
    </div>
  </div>`;
}

// DraftPreview renders the message being written for one row, and sends
// it to the person as a test, before they press Send.
function DraftPreview({ c }) {
  const [row, setRow] = useState("");
  const [state, setState] = useState({ busy: "", error: null, p: null, sent: null });
  const run = async (what) => {
    setState((s) => ({ ...s, busy: what, error: null, sent: null }));
    try {
      const draft = await readDraft();
      const body = { ...draft, row: row ? Number(row) : undefined };
      if (what === "test") {
        delete body.attachments;
        delete body.text;
        const sent = await sendTest(c.id, body);
        setState((s) => ({ ...s, busy: "", sent }));
      } else {
        const p = await preview(c.id, body);
        setState({ busy: "", error: null, p, sent: null });
      }
    } catch (error) {
      setState((s) => ({ ...s, busy: "", error }));
    }
  };
  return html`<div class="preview">
    <p class="small">What this message will look like for a row of your spreadsheet, as it is written now.</p>
    <form class="inline" onSubmit=${(e) => { e.preventDefault(); run("preview"); }}>
      <label>Row <input type="number" min="2" value=${row} onInput=${(e) => setRow(e.target.value)} placeholder="first" /></label>
      <button type="submit" class="secondary" disabled=${!!state.busy}>${state.busy === "preview" ? "Rendering…" : "Preview"}</button>
      <button type="button" class="secondary" disabled=${!!state.busy} onClick=${() => run("test")}>${state.busy === "test" ? "Sending…" : "Send me a test"}</button>
    </form>
    ${state.sent && html`<p role="status" class="ok">Row ${state.sent.row}'s message went to you (${state.sent.to}), marked “[Test]”. Attachments go with the real email only.</p>`}
    <${ErrorBox} error=${state.error} />
    <${Rendered} p=${state.p} />
  </div>`;
}

// Send puts the campaign's address alone in To (asking first when the
// message has other recipients) and tells the person to press Send.
// Office.js could send by itself from Mailbox 1.15 on (item.sendAsync),
// but only with the ReadWriteMailbox permission: we ask for less, so the
// person sends, as with any message.
function Send({ c, onSent }) {
  const [state, setState] = useState({ busy: false, error: null, ask: null, ready: false });
  const apply = async () => {
    let address = rememberedAddress(c.id);
    if (!address) {
      const n = await newAddress(c.id);
      rememberAddress(n);
      address = n.inboundAddress;
    }
    await office("set the recipients", (cb) => item().to.setAsync([address], cb));
    await office("clear CC", (cb) => item().cc.setAsync([], cb));
    await office("clear BCC", (cb) => item().bcc.setAsync([], cb));
    setState({ busy: false, error: null, ask: null, ready: true });
    onSent();
  };
  const start = async () => {
    setState({ busy: true, error: null, ask: null, ready: false });
    try {
      // The message must render for the rows: problems first.
      const draft = await readDraft();
      const p = await preview(c.id, draft);
      if ((p.problems || []).length) {
        setState({ busy: false, error: new Error("Your message has placeholders that match no column. Preview a row to see them, fix them, then try again."), ask: null, ready: false });
        return;
      }
      const [to, cc, bcc] = await Promise.all(["to", "cc", "bcc"].map((k) => office("read the recipients", (cb) => item()[k].getAsync(cb))));
      if (to.length || cc.length || bcc.length) {
        setState({ busy: false, error: null, ask: { to, cc, bcc }, ready: false });
        return;
      }
      await apply();
    } catch (error) {
      setState({ busy: false, error, ask: null, ready: false });
    }
  };
  const ask = state.ask;
  const names = (list) => list.map((r) => r.emailAddress || r.displayName).join(", ");
  if (!c.data || c.data.status !== "ready") {
    return html`<p>Upload your spreadsheet first: the message goes to its rows.</p>`;
  }
  return html`<div>
    ${state.ready ? html`<div class="ok" role="status">
        <p><strong>Now press Send in Outlook.</strong> The campaign's address is in To: your message goes to us, and we send it to each row of your spreadsheet from your mailbox.</p>
        <p class="small">We email you when sending starts. This pane follows it if it stays open; so does the dashboard.</p></div>`
      : html`<p>Your message goes to the campaign's address, not to people: the spreadsheet says who gets it.</p>
        <button type="button" class="primary" onClick=${start} disabled=${state.busy}>${state.busy ? "Checking…" : "Set up the message to send"}</button>`}
    <${ErrorBox} error=${state.error} />
    ${ask && html`<${Confirm} title="Replace the recipients?" action="Replace them" cancel="Leave them" onCancel=${() => setState({ ...state, ask: null })}
        onConfirm=${async () => { setState({ ...state, ask: null, busy: true }); try { await apply(); } catch (error) { setState({ busy: false, error, ask: null, ready: false }); } }}>
      <p>The campaign's address must be the only recipient.</p>
      <ul>
        ${ask.to.length > 0 && html`<li>To: ${names(ask.to)} is replaced.</li>`}
        ${ask.cc.length > 0 && html`<li>CC: ${plural(ask.cc.length, "address", "addresses")} removed.</li>`}
        ${ask.bcc.length > 0 && html`<li>BCC: ${plural(ask.bcc.length, "address", "addresses")} removed.</li>`}
      </ul></${Confirm}>`}
  </div>`;
}

// inOutlook says whether the pane runs beside a message being written.
const inOutlook = () => !!(window.Office && Office.context && Office.context.mailbox && Office.context.mailbox.item);

export function Pane({ me }) {
  if (!inOutlook()) {
    return html`<section class="page" aria-labelledby="pane-title"><h1 id="pane-title">Mail merge this message</h1>
      <div class="card"><p>This pane works beside a message you are writing in Outlook: start a new message, then choose
        <strong>Mail merge</strong> on its ribbon.</p>
        <p><a class="button secondary" href="/" target="_blank" rel="noopener">Open the dashboard</a></p></div></section>`;
  }
  return html`<${Compose} me=${me} />`;
}

function Compose({ me }) {
  const [id, setId] = useState(sessionStorage.getItem(chosenKey) || "");
  const [waiting, setWaiting] = useState(false);
  const choose = (next) => {
    if (next) sessionStorage.setItem(chosenKey, next);
    else sessionStorage.removeItem(chosenKey);
    setId(next);
    setWaiting(false);
  };
  // The campaign is followed by the one polling policy (app/live): after
  // the message is set up, once it has arrived, its page follows it.
  const { c, view, data } = useCampaign(id);
  useEffect(() => {
    if (c && waiting && c.status !== "ready" && c.status !== "draft") location.hash = "#/campaigns/" + encodeURIComponent(c.id);
  }, [c, waiting]);
  const consent = me.graph && me.graph.consent !== "granted" && html`<p class="warn" role="alert">${me.graph.message}</p>`;
  if (!id) {
    return html`<section class="page" aria-labelledby="pane-title"><h1 id="pane-title">Mail merge this message</h1>${consent}<${Choose} onChosen=${choose} /></section>`;
  }
  if (view.loading && !c) return html`<${Loading} what="the campaign" />`;
  if (!c) {
    return html`<section class="page"><${ErrorBox} error=${view.error} retry=${view.reload} />
      <button type="button" class="secondary" onClick=${() => choose("")}>Choose another campaign</button></section>`;
  }
  const started = c.status !== "draft" && c.status !== "ready";
  return html`<section class="page" aria-labelledby="pane-title">
    <p class="crumbs"><button type="button" class="link" onClick=${() => choose("")}>Another campaign</button></p>
    <div class="title"><h1 id="pane-title">${c.name}</h1><${Badge} status=${c.status} /></div>
    ${consent}
    ${started ? html`<div class="card"><p>This campaign has started.</p>
        <p><a class="button secondary" href=${"#/campaigns/" + encodeURIComponent(c.id)}>Follow it</a></p></div>` : html`
    <div class="card">
      <h2>1. Spreadsheet</h2>
      <${DataReport} d=${data.data} />
      <${Upload} c=${c} onDone=${() => { data.reload(); view.reload(); }} />
    </div>
    <div class="card">
      <h2>2. Preview</h2>
      <${DraftPreview} c=${{ ...c, data: data.data }} />
    </div>
    <div class="card">
      <h2>3. Send</h2>
      <${Send} c=${{ ...c, data: data.data }} onSent=${() => setWaiting(true)} />
    </div>`}
  </section>`;
}
