// The app's frame: sign-in, then the pages, routed by the URL's hash so
// that every page has an address that reloads to itself. The dashboard
// (main.js) and the Outlook add-in's task pane (addin/main.js) both run
// it; the pane brings its own home page and its own sign-in ("app/auth"
// is mapped to addin/auth.js in its import map).
import { html, useState, useEffect } from "preact-htm";
import { start, signIn, signOut } from "app/auth";
import { ApiError } from "app/api";
import { getMe, install } from "app/api/account";
import { Loading, ErrorBox } from "app/ui";
import { AccountDeleted, deletion, forgetDeletion } from "app/components/deleted";

// The pages load when first shown: the first load carries the sign-in and
// the frame, not every page.
const pages = {
  Campaigns: () => import("app/pages/campaigns"),
  Campaign: () => import("app/pages/campaign"),
  Report: () => import("app/pages/report"),
  Suppressions: () => import("app/pages/suppressions"),
  Privacy: () => import("app/pages/privacy"),
};
const loaded = {};

// Page shows the named page with its props once its module is in.
function Page({ name, ...props }) {
  const [, setLoaded] = useState(0);
  const [error, setError] = useState(null);
  const load = () => {
    setError(null);
    pages[name]().then((m) => { loaded[name] = m; setLoaded((n) => n + 1); }, setError);
  };
  useEffect(() => { if (!loaded[name]) load(); }, [name]);
  if (error) return html`<${ErrorBox} error=${new Error("This page could not be loaded. Check your connection.")} retry=${load} />`;
  const m = loaded[name];
  if (!m) return html`<${Loading} />`;
  const C = m[name];
  return html`<${C} ...${props} />`;
}

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
  if (at === "campaigns" && r[1] && r[2] === "report") page = html`<${Page} name="Report" id=${r[1]} />`;
  else if (at === "campaigns" && r[1]) page = html`<${Page} name="Campaign" id=${r[1]} />`;
  else if (at === "suppressions") page = html`<${Page} name="Suppressions" />`;
  else if (at === "privacy") page = html`<${Page} name="Privacy" me=${me} />`;
  else if (home && at !== "campaigns") page = html`<${home} me=${me} />`;
  else page = html`<${Page} name="Campaigns" />`;
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
    return await getMe();
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "account_not_found") throw err;
    await install({ host: "web", platform: navigator.platform || "browser" });
    return getMe();
  }
}

// gone reports whether the signed-in person's account is deleted or
// being deleted.
async function gone() {
  try {
    return (await getMe()).status === "deleting";
  } catch (err) {
    if (err instanceof ApiError && err.code === "account_not_found") return true;
    throw err;
  }
}

// App signs in, then shows the pages. open returns the account (the
// dashboard's reads it, creating it on the first visit); home is the
// page at "#/" (the campaigns list when absent). After the account was
// deleted in this browser, it says so (privacy.js) and starts a new
// account only when the person asks (fresh), not on sign-in alone.
export function App({ open = account, home }) {
  const [state, setState] = useState({ phase: "starting" });
  const load = (fresh = false) => {
    setState({ phase: "starting" });
    start()
      .then(async (acct) => {
        if (deletion() && !fresh && (!acct || (await gone()))) return setState({ phase: "deleted", acct });
        if (!acct) return setState({ phase: "signed-out" });
        forgetDeletion();
        const me = await open();
        if (me.status === "deleting") return setState({ phase: "deleted", acct, finishing: true });
        setState({ phase: "ready", acct, me });
      })
      .catch((error) => setState({ phase: "error", error }));
  };
  useEffect(() => load(), []);
  if (state.phase === "starting") return html`<${Loading} what="your account" />`;
  if (state.phase === "signed-out") return html`<${SignIn} />`;
  if (state.phase === "deleted") {
    const again = () => {
      forgetDeletion();
      if (state.acct) load(true);
      else signIn();
    };
    return html`<${AccountDeleted} finishing=${state.finishing} onStart=${again} />`;
  }
  if (state.phase === "error") {
    return html`<main class="signin"><h1>Mail Merge</h1><${ErrorBox} error=${state.error} retry=${() => load()} />
      <button type="button" class="secondary" onClick=${() => signIn()}>Sign in again</button></main>`;
  }
  return html`<${Shell} me=${state.me} home=${home} />`;
}
