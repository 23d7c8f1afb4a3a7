// Replies and bounces: the setting that lets Mail Merge read the basic
// details of the person's mail, on the account page of the dashboard and
// of the task pane. Off by default. Turning it on first makes sure the
// person allowed Microsoft's permission to read the basic details of mail
// (app/auth's consent: silently when they have, otherwise Microsoft asks
// them, on its page in the dashboard, in a window in the pane), then tells
// the service, which checks the permission with Microsoft again. Turning
// it off stops the reading and forgets where it stopped; the permission
// itself stays with Microsoft until the person removes it there, which
// the card says how to do.
import { html, useState, useEffect } from "preact-htm";
import { changeMe } from "app/api/account";
import { ErrorBox, when } from "app/ui";
import { consent, consentReturned } from "app/auth";
import { readMailScope } from "app/signin";

// refusedWords say why reading stays off after Microsoft did not give
// the permission.
const refusedWords = {
  declined: "You did not allow Mail Merge to read your mail, so reading stays off. Turn it on again to be asked once more.",
  admin: "Your organisation lets only its administrator allow apps to read mail. Ask your administrator to allow Mail Merge to read the basic details of your mail, then turn it on again.",
  other: "Microsoft did not give Mail Merge the permission to read your mail, so reading stays off. Try again in a moment.",
};

const refusedOf = (r) => (r.admin ? "admin" : r.declined ? "declined" : "other");

export function Reading({ me }) {
  const [acct, setAcct] = useState(me);
  const [state, setState] = useState({ busy: false, error: null, refused: "", done: "" });
  const application = acct.mailboxPermission === "application";

  // save tells the service; a permission it finds missing is asked for
  // once more (again), never in a loop.
  const save = async (on, again) => {
    try {
      const next = await changeMe({ readMailbox: on });
      setAcct({ ...acct, ...next });
      setState({ busy: false, error: null, refused: "", done: on ? "on" : "off" });
    } catch (error) {
      if (on && error.code === "consent_required" && !again && !application) {
        try {
          await consent(readMailScope, true);
        } catch (err) {
          setState({ busy: false, error: null, refused: refusedOf(err), done: "" });
          return undefined;
        }
        return save(on, true);
      }
      if (error.code === "admin_consent_required") setState({ busy: false, error: null, refused: "admin", done: "" });
      else setState({ busy: false, error, refused: "", done: "" });
    }
  };

  const turnOn = async () => {
    setState({ busy: true, error: null, refused: "", done: "" });
    try {
      // Where Microsoft must ask, the dashboard leaves for its page here
      // and comes back to this card (the effect below).
      if (!application) await consent(readMailScope);
    } catch (err) {
      setState({ busy: false, error: null, refused: refusedOf(err), done: "" });
      return;
    }
    await save(true, false);
  };

  const turnOff = async () => {
    setState({ busy: true, error: null, refused: "", done: "" });
    await save(false, true);
  };

  // Back from Microsoft's page: finish turning it on, or say why not.
  useEffect(() => {
    const back = consentReturned();
    if (!back || back.scope !== readMailScope) return;
    if (back.granted) {
      setState({ busy: true, error: null, refused: "", done: "" });
      save(true, true);
    } else {
      setState({ busy: false, error: null, refused: refusedOf(back), done: "" });
    }
  }, []);

  const on = acct.readMailbox;
  return html`<section class="card reading" aria-labelledby="reading-title">
    <h2 id="reading-title">Replies and bounces</h2>
    <p>With your permission, Mail Merge reads the basic details of the mail in your mailbox: who sent a message, when, and which
      message it answers. With them it marks the rows whose people replied and the addresses that bounced, stops mailing
      addresses that bounce, and checks your Sent Items when Microsoft's answer to a send was lost, so that nobody gets a message
      twice. It never reads what a message says or its attachments, and it keeps only the times.</p>
    ${application && html`<p class="small">Your organisation's administrator gives this permission for everyone in your
      organisation (Microsoft calls it “Read basic mail in all mailboxes”). Until they have, turning it on here changes nothing.</p>`}
    <p class="reading-state" role="status">
      ${on ? html`<strong>On</strong> since ${when(acct.readMailboxSince)}. ${acct.inboxReadAt ? `Your inbox was last read ${when(acct.inboxReadAt)}.` : "Your inbox has not been read yet."}`
        : html`<strong>Off.</strong> Nothing of your mailbox is read.${state.done === "off" ? " We stopped reading and forgot where we had stopped." : ""}`}
    </p>
    ${state.refused && html`<p class="warn" role="alert">${refusedWords[state.refused]}</p>`}
    <${ErrorBox} error=${state.error} />
    ${on ? html`<button type="button" class="secondary" onClick=${turnOff} disabled=${state.busy}>${state.busy ? "Turning off…" : "Turn off"}</button>`
      : html`<button type="button" class="primary" onClick=${turnOn} disabled=${state.busy}>${state.busy ? "Turning on…" : "Turn on"}</button>`}
    <p class="small">Turning it off stops the reading at once and forgets where we stopped. ${application
      ? "The permission itself is your organisation's: only its administrator can remove it."
      : html`We cannot take back the permission itself: Microsoft keeps it until you remove it at <a href="https://myapps.microsoft.com" target="_blank" rel="noopener">myapps.microsoft.com</a>, where it lists the apps you allowed, or until your organisation's administrator does.`}</p>
  </section>`;
}
