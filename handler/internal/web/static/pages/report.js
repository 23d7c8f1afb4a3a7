// A campaign's report: how many were sent, failed, skipped or not
// confirmed; the shares of people who opened, clicked, unsubscribed and
// replied, and of messages that bounced (replies and bounces found in the
// owner's inbox, when they let us read it);
// messages sent and opens and clicks over time, on an axis that fits how
// long they took (minutes for a campaign sent in a minute, days for one
// read over weeks); clicks per link; who opened or clicked. Machines (mail
// and link scanners) are counted apart and never listed as people.
import { html, useState, useEffect, useRef } from "preact-htm";
import { ApiError } from "app/api";
import { getReport, downloadReport } from "app/api/campaigns";
import { usePoll, most, live } from "app/live";
import { Loading, ErrorBox, Badge, plural, useLoad, when } from "app/ui";
import { rowStates } from "app/words";

// loadChart fetches Chart.js the first time a chart is drawn: most visits
// draw none, and it is the largest file after sign-in's.
let chartLib = null;
function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  chartLib = chartLib || new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = document.querySelector('meta[name="mm-chart"]').content;
    s.onload = () => resolve(window.Chart);
    s.onerror = () => {
      chartLib = null;
      s.remove();
      reject(new Error("The charts could not be loaded. Check your connection and reload the page."));
    };
    document.head.append(s);
  });
  return chartLib;
}

// units name a timeline's buckets, and say how one is labelled on the
// chart (in the person's own clocks: the report was asked in their zone).
const units = {
  minute: { per: "minute", label: (d) => d.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" }) },
  hour: { per: "hour", label: (d) => d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }) },
  day: { per: "day", label: (d) => d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) },
  week: { per: "week", label: (d) => "Week of " + d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) },
};

