// The sign-in dialog of the task pane, where Outlook cannot sign in for
// us (no nested app authentication): MSAL.js signs in as the dashboard
// does, and the token goes back to the pane through Office.js.
import { scopes, msalConfig } from "app/signin";

const pca = new msal.PublicClientApplication(msalConfig("localStorage"));
// Only strings cross to the pane.
const answer = (m) => Office.context.ui.messageParent(JSON.stringify(m));

Office.onReady(async () => {
  try {
    await pca.initialize();
    const back = await pca.handleRedirectPromise();
    if (back && back.accessToken) {
      answer({ accessToken: back.accessToken, expiresOn: back.expiresOn && back.expiresOn.toISOString() });
      return;
    }
    await pca.acquireTokenRedirect({ scopes, prompt: "select_account" });
  } catch (err) {
    answer({ error: "Sign-in did not finish: " + (err && err.message ? err.message : String(err)) });
  }
});
