// Every API call about the unsubscribe list.
import { get, call } from "app/api";
import { query } from "app/api/campaigns";

export const listSuppressions = (params) => get("/v1/suppressions" + query(params));
export const addSuppressions = (addresses) => call("POST", "/v1/suppressions", { addresses });
// removeSuppression takes an address, or the key an entry without one has.
export const removeSuppression = (addressOrKey) => call("DELETE", "/v1/suppressions/" + encodeURIComponent(addressOrKey));
