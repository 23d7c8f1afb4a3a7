// One polling policy for every screen that follows campaigns (the
// campaign's page, the list, the task pane): one small request per look;
// every 2 s while a campaign starts or sends, so a change shows within
// 2 s; backing off (2 s, 3 s, 4.5 s…) only while nothing changes, to 5 s
// while it waits for its email, its review or its start time, and to 15 s
// while its sending hours are closed; not at all once it has settled.
import { useRef, useEffect } from "preact-htm";
import { useLoad } from "app/ui";
import { getCampaign, getData } from "app/api/campaigns";

export const live = ["queued", "sending"];
const waiting = ["ready", "review", "scheduled"];

// most is the longest wait between two looks at these campaigns, 0 when
// none of them can change by itself. processing: a spreadsheet is being
// read.
export function most(campaigns, processing = false) {
  let ms = processing ? 2000 : 0;
  const take = (v) => { ms = ms === 0 ? v : Math.min(ms, v); };
  for (const c of campaigns) {
    if (!c) continue;
    if (live.includes(c.status)) take(c.nextWindowAt ? 15000 : 2000);
    else if (waiting.includes(c.status)) take(5000);
  }
  return ms;
}

// usePoll calls reload while longest > 0: shortest (2 s) after what it
// loaded (loaded, a new object on each load) changed, longer each time it
// did not, up to longest. A heavier read (the report) sets a longer
// shortest.
export function usePoll(reload, loaded, longest, shortest = 2000) {
  const delay = useRef(shortest);
  const last = useRef("");
  useEffect(() => {
    if (!longest || !loaded) return undefined;
    const sig = JSON.stringify(loaded);
    delay.current = sig === last.current ? Math.min(delay.current * 1.5, Math.max(longest, shortest)) : shortest;
    last.current = sig;
    const t = setTimeout(reload, delay.current);
    return () => clearTimeout(t);
  }, [loaded, longest]);
}

// useCampaign loads a campaign and its spreadsheet's report, and follows
// them by the policy above: one request a look (the campaign, whose
// counts are kept as it goes), and the report only while it is being
// read. c is null until the campaign with this id is loaded (another
// campaign's page starts afresh, not with the last one's).
export function useCampaign(id) {
  const view = useLoad(() => (id ? getCampaign(id) : Promise.resolve(null)), [id]);
  const data = useLoad(() => (id ? getData(id) : Promise.resolve(null)), [id]);
  const c = view.data && view.data.id === id ? view.data : null;
  const d = data.data;
  const processing = !!(d && d.status === "processing");
  usePoll(() => { view.reload(); if (processing) data.reload(); }, c, c ? most([c], processing) : 0);
  return { c, d, view, data, reload: () => { view.reload(); data.reload(); } };
}
