// A campaign's report: how many were sent, failed, skipped or unknown;
// messages per hour (the mailbox's pace, and when the rest will go);
// opens and clicks per hour, people and machines apart; clicks per link.
import { html, useEffect, useRef } from "preact-htm";
import { get, download } from "app/api";
import { Loading, ErrorBox, Badge, plural, useLoad } from "app/ui";

// perMinute is Exchange Online's limit the service paces to.
const perMinute = 30;

function BarChart({ label, hours, series }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!window.Chart || !canvas.current) return undefined;
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: hours.map((h) => new Date(h.hour).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit" })),
        datasets: series.map((s) => ({ label: s.label, data: hours.map((h) => h[s.key] || 0), backgroundColor: s.color })),
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    return () => chart.destroy();
  }, [hours]);
  return html`<figure class="chart"><div class="canvas"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div><figcaption>${label}</figcaption></figure>`;
}

function finish(counts) {
  const left = (counts.pending || 0) + (counts.sending || 0);
  if (!left) return null;
  const minutes = Math.ceil(left / perMinute);
  const at = new Date(Date.now() + minutes * 60000);
  return html`<p>${plural(left, "message")} to go: at ${perMinute} a minute (Microsoft 365's limit for one mailbox),
    about ${minutes < 60 ? plural(minutes, "minute") : plural(Math.round(minutes / 60), "hour")}, done around ${at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}.</p>`;
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
    ${finish(c)}
    <div class="card">
      <h2>Messages sent per hour</h2>
      ${hours.length ? html`<${BarChart} label="Messages sent per hour" hours=${hours} series=${[{ label: "Sent", key: "sent", color: "#0f5ea8" }]} />` : html`<p>Nothing sent yet.</p>`}
    </div>
    ${(rep.trackOpens || rep.trackClicks) && html`<div class="card">
      <h2>Opens and clicks</h2>
      <p>${rep.trackOpens ? html`Opens: ${plural(rep.opens.human.unique, "person", "people")} (${rep.opens.human.total} in all), plus ${rep.opens.automated.total} by mail scanners. ` : ""}
        ${rep.trackClicks ? html`Clicks: ${plural(rep.clicks.human.unique, "person", "people")} (${rep.clicks.human.total} in all), plus ${rep.clicks.automated.total} by link scanners.` : ""}</p>
      ${hours.length > 0 && html`<${BarChart} label="People's opens and clicks per hour" hours=${hours}
        series=${[{ label: "Opens", key: "opens", color: "#2e7d32" }, { label: "Clicks", key: "clicks", color: "#b35c00" }]} />`}
      ${(rep.links || []).length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Clicks per link"><table><caption>Clicks per link</caption>
        <thead><tr><th scope="col">Link</th><th scope="col">People</th><th scope="col">Clicks</th><th scope="col">Scanners</th></tr></thead>
        <tbody>${rep.links.map((l) => html`<tr><td class="url">${l.url}</td><td>${l.human.unique}</td><td>${l.human.total}</td><td>${l.automated.total}</td></tr>`)}</tbody></table></div>`}
      <p class="small">Mail programs and security scanners open and click on their own; we count them apart, and they can also hide a real open.</p>
    </div>`}
    <button type="button" class="secondary" onClick=${() => download(path + "/report?format=csv", "report.csv")}>Download the report (CSV)</button>
  </section>`;
}
