// Small shared pieces of the pages: states (loading, empty, error), the
// status badge and progress bar, formatting, a hook that loads data.
import { html, useState, useEffect, useCallback, useRef } from "preact-htm";
import { campaignStates, rowStates } from "app/words";

export function Loading({ what }) {
  return html`<p class="state" role="status"><span class="spinner" aria-hidden="true"></span>Loading ${what || ""}…</p>`;
}

export function Empty({ children }) {
  return html`<div class="state empty">${children}</div>`;
}

// ErrorBox shows an error, and "Try again" where trying again can help:
// not for something that is not there, nor for a request the service
// refused as it is.
export function ErrorBox({ error, retry }) {
  if (!error) return null;
  const again = retry && !(error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429);
  return html`<div class="error" role="alert">
    <p>${error.message || String(error)}</p>
    ${again && html`<button type="button" class="secondary" onClick=${retry}>Try again</button>`}
  </div>`;
}

// Badge names a state in the words the notices use too (app/words,
// written from the service's own list); its meaning shows on hover.
export function Badge({ status, kind = "campaign" }) {
  const w = (kind === "row" ? rowStates[status] : campaignStates[status]) || rowStates[status] || campaignStates[status];
  return html`<span class="badge badge-${status}" title=${w ? w.meaning : ""}>${w ? w.name : status}</span>`;
}

// done is the share of a campaign's rows to send that have gone (sent,
// failed or unknown), and total the rows it has.
export function total(c) {
  if (!c) return 0;
  return (c.pending || 0) + (c.sending || 0) + (c.sent || 0) + (c.failed || 0) + (c.unknown || 0) + (c.skipped || 0);
}

// (done counts only the rows that were to be sent: those skipped, for a
// bad address or an unsubscribe, are neither done nor to do.)
export function done(c) {
  const ended = (c.sent || 0) + (c.failed || 0) + (c.unknown || 0);
  const toSend = ended + (c.pending || 0) + (c.sending || 0);
  return toSend ? ended / toSend : 0;
}

export function Progress({ value, label }) {
  const pct = Math.round(value * 100);
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${pct} aria-label=${label || "Progress"}>
    <div class="bar" style=${{ width: pct + "%" }}></div>
  </div>`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// zone names the person's time zone, for times shown in it.
export function zone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
}

// localInput turns a datetime-local input's value (the person's own
// time) into an RFC 3339 time; "" stays "".
export function localInput(v) {
  return v ? new Date(v).toISOString() : "";
}

export function plural(n, one, many) {
  return `${(n || 0).toLocaleString()} ${n === 1 ? one : many || one + "s"}`;
}

// useLoad runs load() now and when deps change; reload() runs it again.
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => mine === seq.current && setState({ loading: false, data, error: null }),
      (error) => mine === seq.current && setState((s) => ({ loading: false, data: s.data, error })),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run, set: (data) => setState((s) => ({ ...s, data })) };
}

// Confirm asks before something that cannot be undone. With typed set,
// the person must type it first.
export function Confirm({ title, children, action, cancel = "Keep it", typed, onConfirm, onCancel }) {
  const ref = useRef(null);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const ok = !typed || text.trim().toLowerCase() === typed.toLowerCase();
  const submit = async (e) => {
    e.preventDefault();
    if (!ok) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<dialog ref=${ref} class="confirm" aria-labelledby="confirm-title" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <form onSubmit=${submit}>
      <h2 id="confirm-title">${title}</h2>
      ${children}
      ${typed && html`<label>Type <strong>${typed}</strong> to confirm
        <input value=${text} onInput=${(e) => setText(e.target.value)} autocomplete="off" /></label>`}
      <${ErrorBox} error=${error} />
      <div class="actions">
        <button type="button" class="secondary" onClick=${onCancel}>${cancel}</button>
        <button type="submit" class="danger" disabled=${!ok || busy}>${busy ? "Working…" : action}</button>
      </div>
    </form>
  </dialog>`;
}

const days = [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]];

// newWindow is the sending window proposed first: weekdays, office hours,
// in the person's own time zone.
export function newWindow() {
  return { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00", timeZone: zone() };
}

// WindowFields edits a sending window: the days, the hours and the time
// zone (proposed from the browser).
export function WindowFields({ value, onChange }) {
  const set = (k, v) => onChange({ ...value, [k]: v });
  const toggle = (d) => set("days", value.days.includes(d) ? value.days.filter((x) => x !== d) : [...value.days, d]);
  return html`<div class="window">
    <div class="days" role="group" aria-label="Days">
      ${days.map(([d, label]) => html`<label class="check"><input type="checkbox" checked=${value.days.includes(d)} onChange=${() => toggle(d)} /> ${label}</label>`)}
    </div>
    <div class="hours">
      <label>From <input type="time" required value=${value.from} onInput=${(e) => set("from", e.target.value)} /></label>
      <label>To <input type="time" required value=${value.to} onInput=${(e) => set("to", e.target.value)} /></label>
    </div>
    <label>Time zone <input required value=${value.timeZone} onInput=${(e) => set("timeZone", e.target.value)} placeholder="Europe/Paris" /></label>
  </div>`;
}

// windowWords says a sending window in a sentence.
export function windowWords(w) {
  if (!w) return "";
  const names = days.filter(([d]) => w.days.includes(d)).map(([, l]) => l).join(", ");
  return `${names}, ${w.from} to ${w.to} (${w.timeZone})`;
}

// sentence shows a reason the service wrote ("you paused the campaign")
// as a sentence: a capital first, a full stop last.
export function sentence(s) {
  if (!s) return "";
  const t = s.trim();
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}
