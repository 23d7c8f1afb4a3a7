package config

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TokenCredential returns the identity an identity-based connection uses: the
// user-assigned managed identity named by __clientId when __credential is
// "managedidentity", the system-assigned one without a client id, and the
// developer's own sign-in (DefaultAzureCredential) otherwise, the way the
// Functions host resolves the same settings.
func (c Connection) TokenCredential() (azcore.TokenCredential, error) {
	if strings.EqualFold(c.Credential, "managedidentity") {
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if c.ClientID != "" {
			opts.ID = azidentity.ClientID(c.ClientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(opts)
		if err != nil {
			return nil, fmt.Errorf("%s: managed identity: %w", c.Name, err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("%s: default credential: %w", c.Name, err)
	}
	return cred, nil
}
