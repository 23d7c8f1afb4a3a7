// Where Microsoft sign-in comes back: MSAL's redirect bridge hands the
// answer to the app's page and goes back to it.
msalRedirectBridge.broadcastResponseToMainFrame().catch((err) => {
  const p = document.querySelector(".boot");
  p.textContent = "Sign-in did not complete: " + (err && err.message ? err.message : err) + ". ";
  const a = document.createElement("a");
  a.href = "/";
  a.textContent = "Try again";
  p.append(a);
});