function BarChart({ label, timeline, series, stacked }) {
  const canvas = useRef(null);
  const [error, setError] = useState(null);
  const unit = units[timeline.unit] || units.hour;
  useEffect(() => {
    let chart = null;
    let gone = false;
    loadChart().then((Chart) => {
      if (gone || !canvas.current) return;
      chart = new Chart(canvas.current, {
        type: "bar",
        data: {
          labels: timeline.buckets.map((b) => unit.label(new Date(b.at))),
          datasets: series.map((s) => ({ label: s.label, data: timeline.buckets.map((b) => b[s.key] || 0), backgroundColor: s.color, stack: s.stack })),
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: {
            x: { stacked: !!stacked, ticks: { autoSkip: true, maxRotation: 0 } },
            y: { stacked: !!stacked, beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    }, setError);
    return () => {
      gone = true;
      if (chart) chart.destroy();
    };
  }, [timeline]);
  return html`<figure class="chart"><div class="canvas"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>
    <figcaption>${label}</figcaption><${ErrorBox} error=${error} /></figure>`;
}

// finish says how many messages are left and when they will have gone, from
// the server's estimate at the mailbox's limits.
function finish(status, pace) {
  if (!pace || !pace.remaining) return null;
  const limits = `Microsoft 365 lets one mailbox send ${pace.perMinute} messages a minute and ${pace.perDay.toLocaleString()} recipients a day`;
  if (!pace.finishBy) {
    return html`<p>${plural(pace.remaining, "message")} to go${status === "paused" ? " once you resume" : ""}. ${limits}.</p>`;
  }
  const at = new Date(pace.finishBy);
  const sameDay = at.toDateString() === new Date().toDateString();
  const shown = sameDay ? at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString(undefined, { weekday: "long", hour: "2-digit", minute: "2-digit" });
  return html`<p class="estimate">${plural(pace.remaining, "message")} to go: done around <strong>${shown}</strong>. ${limits}, so that is the earliest; being slowed down by Microsoft can make it later.</p>`;
}

const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

// Mailbox says what the replies and bounces are (read from the owner's
// inbox), or how to have them counted.
function Mailbox({ rep }) {
  const c = rep.counts || {};
  if (!rep.mailboxRead) {
    return html`<p class="note">Replies and bounces are counted when you let us read your mailbox: turn it on in <a href="#/privacy">Account and privacy</a>.</p>`;
  }
  const delayed = c.bouncedSoft ? ` ${plural(c.bouncedSoft, "of them was", "of them were")} only delayed and may still arrive.` : "";
  const listed = c.bounced > c.bouncedSoft ? " Addresses that could not be delivered to are on your unsubscribe list: no campaign of yours sends to them again." : "";
  return html`<p class="small">Replies and bounces come from your inbox: a reply from someone a message went to (automatic replies, such as out of office, left out), and reports from Microsoft 365 that a message could not be delivered.${delayed}${listed}</p>`;
}

// Rates shows the shares of the messages sent that people opened, clicked
// in, unsubscribed from and replied to, and that bounced; a kind that was
// not counted says so instead of showing 0%.
function Rates({ rep }) {
  const c = rep.counts || {};
  const r = rep.rates || {};
  if (!c.sent) return null;
  const off = !rep.trackOpens && !rep.trackClicks;
  const tile = (name, rate, n) => html`<li class="tile"><span class="n">${percent.format(rate)}</span><span>${name}</span>
    <span class="small">${(n || 0).toLocaleString()} of ${c.sent.toLocaleString()}</span></li>`;
  const replies = r.replies != null && html`${tile("Replied", r.replies, c.replied)}${tile("Bounced", r.bounces, c.bounced)}`;
  const listed = c.unsubscribed ? " Those who unsubscribed are on your unsubscribe list: no campaign of yours sends to them again." : "";
  if (off) {
    return html`<div class="card rates">
      <h2>How people responded</h2>
      <p class="note">Tracking was off for this campaign, so opens and clicks were not counted.</p>
      <p><strong>${percent.format(r.unsubscribes || 0)}</strong> unsubscribed: ${(c.unsubscribed || 0).toLocaleString()} of the ${plural(c.sent, "message")} sent.${listed}</p>
      ${replies && html`<ul class="tiles">${replies}</ul>`}
      <${Mailbox} rep=${rep} />
    </div>`;
  }
  return html`<div class="card rates">
    <h2>How people responded</h2>
    <ul class="tiles">
      ${rep.trackOpens && r.opens != null && tile("Opened", r.opens, rep.opens.human.unique)}
      ${rep.trackClicks && r.clicks != null && tile("Clicked", r.clicks, rep.clicks.human.unique)}
      ${r.unsubscribes != null && tile("Unsubscribed", r.unsubscribes, c.unsubscribed)}
      ${replies}
    </ul>
    ${!rep.trackOpens ? html`<p class="note">Tracking of opens was off for this campaign, so they were not counted.</p>`
      : !rep.trackClicks ? html`<p class="note">Tracking of clicks was off for this campaign, so they were not counted.</p>` : ""}
    <p class="small">Shares of the ${plural(c.sent, "message")} sent. People only: mail programs and security scanners that open and click on their own are counted apart.${listed}</p>
    <${Mailbox} rep=${rep} />
  </div>`;
}

// bounceWords say what a row's bounce was.
const bounceWords = { hard: "Not delivered", soft: "Delivery delayed" };

// People lists who opened, clicked or replied (never a machine), and
// whose message bounced: the first ones to have done so, as many as the
// service lists; the CSV has everyone.
function People({ rep, onDownload }) {
  const p = rep.people || { total: 0, rows: [] };
  const read = rep.mailboxRead;
  if (!rep.trackOpens && !rep.trackClicks && !read) return null;
  const did = [rep.trackOpens && "opened", rep.trackClicks && "clicked", read && "replied"].filter(Boolean);
  const what = did.length > 1 ? did.slice(0, -1).join(", ") + " or " + did[did.length - 1] : did[0];
  const bounced = read && (rep.counts || {}).bounced > 0;
  return html`<div class="card people">
    <h2 id="people-title">Who ${what}${bounced ? ", and messages that bounced" : ""}</h2>
    ${p.total === 0 ? html`<p>No one has ${what} yet.</p>` : html`
      <p>${plural(p.total, "person", "people")}${p.total > p.rows.length ? html`: here are the first ${p.rows.length.toLocaleString()} to have ${what}. <button type="button" class="link" onClick=${onDownload}>Download the report</button> for everyone.` : (bounced ? ", earliest first." : ", in the order they first " + what + ".")}</p>
      <div class="scroll" tabindex="0" role="region" aria-labelledby="people-title"><table class="stack">
        <thead><tr><th scope="col">Row</th><th scope="col">To</th>${rep.trackOpens && html`<th scope="col">First opened</th><th scope="col">Opens</th>`}${rep.trackClicks && html`<th scope="col">First clicked</th><th scope="col">Clicks</th>`}${read && html`<th scope="col">Replied</th>`}</tr></thead>
        <tbody>${p.rows.map((r) => html`<tr>
          <td data-label="Row">${r.row}</td><td class="url" data-label="To"><span>${r.to}${r.unsubscribedAt ? html`<br /><span class="small">Unsubscribed ${when(r.unsubscribedAt)}</span>` : ""}${r.bounce ? html`<br /><span class="small">${bounceWords[r.bounce] || "Bounced"} ${when(r.bouncedAt)}</span>` : ""}</span></td>
          ${rep.trackOpens && html`<td data-label="First opened">${when(r.firstOpenAt) || "Not opened"}</td><td data-label="Opens">${r.opens}</td>`}
          ${rep.trackClicks && html`<td data-label="First clicked">${when(r.firstClickAt) || "No click"}</td><td data-label="Clicks">${r.clicks}</td>`}
          ${read && html`<td data-label="Replied">${when(r.repliedAt) || "No reply"}</td>`}
        </tr>`)}</tbody></table></div>`}
    ${(rep.trackOpens || rep.trackClicks) && html`<p class="small">People only: opens and clicks by mail programs and security scanners are not listed.</p>`}
  </div>`;
}

// fileName is the CSV's name, as the service names it: the campaign's,
// without what a file name may not hold, then " - report.csv".
function fileName(name) {
  const base = Array.from(name || "").map((ch) => (/[\u0000-\u001f\u007f/\\:*?"<>|\s]/.test(ch) ? " " : ch)).join("")
    .split(" ").filter(Boolean).join(" ");
  const clipped = Array.from(base).slice(0, 100).join("").replace(/^[. ]+|[. ]+$/g, "");
  return (clipped || "Campaign") + " - report.csv";
}

// timeZone is the person's, so the report's hours, days and times are
// theirs.
function timeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

export function Report({ id }) {
  const zone = timeZone();
  // A zone the service does not know: its own default rather than no report.
  const load = () => getReport(id, { zone }).catch((err) => {
    if (err instanceof ApiError && err.code === "zone_invalid") return getReport(id);
    throw err;
  });
  const r = useLoad(load, [id]);
  const rep = r.data;
  const [saving, setSaving] = useState(null);
  // Followed by the one polling policy (app/live), no more often than
  // every 10 s: each look reads the campaign's events.
  usePoll(r.reload, rep, rep && live.includes(rep.status) ? most([rep]) : 0, 10000);
  if (r.loading && !rep) return html`<${Loading} what="the report" />`;
  if (!rep) return html`<section class="page"><${ErrorBox} error=${r.error} retry=${r.reload} /></section>`;
  const c = rep.counts || {};
  const tl = rep.timelines || { sent: { buckets: [] }, activity: { buckets: [] } };
  const sentPer = (units[tl.sent.unit] || units.hour).per;
  const activityPer = (units[tl.activity.unit] || units.hour).per;
  const notConfirmed = (rowStates.unknown && rowStates.unknown.name) || "Not confirmed";
  const tiles = [["Sent", c.sent], ["Failed", c.failed], ["Skipped", c.skipped], [notConfirmed, c.unknown]];
  const csv = () => {
    setSaving(null);
    downloadReport(id, { zone }, fileName(rep.name)).catch(setSaving);
  };
  return html`<section class="page report" aria-labelledby="report-title">
    <p class="crumbs"><a href="#/">Campaigns</a> › <a href=${"#/campaigns/" + encodeURIComponent(id)}>${rep.name}</a></p>
    <div class="title"><h1 id="report-title">Report: ${rep.name}</h1><${Badge} status=${rep.status} /></div>
    <${ErrorBox} error=${r.error} />
    <ul class="tiles">${tiles.map(([k, v]) => html`<li class="tile"><span class="n">${(v || 0).toLocaleString()}</span><span>${k}</span></li>`)}</ul>
    ${c.unknown > 0 && html`<p class="warn">${notConfirmed}: Microsoft 365 gave no clear answer, so these may have been sent. Check your Sent Items before sending them again.</p>`}
    ${finish(rep.status, rep.pace)}
    <${Rates} rep=${rep} />
    <div class="card">
      <h2>Messages sent per ${sentPer}</h2>
      ${tl.sent.buckets.length ? html`<${BarChart} label=${"Messages sent per " + sentPer} timeline=${tl.sent} series=${[{ label: "Sent", key: "sent", color: "#0f5ea8" }]} />` : html`<p>Nothing sent yet.</p>`}
    </div>
    ${(rep.trackOpens || rep.trackClicks) && html`<div class="card">
      <h2>Opens and clicks</h2>
      <p>${rep.trackOpens ? html`Opens: ${plural(rep.opens.human.unique, "person", "people")} (${rep.opens.human.total} in all), plus ${rep.opens.automated.total} by mail scanners. ` : ""}
        ${rep.trackClicks ? html`Clicks: ${plural(rep.clicks.human.unique, "person", "people")} (${rep.clicks.human.total} in all), plus ${rep.clicks.automated.total} by link scanners.` : ""}</p>
      ${tl.activity.buckets.length > 0 && html`<${BarChart} label=${"Opens and clicks per " + activityPer + ", people and scanners apart"} timeline=${tl.activity} stacked=${true}
        series=${[
          { label: "Opens by people", key: "opens", color: "#2e7d32", stack: "opens" },
          { label: "Opens by scanners", key: "automatedOpens", color: "#a5d6a7", stack: "opens" },
          { label: "Clicks by people", key: "clicks", color: "#b35c00", stack: "clicks" },
          { label: "Clicks by scanners", key: "automatedClicks", color: "#f3c99a", stack: "clicks" },
        ]} />`}
      ${(rep.links || []).length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Clicks per link"><table class="stack links"><caption>Clicks per link</caption>
        <thead><tr><th scope="col">Link</th><th scope="col">People</th><th scope="col">Clicks</th><th scope="col">Scanners</th></tr></thead>
        <tbody>${rep.links.map((l) => html`<tr><td class="url" data-label="Link">${l.url}</td><td data-label="People">${l.human.unique}</td><td data-label="Clicks">${l.human.total}</td><td data-label="Scanners">${l.automated.total}</td></tr>`)}</tbody></table></div>`}
      <p class="small">Mail programs and security scanners open and click on their own; we count them apart, and they can also hide a real open.</p>
    </div>`}
    <${People} rep=${rep} onDownload=${csv} />
    <button type="button" class="secondary" onClick=${csv}>Download the report (CSV)</button>
    <${ErrorBox} error=${saving} />
  </section>`;
}
