// After the account is deleted: the page that says so, and this
// browser's note of the deletion that shows it on the next visit.
import { html, useState } from "preact-htm";

// A deletion is remembered in this browser (not on our side: nothing of
// the account is kept), so that the next visit says the account was
// deleted and starts a new one only when asked (shell.js).
const deletedKey = "mm-account-deleted";

// rememberDeletion notes that the account was just deleted, with what we
// still keep for a while (the privacy page's "Kept elsewhere").
export function rememberDeletion(elsewhere) {
  try {
    localStorage.setItem(deletedKey, JSON.stringify({ at: Date.now(), elsewhere: elsewhere || [] }));
  } catch {
    // Storage refused (private mode): the sign-in page shows instead.
  }
}

// deletion is what rememberDeletion noted, or null.
export function deletion() {
  try {
    return JSON.parse(localStorage.getItem(deletedKey) || "null");
  } catch {
    return null;
  }
}

export function forgetDeletion() {
  try {
    localStorage.removeItem(deletedKey);
  } catch {
    // Nothing was kept.
  }
}

// AccountDeleted says the account is gone: what went, what stays for a
// while and where, and that signing in again starts a new, empty
// account, which its one button does. finishing: the deletion is still
// under way (a new account can be started once it is done).
export function AccountDeleted({ finishing, onStart }) {
  const d = deletion();
  const elsewhere = d && d.elsewhere && d.elsewhere.length ? d.elsewhere
    : [{ what: "copies of our records, for recovery after a failure", kept: "until they expire, within a year; a recovery never brings back what you deleted." }];
  const [busy, setBusy] = useState(false);
  const what = "your campaigns with their rows, reports, opens and clicks; your template emails and their attachments; " +
    "your unsubscribe list; your settings; and the permission to send from your mailbox. Nothing more is sent.";
  return html`<main><section class="page" aria-labelledby="deleted-title">
    <h1 id="deleted-title">Your account was deleted</h1>
    <p>${(finishing ? "We are deleting your account and everything we kept for it: " : "We deleted your account and everything we kept for it: ") + what}</p>
    <div class="card">
      <h2>What remains for a while</h2>
      <ul class="kept">
        ${elsewhere.map((e) => html`<li><strong>${e.what[0].toUpperCase() + e.what.slice(1)}</strong><span>Kept: ${e.kept}</span></li>`)}
        <li><strong>The messages you sent</strong><span>They stay in your Sent Items and with the people who received them.</span></li>
        <li><strong>Your permission in your Microsoft account</strong><span>Microsoft may still list Mail Merge among the apps you allowed; you can remove it there.</span></li>
      </ul>
    </div>
    <div class="card">
      <h2>Using Mail Merge again</h2>
      <p>${finishing ? "Once the deletion is done, in a few minutes, signing in starts a new, empty account." :
        "Signing in again starts a new, empty account: nothing of the deleted one comes back."}</p>
      <button type="button" class="primary" disabled=${busy} onClick=${() => { setBusy(true); onStart(); }}>${finishing ? "Try again" : "Start a new account"}</button>
    </div>
  </section></main>`;
}
