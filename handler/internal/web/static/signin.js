// What every sign-in of the app shares: the deployment's settings (from
// the page), the API's scope, and MSAL.js's configuration against the
// deployment's Entra authority, the same code locally (the dev issuer)
// and in Azure.
export const settings = JSON.parse(document.querySelector('meta[name="mm-settings"]').content);

export const scopes = [`api://${settings.clientId}/access_as_user`];

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
