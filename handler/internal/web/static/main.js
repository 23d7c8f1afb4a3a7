// The dashboard: the app's frame with the campaigns list at "#/".
import { html, render } from "preact-htm";
import { App } from "app/shell";

render(html`<${App} />`, document.getElementById("app"));
