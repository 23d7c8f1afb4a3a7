// Sign-in with MSAL.js: authorization code with PKCE against the
// deployment's Entra authority.
import { scopes, msalConfig } from "app/signin";

export { scopes };

const pca = new msal.PublicClientApplication(msalConfig("sessionStorage"));

// start finishes a sign-in that just came back and returns the signed-in
// account, or null.
export async function start() {
  await pca.initialize();
  const back = await pca.handleRedirectPromise();
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
