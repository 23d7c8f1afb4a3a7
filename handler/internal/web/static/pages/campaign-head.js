// The head of a campaign's page: its name (renamed in place, at any
// time), its state, a copy of it, and its tracking switches (changeable
// until its email arrives).
import { html, useState, useEffect, useRef } from "preact-htm";
import { changeCampaign, copyCampaign } from "app/api/campaigns";
import { Badge, ErrorBox } from "app/ui";

function Rename({ c, onChange, onDone }) {
  const [name, setName] = useState(c.name);
  const [state, setState] = useState({ busy: false, error: null });
  const input = useRef(null);
  useEffect(() => { if (input.current) { input.current.focus(); input.current.select(); } }, []);
  const save = async (e) => {
    e.preventDefault();
    if (name.trim() === c.name) return onDone();
    setState({ busy: true, error: null });
    try {
      onChange(await changeCampaign(c.id, { name: name.trim() }));
      onDone();
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<form class="rename" onSubmit=${save} onKeyDown=${(e) => e.key === "Escape" && onDone()}>
    <label>New name <input ref=${input} value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="200" /></label>
    <div class="controls">
      <button type="submit" class="primary" disabled=${state.busy || !name.trim()}>${state.busy ? "Saving…" : "Save the name"}</button>
      <button type="button" class="secondary" onClick=${onDone}>Keep the name</button>
    </div>
    <${ErrorBox} error=${state.error} />
  </form>`;
}

// trackingWords says what a campaign counts, once it can no longer change.
function trackingWords(c) {
  if (c.trackOpens && c.trackClicks) return "Opens and clicks are counted.";
  if (c.trackOpens) return "Opens are counted; clicks are not.";
  if (c.trackClicks) return "Clicks are counted; opens are not.";
  return "Tracking is off: opens and clicks are not counted.";
}

// Tracking switches counting opens and clicks while the campaign waits
// for its email; after, it says what is counted.
function Tracking({ c, onChange }) {
  const [state, setState] = useState({ busy: false, error: null });
  if (!["draft", "ready"].includes(c.status)) return html`<p class="small tracking">${trackingWords(c)}</p>`;
  const set = async (field, on) => {
    setState({ busy: true, error: null });
    try {
      onChange(await changeCampaign(c.id, { [field]: on }));
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<fieldset class="tracking">
    <legend>Tracking</legend>
    <label class="check"><input type="checkbox" checked=${c.trackOpens} disabled=${state.busy} onChange=${(e) => set("trackOpens", e.target.checked)} /> Count opens (a tiny image in each message)</label>
    <label class="check"><input type="checkbox" checked=${c.trackClicks} disabled=${state.busy} onChange=${(e) => set("trackClicks", e.target.checked)} /> Count clicks (links go through us)</label>
    <p class="small">You can change these until your email arrives.</p>
    <${ErrorBox} error=${state.error} />
  </fieldset>`;
}

// Head shows the campaign's name and state, with Rename and Copy campaign;
// onCopied gets the new campaign.
export function Head({ c, onChange, onCopied }) {
  const [renaming, setRenaming] = useState(false);
  const [copy, setCopy] = useState({ busy: false, error: null });
  const makeCopy = async () => {
    setCopy({ busy: true, error: null });
    try {
      onCopied(await copyCampaign(c.id));
    } catch (error) {
      setCopy({ busy: false, error });
    }
  };
  return html`<div class="head">
    <div class="title">
      <h1 id="campaign-title">${c.name}</h1><${Badge} status=${c.status} />
      <div class="head-actions">
        ${!renaming && html`<button type="button" class="secondary" onClick=${() => setRenaming(true)}>Rename</button>`}
        <button type="button" class="secondary" onClick=${makeCopy} disabled=${copy.busy}
          aria-describedby="copy-what">${copy.busy ? "Copying…" : "Copy campaign"}</button>
      </div>
    </div>
    <p id="copy-what" class="visually-hidden">Copy makes a new campaign with the same rows and options, and an address of its own.</p>
    ${renaming && html`<${Rename} c=${c} onChange=${onChange} onDone=${() => setRenaming(false)} />`}
    <${ErrorBox} error=${copy.error} />
    <${Tracking} c=${c} onChange=${onChange} />
  </div>`;
}
