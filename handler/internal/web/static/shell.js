// The app's frame: sign-in, then the pages, routed by the URL's hash so
// that every page has an address that reloads to itself. The dashboard
// (main.js) and the Outlook add-in's task pane (addin/main.js) both run
// it; the pane brings its own home page and its own sign-in ("app/auth"
// is mapped to addin/auth.js in its import map).
import { html, useState, useEffect } from "preact-htm";
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

function Nav({ at, home }) {
  const links = home
    ? [["#/", home.label, at === ""], ["#/campaigns", "Campaigns", at === "campaigns"]]
    : [["#/", "Campaigns", at === "" || at === "campaigns"]];
  links.push(["#/suppressions", "Unsubscribes", at === "suppressions"], ["#/privacy", "Account & privacy", at === "privacy"]);
  return html`<nav aria-label="Main">
    ${links.map(([href, label, current]) => html`<a href=${href} aria-current=${current ? "page" : undefined}>${label}</a>`)}
  </nav>`;
}

function Shell({ me, home }) {
  const r = useRoute();
  const at = r[0] || "";
  let page;
  if (at === "campaigns" && r[1] && r[2] === "report") page = html`<${Report} id=${r[1]} />`;
  else if (at === "campaigns" && r[1]) page = html`<${Campaign} id=${r[1]} />`;
  else if (at === "suppressions") page = html`<${Suppressions} />`;
  else if (at === "privacy") page = html`<${Privacy} me=${me} />`;
  else if (home && at !== "campaigns") page = html`<${home} me=${me} />`;
  else page = html`<${Campaigns} />`;
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById("main").focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Mail Merge</a>
      <${Nav} at=${at} home=${home} />
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

// App signs in, then shows the pages. open returns the account (the
// dashboard's reads it, creating it on the first visit); home is the
// page at "#/" (the campaigns list when absent).
export function App({ open = account, home }) {
  const [state, setState] = useState({ phase: "starting" });
  const load = () => {
    setState({ phase: "starting" });
    start()
      .then((acct) => {
        if (!acct) return setState({ phase: "signed-out" });
        return open().then((me) => setState({ phase: "ready", acct, me }));
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
  return html`<${Shell} me=${state.me} home=${home} />`;
}
