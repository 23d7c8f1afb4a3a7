// The address a campaign's template email is sent to, and how to write
// the email's placeholders.
import { html, useState } from "preact-htm";
import { newAddress } from "app/api/campaigns";
import { ErrorBox, Confirm } from "app/ui";

// The campaign's address: the service shows it to its owner until the
// campaign starts (kept encrypted); this browser also remembers it for the
// session, for a campaign made before the service kept it. A new one can
// be made; the old one then stops working.
const addressKey = (id) => "mm-address-" + id;

export function rememberAddress(c) {
  if (c.inboundAddress) sessionStorage.setItem(addressKey(c.id), c.inboundAddress);
}

// rememberedAddress is the campaign's address if this browser saw it.
export const rememberedAddress = (id) => sessionStorage.getItem(addressKey(id));

export function Address({ c }) {
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
      const n = await newAddress(c.id);
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
