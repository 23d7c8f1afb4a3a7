// A new campaign's form: its name, tracking, when it starts and its
// sending hours. The dashboard's list and the task pane both show it.
import { html, useState, useEffect } from "preact-htm";
import { createCampaign } from "app/api/campaigns";
import { ErrorBox, zone, localInput, newWindow, WindowFields } from "app/ui";

// Create makes a campaign; suggest (a promise of a name) fills the name
// while the person has not typed one.
export function Create({ onCreated, suggest }) {
  const [name, setName] = useState("");
  useEffect(() => {
    if (suggest) suggest.then((n) => setName((cur) => cur || n), () => {});
  }, [suggest]);
  const [opens, setOpens] = useState(false);
  const [clicks, setClicks] = useState(false);
  const [start, setStart] = useState("onEmail");
  const [startAt, setStartAt] = useState("");
  const [hours, setHours] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), trackOpens: opens, trackClicks: clicks, start };
      if (startAt) body.startAt = localInput(startAt);
      if (hours) body.window = hours;
      const c = await createCampaign(body);
      onCreated(c);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<form class="card create" onSubmit=${submit} aria-labelledby="create-title">
    <h2 id="create-title">New campaign</h2>
    <label>Name <input value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="200" placeholder="Spring newsletter" /></label>
    <fieldset>
      <legend>Tracking</legend>
      <label class="check"><input type="checkbox" checked=${opens} onChange=${(e) => setOpens(e.target.checked)} /> Count opens (a tiny image in each message)</label>
      <label class="check"><input type="checkbox" checked=${clicks} onChange=${(e) => setClicks(e.target.checked)} /> Count clicks (links go through us)</label>
    </fieldset>
    <fieldset>
      <legend>When your email arrives</legend>
      <label class="check"><input type="radio" name="start" value="onEmail" checked=${start === "onEmail"} onChange=${() => setStart("onEmail")} /> Start sending</label>
      <label class="check"><input type="radio" name="start" value="review" checked=${start === "review"} onChange=${() => setStart("review")} /> Hold it: I preview it, send myself a test, then start it</label>
      <label>Not before (optional, ${zone()}) <input type="datetime-local" value=${startAt} onInput=${(e) => setStartAt(e.target.value)} /></label>
    </fieldset>
    <fieldset>
      <legend>Sending hours</legend>
      <label class="check"><input type="checkbox" checked=${!!hours} onChange=${(e) => setHours(e.target.checked ? newWindow() : null)} /> Send only on some days and hours</label>
      ${hours && html`<${WindowFields} value=${hours} onChange=${setHours} />`}
    </fieldset>
    <${ErrorBox} error=${error} />
    <button type="submit" class="primary" disabled=${busy}>${busy ? "Creating…" : "Create campaign"}</button>
  </form>`;
}
