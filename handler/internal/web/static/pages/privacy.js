// Account and privacy: where notices go, what we keep about you and for
// how long (measured in storage), your data as a download, and deleting
// the account; then the page that says the account was deleted.
import { html, useState } from "preact-htm";
import { changeMe, deleteMe, whatWeKeep, downloadExport } from "app/api/account";
import { Loading, ErrorBox, Confirm, plural, useLoad } from "app/ui";
import { signOut } from "app/auth";
import { Reading } from "app/components/reading";
import { rememberDeletion } from "app/components/deleted";

function size(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1 << 20) return (bytes / 1024).toFixed(1) + " KB";
  return (bytes / (1 << 20)).toFixed(1) + " MB";
}

function Notify({ me }) {
  const [addr, setAddr] = useState(me.notificationEmail || me.email);
  const [state, setState] = useState({ busy: false, error: null, saved: false });
  const save = async (e) => {
    e.preventDefault();
    setState({ busy: true, error: null, saved: false });
    try {
      await changeMe({ notificationEmail: addr.trim() });
      setState({ busy: false, error: null, saved: true });
    } catch (error) {
      setState({ busy: false, error, saved: false });
    }
  };
  return html`<form class="card" onSubmit=${save} aria-labelledby="notify-title">
    <h2 id="notify-title">Notices</h2>
    <p>We email you when a campaign starts, finishes or needs you.</p>
    <label>Send notices to <input type="email" value=${addr} onInput=${(e) => setAddr(e.target.value)} required /></label>
    <${ErrorBox} error=${state.error} />
    ${state.saved && html`<p role="status">Saved.</p>`}
    <button type="submit" class="primary" disabled=${state.busy}>${state.busy ? "Saving…" : "Save"}</button>
  </form>`;
}

function Kept({ inv }) {
  if (inv.loading && !inv.data) return html`<${Loading} what="what we keep" />`;
  if (!inv.data) return html`<${ErrorBox} error=${inv.error} retry=${inv.reload} />`;
  // One line per kind, each campaign's added up.
  const kinds = [];
  for (const k of inv.data.kinds) {
    let g = kinds.find((x) => x.what === k.what && x.kept === k.kept);
    if (!g) kinds.push((g = { what: k.what, kept: k.kept, count: 0, bytes: 0, campaigns: new Set() }));
    g.count += k.count;
    g.bytes += k.bytes;
    if (k.campaign) g.campaigns.add(k.campaign);
  }
  return html`<p class="small">Measured in storage just now.</p>
  <ul class="kept">${kinds.map((k) => html`<li>
    <strong>${k.what}</strong>
    <span>${plural(k.count, "record")}, ${size(k.bytes)}${k.campaigns.size ? ` · in ${plural(k.campaigns.size, "campaign")}` : ""}</span>
    <span>Kept: ${k.kept}</span></li>`)}</ul>
  <h3>Kept elsewhere</h3>
  <ul class="kept">${inv.data.elsewhere.map((e) => html`<li><strong>${e.what}</strong><span>Kept: ${e.kept}</span></li>`)}</ul>`;
}

export function Privacy({ me }) {
  const inv = useLoad(whatWeKeep, []);
  const [exporting, setExporting] = useState({ busy: false, error: null });
  const [deleting, setDeleting] = useState(false);
  const exportAll = async () => {
    setExporting({ busy: true, error: null });
    try {
      await downloadExport("mail-merge-data.zip");
      setExporting({ busy: false, error: null });
    } catch (error) {
      setExporting({ busy: false, error });
    }
  };
  return html`<section class="page" aria-labelledby="privacy-title">
    <h1 id="privacy-title">Account and privacy</h1>
    <div class="card promises">
      <h2>Our promises</h2>
      <ul>
        <li>We send only what you asked, from your mailbox, once per row.</li>
        <li>We keep your spreadsheet's rows and your template until you delete the campaign, and nothing of the messages we send.</li>
        <li>People you send to can always unsubscribe, also after you delete the campaign: for that we keep, for each message sent, a one-way fingerprint of the addresses it went to (never the addresses), until you delete your account.</li>
        <li>We read your mailbox only if you turn it on below, and then only who sent each message, when, and which message it answers, never what a message says: we keep the times alone.</li>
        <li>You can see everything we keep, download it, correct it and delete it, here, yourself.</li>
      </ul>
    </div>
    <${Notify} me=${me} />
    <${Reading} me=${me} />
    <div class="card">
      <h2>What we keep about you</h2>
      <${Kept} inv=${inv} />
    </div>
    <div class="card">
      <h2>Your data</h2>
      <p>A zip of everything stored for your account: campaigns, rows and their states, reports, tracking events, your unsubscribe list, template emails with their attachments.</p>
      <${ErrorBox} error=${exporting.error} />
      <button type="button" class="secondary" onClick=${exportAll} disabled=${exporting.busy}>${exporting.busy ? "Preparing…" : "Download my data"}</button>
    </div>
    <div class="card danger-zone">
      <h2>Delete my account</h2>
      <p>Deletes your account and everything stored for it. Sending stops at once. Messages already sent stay in your Sent Items.</p>
      <button type="button" class="danger" onClick=${() => setDeleting(true)}>Delete my account…</button>
    </div>
    ${deleting && html`<${Confirm} title="Delete your account?" action="Delete everything" typed="delete my account"
        onCancel=${() => setDeleting(false)} onConfirm=${async () => {
          await deleteMe();
          rememberDeletion(inv.data && inv.data.elsewhere);
          await signOut();
        }}>
      <p>Every campaign, row, report and setting goes. This cannot be undone.</p></${Confirm}>`}
  </section>`;
}
