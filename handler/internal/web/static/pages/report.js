// A campaign's report: how many were sent, failed, skipped or unknown;
// messages per hour (the mailbox's pace, and when the rest will go);
// opens and clicks per hour, people and machines apart; clicks per link.
import { html, useState, useEffect, useRef } from "preact-htm";
import { get, download } from "app/api";
import { Loading, ErrorBox, Badge, plural, useLoad } from "app/ui";

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

function BarChart({ label, hours, series, stacked }) {
  const canvas = useRef(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let chart = null;
    let gone = false;
    loadChart().then((Chart) => {
      if (gone || !canvas.current) return;
      chart = new Chart(canvas.current, {
        type: "bar",
        data: {
          labels: hours.map((h) => new Date(h.hour).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit" })),
          datasets: series.map((s) => ({ label: s.label, data: hours.map((h) => h[s.key] || 0), backgroundColor: s.color, stack: s.stack })),
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: !!stacked }, y: { stacked: !!stacked, beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    }, setError);
    return () => {
      gone = true;
      if (chart) chart.destroy();
    };
  }, [hours]);
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

export function Report({ id }) {
  const path = "/v1/campaigns/" + encodeURIComponent(id);
  const r = useLoad(() => get(path + "/report"), [id]);
  const rep = r.data;
  useEffect(() => {
    if (!rep || !["queued", "sending"].includes(rep.status)) return undefined;
    const t = setTimeout(r.reload, 10000);
    return () => clearTimeout(t);
  }, [rep]);
  if (r.loading && !rep) return html`<${Loading} what="the report" />`;
  if (!rep) return html`<section class="page"><${ErrorBox} error=${r.error} retry=${r.reload} /></section>`;
  const c = rep.counts || {};
  const hours = rep.hours || [];
  const tiles = [["Sent", c.sent], ["Failed", c.failed], ["Skipped", c.skipped], ["Unknown", c.unknown]];
  return html`<section class="page" aria-labelledby="report-title">
    <p class="crumbs"><a href="#/">Campaigns</a> › <a href=${"#/campaigns/" + encodeURIComponent(id)}>${rep.name}</a></p>
    <div class="title"><h1 id="report-title">Report: ${rep.name}</h1><${Badge} status=${rep.status} /></div>
    <${ErrorBox} error=${r.error} />
    <ul class="tiles">${tiles.map(([k, v]) => html`<li class="tile"><span class="n">${(v || 0).toLocaleString()}</span><span>${k}</span></li>`)}</ul>
    ${c.unknown > 0 && html`<p class="warn">Unknown: Microsoft 365 gave no clear answer, so these may have been sent. Check your Sent Items before sending them again.</p>`}
    ${finish(rep.status, rep.pace)}
    <div class="card">
      <h2>Messages sent per hour</h2>
      ${hours.length ? html`<${BarChart} label="Messages sent per hour" hours=${hours} series=${[{ label: "Sent", key: "sent", color: "#0f5ea8" }]} />` : html`<p>Nothing sent yet.</p>`}
    </div>
    ${(rep.trackOpens || rep.trackClicks) && html`<div class="card">
      <h2>Opens and clicks</h2>
      <p>${rep.trackOpens ? html`Opens: ${plural(rep.opens.human.unique, "person", "people")} (${rep.opens.human.total} in all), plus ${rep.opens.automated.total} by mail scanners. ` : ""}
        ${rep.trackClicks ? html`Clicks: ${plural(rep.clicks.human.unique, "person", "people")} (${rep.clicks.human.total} in all), plus ${rep.clicks.automated.total} by link scanners.` : ""}</p>
      ${hours.length > 0 && html`<${BarChart} label="Opens and clicks per hour, people and scanners apart" hours=${hours} stacked=${true}
        series=${[
          { label: "Opens by people", key: "opens", color: "#2e7d32", stack: "opens" },
          { label: "Opens by scanners", key: "automatedOpens", color: "#a5d6a7", stack: "opens" },
          { label: "Clicks by people", key: "clicks", color: "#b35c00", stack: "clicks" },
          { label: "Clicks by scanners", key: "automatedClicks", color: "#f3c99a", stack: "clicks" },
        ]} />`}
      ${(rep.links || []).length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Clicks per link"><table class="stack"><caption>Clicks per link</caption>
        <thead><tr><th scope="col">Link</th><th scope="col">People</th><th scope="col">Clicks</th><th scope="col">Scanners</th></tr></thead>
        <tbody>${rep.links.map((l) => html`<tr><td class="url" data-label="Link">${l.url}</td><td data-label="People">${l.human.unique}</td><td data-label="Clicks">${l.human.total}</td><td data-label="Scanners">${l.automated.total}</td></tr>`)}</tbody></table></div>`}
      <p class="small">Mail programs and security scanners open and click on their own; we count them apart, and they can also hide a real open.</p>
    </div>`}
    <button type="button" class="secondary" onClick=${() => download(path + "/report?format=csv", "report.csv")}>Download the report (CSV)</button>
  </section>`;
}
