// Sign-in with MSAL.js: authorization code with PKCE against the
// deployment's Entra authority; and a permission beyond signing in asked
// for when a feature needs it (consent: incremental consent).
import { scopes, msalConfig, refusal } from "app/signin";

export { scopes };

const pca = new msal.PublicClientApplication(msalConfig("sessionStorage"));

// A permission asked for on Microsoft's page (consent) is remembered
// across the trip there and back; consentReturned says how it went.
const consentKey = "mm-consent";
let consentBack = null;

// start finishes a sign-in that just came back and returns the signed-in
// account, or null. A permission refused on the way back (the person
// declined, or only their administrator may allow it) leaves the sign-in
// as it was.
export async function start() {
  await pca.initialize();
  let back = null;
  const asked = sessionStorage.getItem(consentKey);
  try {
    back = await pca.handleRedirectPromise();
  } catch (err) {
    if (!asked) throw err;
    consentBack = { scope: JSON.parse(asked).scope, granted: false, ...refusal(err) };
  }
  if (asked && !consentBack) {
    const scope = JSON.parse(asked).scope;
    consentBack = { scope, granted: !!(back && back.scopes && back.scopes.some((s) => s.toLowerCase() === scope.toLowerCase())) };
  }
  sessionStorage.removeItem(consentKey);
  if (back && back.account) {
    pca.setActiveAccount(back.account);
  } else if (!pca.getActiveAccount() && pca.getAllAccounts().length > 0) {
    pca.setActiveAccount(pca.getAllAccounts()[0]);
  }
  return pca.getActiveAccount();
}

export function signIn() {
  return pca.loginRedirect({ scopes, prompt: "select_account" });
}

export function signOut() {
  return pca.logoutRedirect({ account: pca.getActiveAccount() });
}

// token is an access token for the API, renewed silently; when that
// needs the person, it goes to sign-in and comes back.
export async function token() {
  try {
    const r = await pca.acquireTokenSilent({ scopes, account: pca.getActiveAccount() });
    return r.accessToken;
  } catch (err) {
    if (err instanceof msal.InteractionRequiredAuthError) {
      await pca.acquireTokenRedirect({ scopes });
    }
    throw err;
  }
}

// consent makes sure the person allowed this app a Microsoft permission
// beyond signing in (incremental consent): silently when they already
// have; otherwise the browser goes to Microsoft's page, which asks them,
// and comes back to this page, where consentReturned tells how it went.
// It resolves true when the permission is there now; when the browser
// leaves for Microsoft it does not resolve. again asks even when Microsoft
// remembers a permission (our service found it missing).
export async function consent(scope, again = false) {
  const account = pca.getActiveAccount();
  if (!again) {
    try {
      // From the cache or with the refresh token, never in a hidden
      // frame: a permission not given needs the person anyway, and any
      // failure here leads to Microsoft's page, which says what is wrong.
      await pca.acquireTokenSilent({ scopes: [scope], account, cacheLookupPolicy: msal.CacheLookupPolicy.AccessTokenAndRefreshToken });
      return true;
    } catch {
      // Microsoft asks below.
    }
  }
  sessionStorage.setItem(consentKey, JSON.stringify({ scope }));
  await pca.acquireTokenRedirect({ scopes: [scope], account, redirectStartPage: location.href, prompt: again ? "consent" : undefined });
  return new Promise(() => {});
}

// consentReturned is how the last trip to Microsoft for a permission
// ended, once: { scope, granted } with declined, admin or error when it
// was not given; null when there was none.
export function consentReturned() {
  const b = consentBack;
  consentBack = null;
  return b;
}
