// Every API call about the signed-in person's account and data.
import { get, call, download } from "app/api";

export const getMe = () => get("/v1/me");
export const changeMe = (body) => call("PATCH", "/v1/me", body);
export const deleteMe = () => call("DELETE", "/v1/me");
export const install = (body) => call("POST", "/v1/install", body);
export const whatWeKeep = () => get("/v1/me/data");
export const downloadExport = (name) => download("/v1/me/export", name);
