// The Outlook add-in's task pane: the app's frame, as in the dashboard,
// with "This message" as its home page. Opening it tells us about the
// Outlook it runs in (POST /v1/install: creates the account on first use,
// keeps a short-lived debug entry, and stores the grant to send).
import { html, render } from "preact-htm";
import { App } from "app/shell";
import { officeInfo } from "app/auth";
import { settings } from "app/signin";
import { getMe, install } from "app/api/account";
import { Pane } from "app/addin/pane";

async function open() {
  const info = await officeInfo;
  const diag = (window.Office && Office.context && Office.context.diagnostics) || {};
  const installed = await install({
    host: "outlook", platform: String(info.platform || diag.platform || ""), hostVersion: String(diag.version || ""),
    addinVersion: settings.addinVersion,
  });
  const me = await getMe();
  return { ...me, graph: installed.graph };
}

Pane.label = "This message";
render(html`<${App} open=${open} home=${Pane} />`, document.getElementById("app"));
