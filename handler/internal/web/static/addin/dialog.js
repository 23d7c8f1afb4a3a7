// The sign-in dialog of the task pane, where Outlook cannot sign in for
// us (no nested app authentication): MSAL.js signs in as the dashboard
// does, and the token goes back to the pane through Office.js. Opened
// with ?consent=<permission>, it asks Microsoft for that permission
// instead (incremental consent) and tells the pane whether it was given.
import { scopes, msalConfig, readMailScope, refusal } from "app/signin";

const pca = new msal.PublicClientApplication(msalConfig("localStorage"));
// Only strings cross to the pane.
const answer = (m) => Office.context.ui.messageParent(JSON.stringify(m));
// Only the permissions the app asks for: a link cannot make the dialog
// ask for another.
const params = new URLSearchParams(location.search);
const asked = params.get("consent") === readMailScope ? readMailScope : null;

Office.onReady(async () => {
  try {
    await pca.initialize();
    const back = await pca.handleRedirectPromise();
    if (back && asked) {
      answer({ granted: true });
      return;
    }
    if (back && back.accessToken) {
      answer({ accessToken: back.accessToken, expiresOn: back.expiresOn && back.expiresOn.toISOString() });
      return;
    }
    if (asked) {
      await pca.acquireTokenRedirect({ scopes: [asked], prompt: params.get("again") ? "consent" : undefined, redirectStartPage: location.href });
      return;
    }
    await pca.acquireTokenRedirect({ scopes, prompt: "select_account" });
  } catch (err) {
    if (asked) {
      answer({ error: "Microsoft did not give the permission: " + (err && err.message ? err.message : String(err)), ...refusal(err) });
      return;
    }
    answer({ error: "Sign-in did not finish: " + (err && err.message ? err.message : String(err)) });
  }
});
