// Campaigns: newest first, with status, progress and counts; create one.
import { html, useState, useEffect } from "preact-htm";
import { get, call } from "app/api";
import { rememberAddress } from "app/pages/campaign";
import { Loading, Empty, ErrorBox, Badge, Progress, Confirm, done, total, when, plural, useLoad, zone, localInput, newWindow, WindowFields } from "app/ui";

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
      const c = await call("POST", "/v1/campaigns", body);
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

function Row({ c, onDeleted }) {
  const [deleting, setDeleting] = useState(false);
  const counts = c.counts || {};
  const t = total(counts);
  const moving = ["queued", "sending"].includes(c.status);
  return html`<li class="card campaign">
    <div class="head">
      <a href=${"#/campaigns/" + encodeURIComponent(c.id)} class="name">${c.name}</a>
      <${Badge} status=${c.status} />
      <button type="button" class="link delete" onClick=${() => setDeleting(true)} aria-label=${"Delete " + c.name}>Delete</button>
    </div>
    ${deleting && html`<${Confirm} title=${"Delete " + c.name + "?"} action="Delete campaign" onCancel=${() => setDeleting(false)}
        onConfirm=${async () => { await call("DELETE", "/v1/campaigns/" + encodeURIComponent(c.id)); setDeleting(false); onDeleted(c.id); }}>
      <p>Its rows, files and tracking events go. This cannot be undone.${moving ? " Sending stops at once." : ""} Messages already sent stay in your Sent Items.</p></${Confirm}>`}
    ${t > 0 && html`<${Progress} value=${done(counts)} label=${"Progress of " + c.name} />`}
    <p class="meta">
      ${t > 0 ? html`${plural(counts.sent, "sent", "sent")} of ${plural(t, "row")}${counts.failed ? html` · ${plural(counts.failed, "failed", "failed")}` : ""}${counts.unknown ? html` · ${counts.unknown} unknown` : ""}` : "No rows yet"}
      ${c.status === "scheduled" && c.startAt ? html`<span> · starts ${when(c.startAt)}</span>` : ""}
      ${c.status === "review" ? html`<span> · waiting for you to start it</span>` : ""}
      <span> · created ${when(c.createdAt)}</span>
    </p>
  </li>`;
}

export function Campaigns() {
  const [pages, setPages] = useState([]);
  const [more, setMore] = useState({ busy: false, error: null });
  const [gone, setGone] = useState([]);
  const first = useLoad(() => get("/v1/campaigns?limit=20"), []);
  const list = [...(first.data ? first.data.campaigns : []), ...pages.flatMap((p) => p.campaigns)].filter((c) => !gone.includes(c.id));
  // While a campaign of the first page starts or sends, the page follows it.
  const moving = list.some((c) => ["queued", "sending"].includes(c.status) && !c.nextWindowAt);
  useEffect(() => {
    if (!moving) return undefined;
    const t = setTimeout(first.reload, 3000);
    return () => clearTimeout(t);
  }, [first.data, moving]);
  const next = pages.length ? pages[pages.length - 1].next : first.data && first.data.next;
  const loadMore = async () => {
    setMore({ busy: true, error: null });
    try {
      const p = await get("/v1/campaigns?limit=20&cursor=" + encodeURIComponent(next));
      setPages([...pages, p]);
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };
  return html`<section class="page" aria-labelledby="campaigns-title">
    <h1 id="campaigns-title">Campaigns</h1>
    <div class="columns">
      <div class="list">
        ${first.loading && !first.data && html`<${Loading} what="campaigns" />`}
        <${ErrorBox} error=${first.error} retry=${first.reload} />
        ${first.data && list.length === 0 && html`<${Empty}><p>No campaigns yet.</p><p>Create one, upload your spreadsheet, then send your email to the campaign's address.</p></${Empty}>`}
        ${gone.length > 0 && html`<p role="status" class="small">${plural(gone.length, "campaign")} deleted.</p>`}
        ${list.length > 0 && html`<ul class="campaigns">${list.map((c) => html`<${Row} key=${c.id} c=${c} onDeleted=${(id) => setGone([...gone, id])} />`)}</ul>`}
        <${ErrorBox} error=${more.error} />
        ${next && html`<button type="button" class="secondary" onClick=${loadMore} disabled=${more.busy}>${more.busy ? "Loading…" : "Show older campaigns"}</button>`}
      </div>
      <${Create} onCreated=${(c) => { rememberAddress(c); location.hash = "#/campaigns/" + encodeURIComponent(c.id); }} />
    </div>
  </section>`;
}
