// Key Vault with RBAC authorization and purge protection. Secrets are NOT
// created here: no value ever appears in a template or parameter file. An
// operator sets them after deployment (see infra/README.md); this module only
// publishes the versionless secret URIs the app settings reference.

@description('Region for the vault.')
param location string

@description('Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

param tags object = {}

// Names of the secrets the app reads through Key Vault references.
var secretNames = [
  'entra-client-secret'
  'token-cache-key'
  'postmark-server-token'
  'postmark-inbound-user'
  'postmark-inbound-password'
  'tracking-keys'
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri

// Versionless secret URIs (the reference always resolves the latest version).
output secretUris object = toObject(secretNames, n => n, n => '${vault.properties.vaultUri}secrets/${n}/')
