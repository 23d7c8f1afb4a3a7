// The web app: sign-in, then the dashboard's pages, routed by the URL's
// hash so that every page has an address that reloads to itself.
import { html, render, useState, useEffect } from "preact-htm";
import { start, signIn, signOut } from "app/auth";
import { get, call, ApiError } from "app/api";
import { Loading, ErrorBox } from "app/ui";
import { Campaigns } from "app/pages/campaigns";
import { Campaign } from "app/pages/campaign";
import { Report } from "app/pages/report";
import { Suppressions } from "app/pages/suppressions";
import { Privacy } from "app/pages/privacy";

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return parts;
}

function useRoute() {
  const [r, setR] = useState(route());
  useEffect(() => {
    // A new page: back to the top, and the keyboard's and screen
    // readers' focus to the page's content (a link click left it on a
    // link that may be gone).
    const on = () => {
      setR(route());
      window.scrollTo(0, 0);
      const main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    };
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return r;
}

function SignIn({ error }) {
  return html`<main class="signin">
    <h1><img src=${document.querySelector('link[rel="icon"]').href} alt="" width="40" height="40" /> Mail Merge</h1>
    <p>Send one personal email to every row of a spreadsheet, from your own Microsoft 365 mailbox.</p>
    <${ErrorBox} error=${error} />
    <button type="button" class="primary" onClick=${() => signIn()}>Sign in with Microsoft</button>
    <p class="small">We keep as little as we can, and you can see, download, correct and delete all of it.</p>
  </main>`;
}

function Nav({ at }) {
  const links = [["#/", "Campaigns", at === "" || at === "campaigns"], ["#/suppressions", "Unsubscribes", at === "suppressions"], ["#/privacy", "Account & privacy", at === "privacy"]];
  return html`<nav aria-label="Main">
    ${links.map(([href, label, current]) => html`<a href=${href} aria-current=${current ? "page" : undefined}>${label}</a>`)}
  </nav>`;
}

function Shell({ me, account }) {
  const r = useRoute();
  const at = r[0] || "";
  let page;
  if (at === "campaigns" && r[1] && r[2] === "report") page = html`<${Report} id=${r[1]} />`;
  else if (at === "campaigns" && r[1]) page = html`<${Campaign} id=${r[1]} />`;
  else if (at === "suppressions") page = html`<${Suppressions} />`;
  else if (at === "privacy") page = html`<${Privacy} me=${me} />`;
  else page = html`<${Campaigns} />`;
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Mail Merge</a>
      <${Nav} at=${at} />
      <div class="who">
        <span class="email" title=${me.email}>${me.email}</span>
        <button type="button" class="link" onClick=${() => signOut()}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${page}</main>`;
}

// The account: read it, or create it on the first visit (install).
async function account() {
  try {
    return await get("/v1/me");
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "account_not_found") throw err;
    await call("POST", "/v1/install", { host: "web", platform: navigator.platform || "browser" });
    return get("/v1/me");
  }
}

function App() {
  const [state, setState] = useState({ phase: "starting" });
  const load = () => {
    setState({ phase: "starting" });
    start()
      .then((acct) => {
        if (!acct) return setState({ phase: "signed-out" });
        return account().then((me) => setState({ phase: "ready", acct, me }));
      })
      .catch((error) => setState({ phase: "error", error }));
  };
  useEffect(load, []);
  if (state.phase === "starting") return html`<${Loading} what="your account" />`;
  if (state.phase === "signed-out") return html`<${SignIn} />`;
  if (state.phase === "error") {
    return html`<main class="signin"><h1>Mail Merge</h1><${ErrorBox} error=${state.error} retry=${load} />
      <button type="button" class="secondary" onClick=${() => signIn()}>Sign in again</button></main>`;
  }
  return html`<${Shell} me=${state.me} account=${state.acct} />`;
}

render(html`<${App} />`, document.getElementById("app"));
