// Every API call about campaigns, in one place: no page or component names
// a path of its own.
import { get, call, upload, download } from "app/api";

// query writes params (absent, "" and null left out) as a query string.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

export const campaignPath = (id) => "/v1/campaigns/" + encodeURIComponent(id);

export const listCampaigns = (params) => get("/v1/campaigns" + query(params));
export const getCampaign = (id) => get(campaignPath(id));
export const createCampaign = (body) => call("POST", "/v1/campaigns", body);
export const changeCampaign = (id, body) => call("PATCH", campaignPath(id), body);
export const deleteCampaign = (id) => call("DELETE", campaignPath(id));
export const copyCampaign = (id, body) => call("POST", campaignPath(id) + "/copy", body);
export const newAddress = (id) => call("POST", campaignPath(id) + "/address");

export const getData = (id) => get(campaignPath(id) + "/data");
export const uploadData = (id, file, onProgress) => upload(campaignPath(id) + "/data", file, onProgress);
export const reuseData = (id, body) => call("POST", campaignPath(id) + "/data/reuse", body);

export const preview = (id, body) => call("POST", campaignPath(id) + "/preview", body || {});
export const sendTest = (id, body) => call("POST", campaignPath(id) + "/test", body || {});
export const listRecipients = (id, params) => get(campaignPath(id) + "/recipients" + query(params));
export const correctRow = (id, row, body) => call("PATCH", campaignPath(id) + "/recipients/" + row, body);

export const getReport = (id, params) => get(campaignPath(id) + "/report" + query(params));
export const downloadReport = (id, params, name) => download(campaignPath(id) + "/report" + query({ format: "csv", ...params }), name);

// start starts now (no body) or at a time ({ at }).
export const startCampaign = (id, body) => call("POST", campaignPath(id) + "/start", body || {});
export const pauseCampaign = (id) => call("POST", campaignPath(id) + "/pause");
export const resumeCampaign = (id) => call("POST", campaignPath(id) + "/resume");
export const cancelCampaign = (id) => call("POST", campaignPath(id) + "/cancel");
