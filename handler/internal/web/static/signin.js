// What every sign-in of the app shares: the deployment's settings (from
// the page), the API's scope, and MSAL.js's configuration against the
// deployment's Entra authority, the same code locally (the dev issuer)
// and in Azure.
export const settings = JSON.parse(document.querySelector('meta[name="mm-settings"]').content);

export const scopes = [`api://${settings.clientId}/access_as_user`];

// readMailScope is Microsoft Graph's permission to read the basic details
// of the person's mail (no body, no attachment), asked for only when they
// turn reading their mailbox on (incremental consent).
export const readMailScope = "https://graph.microsoft.com/Mail.ReadBasic";

// msalConfig is MSAL.js's configuration; sign-in comes back to the
// redirect bridge (/app/redirect), which returns to the page that left.
export function msalConfig(cacheLocation) {
  return {
    auth: {
      clientId: settings.clientId,
      authority: settings.authority + "/organizations",
      // The authority's own OpenID configuration is used as it is.
      knownAuthorities: [new URL(settings.authority).host],
      redirectUri: location.origin + "/app/redirect",
      postLogoutRedirectUri: location.origin + "/",
    },
    cache: { cacheLocation },
  };
}

// refusal reads why Microsoft did not give a permission: declined by the
// person (AADSTS65004), or allowed only by their organisation's
// administrator (AADSTS90094, 90095); otherwise its message.
export function refusal(err) {
  const text = String((err && (err.errorMessage || err.message)) || err || "");
  if (/AADSTS9009[45]/.test(text)) return { admin: true };
  if (/AADSTS65004/.test(text) || (err && err.errorCode === "access_denied")) return { declined: true };
  return { error: text };
}
