// Sign-in inside Outlook, with the same interface as the dashboard's
// app/auth (the task pane's import map points "app/auth" here).
//
// Nested app authentication first, as Microsoft recommends for Outlook
// add-ins: MSAL.js asks Outlook, which already holds the person's session,
// for a token for our API. Where Outlook cannot (NestedAppAuth 1.1 not
// supported, older clients, Outlook.com), the Office dialog API opens our
// sign-in page (addin/dialog.js), which signs in with MSAL.js as the
// dashboard does and hands the token back to the pane.
import { scopes, msalConfig, refusal } from "app/signin";

export { scopes };

const config = msalConfig("localStorage");

// bridgeWait bounds how long Outlook's broker may take to answer the
// first question; MSAL.js would wait for ever.
const bridgeWait = 10000;

let pca = null;
let nested = false;
// The token the sign-in dialog handed over, kept for this session in
// case this pane cannot read the dialog's MSAL cache.
const dialogKey = "mm-dialog-token";
const signedOutKey = "mm-signed-out";

function dialogToken() {
  try {
    const t = JSON.parse(sessionStorage.getItem(dialogKey) || "null");
    return t && t.expires > Date.now() + 60000 ? t.token : null;
  } catch {
    return null;
  }
}

function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);
}

// officeInfo is Office.onReady's answer: the host and the platform.
export const officeInfo = new Promise((resolve) => {
  if (window.Office) Office.onReady((info) => resolve(info || {}));
  else resolve({});
});

export async function start() {
  await officeInfo;
  nested = !!(window.Office && Office.context && Office.context.requirements &&
    Office.context.requirements.isSetSupported("NestedAppAuth", "1.1"));
  if (nested) {
    try {
      pca = await withTimeout(msal.createNestablePublicClientApplication(config), bridgeWait, "Outlook did not answer the sign-in request.");
    } catch {
      nested = false;
    }
  }
  if (!pca) {
    pca = new msal.PublicClientApplication(config);
    await pca.initialize();
  }
  // Signed out here: Outlook would sign us in again at once.
  if (sessionStorage.getItem(signedOutKey)) return null;
  if (dialogToken()) return { username: "" };
  try {
    const r = await pca.acquireTokenSilent({ scopes, account: pca.getActiveAccount() || pca.getAllAccounts()[0] });
    pca.setActiveAccount(r.account);
    return r.account;
  } catch {
    return null;
  }
}

// signIn asks the person: through Outlook when it can, otherwise in the
// Office sign-in dialog. The page then starts again, signed in.
export async function signIn() {
  sessionStorage.removeItem(signedOutKey);
  if (nested) {
    const r = await pca.acquireTokenPopup({ scopes });
    pca.setActiveAccount(r.account);
    location.reload();
    return;
  }
  sessionStorage.setItem(dialogKey, JSON.stringify(await dialog()));
  location.reload();
}

// dialog opens addin/dialog (with query, when given) in the Office dialog
// and waits for its answer.
function dialog(query = "") {
  return new Promise((resolve, reject) => {
    Office.context.ui.displayDialogAsync(location.origin + "/addin/dialog" + query, { height: 60, width: 30 }, (res) => {
      if (res.status !== "succeeded") {
        reject(new Error("The sign-in window could not open: " + ((res.error && res.error.message) || "allow pop-ups for Outlook and try again.")));
        return;
      }
      const d = res.value;
      d.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        // Only our sign-in page answers. The dialog may have come to show
        // a page of another origin (one the sign-in led to), which can
        // call messageParent too: what it sends is ignored. Outlook gives
        // the origin from DialogOrigin 1.1; before it, only a page of the
        // pane's own domain could send at all.
        const known = Office.context.requirements.isSetSupported("DialogOrigin", "1.1");
        if (known ? arg.origin !== location.origin : arg.origin !== undefined && arg.origin !== location.origin) return;
        d.close();
        let m = {};
        try { m = JSON.parse(arg.message); } catch { /* answered below */ }
        if (m.granted) resolve({ granted: true });
        else if (m.accessToken) resolve({ token: m.accessToken, expires: Date.parse(m.expiresOn) || Date.now() + 30 * 60000 });
        else reject(Object.assign(new Error(m.error || "Sign-in did not finish. Try again."), { admin: !!m.admin, declined: !!m.declined }));
      });
      d.addEventHandler(Office.EventType.DialogEventReceived, (arg) => {
        // 12006: the person closed the dialog.
        reject(new Error(arg.error === 12006 ? "Sign-in was cancelled." : "Sign-in stopped (" + arg.error + "). Try again."));
      });
    });
  });
}

// signOut forgets the account here; Outlook's own session stays.
export async function signOut() {
  sessionStorage.removeItem(dialogKey);
  const a = pca && pca.getActiveAccount();
  if (a && !nested) await pca.clearCache({ account: a });
  sessionStorage.setItem(signedOutKey, "1");
  location.hash = "#/";
  location.reload();
}

// token is an access token for the API, renewed silently.
export async function token() {
  const handed = dialogToken();
  if (handed) return handed;
  try {
    const r = await pca.acquireTokenSilent({ scopes, account: pca.getActiveAccount() || undefined });
    return r.accessToken;
  } catch (err) {
    if (nested && err instanceof msal.InteractionRequiredAuthError) {
      const r = await pca.acquireTokenPopup({ scopes });
      return r.accessToken;
    }
    throw err;
  }
}

// consent makes sure the person allowed this app a Microsoft permission
// beyond signing in (incremental consent), as the dashboard's does, but
// without leaving the pane: through Outlook when it signs in for us,
// otherwise in the sign-in dialog. It resolves true once the permission
// is there; refused, it throws an error saying whether the person
// declined (declined) or only their administrator may allow it (admin).
// again asks even when Microsoft remembers a permission (our service
// found it missing).
export async function consent(scope, again = false) {
  const account = pca.getActiveAccount() || pca.getAllAccounts()[0];
  if (!again && account) {
    try {
      await pca.acquireTokenSilent({ scopes: [scope], account, cacheLookupPolicy: nested ? undefined : msal.CacheLookupPolicy.AccessTokenAndRefreshToken });
      return true;
    } catch {
      // Microsoft asks below.
    }
  }
  if (nested) {
    try {
      await pca.acquireTokenPopup({ scopes: [scope], prompt: again ? "consent" : undefined });
    } catch (err) {
      throw Object.assign(new Error(err && err.message ? err.message : String(err)), refusal(err));
    }
    return true;
  }
  await dialog("?consent=" + encodeURIComponent(scope) + (again ? "&again=1" : ""));
  return true;
}

// consentReturned: the pane never leaves for Microsoft's page, so no
// permission comes back to it that way.
export function consentReturned() {
  return null;
}
