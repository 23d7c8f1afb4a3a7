// Function app on the Flex Consumption plan (Linux) running the Go custom
// handler. Every connection is identity-based through the user-assigned
// identity; secrets come in as Key Vault references, never as values.

@description('Region for the plan and the app.')
param location string

param planName string
param appName string

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Storage account used by the host (AzureWebJobsStorage) and for deployments.')
param storageAccountName string

@description('Primary blob endpoint of that account (ends with /).')
param storageBlobEndpoint string

@description('Storage account that holds the table exports (BackupStorage).')
param backupStorageAccountName string

@description('Service Bus host name, e.g. <name>.servicebus.windows.net.')
param serviceBusFullyQualifiedNamespace string

param appInsightsName string

@description('Versionless Key Vault secret URIs, keyed by secret name.')
param secretUris object

param entraClientId string
param inboundAddress string
param notifyFrom string

@description('The https address recipients reach the app at: the open pixel, tracked links and unsubscribe pages are under it. The app\'s default host name unless a custom domain is bound.')
param publicBaseUrl string = 'https://${appName}.azurewebsites.net'

@description('delegated, or application if the tenant grants the app Mail.Send.')
@allowed([
  'delegated'
  'application'
])
param graphPermission string = 'delegated'

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

param tags object = {}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Authority without the trailing slash the environment value carries.
var loginEndpoint = environment().authentication.loginEndpoint
var entraAuthority = endsWith(loginEndpoint, '/') ? substring(loginEndpoint, 0, length(loginEndpoint) - 1) : loginEndpoint

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}deployments'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    // Host storage, identity-based.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Table exports, identity-based, in the immutable backup account.
    BackupStorage__accountName: backupStorageAccountName
    BackupStorage__credential: 'managedidentity'
    BackupStorage__clientId: identityClientId
    // Queues on Service Bus, identity-based.
    QUEUE_TRANSPORT: 'servicebus'
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: identityClientId
    // Telemetry with Entra authentication (local auth is off on the component).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // Plain settings.
    ENTRA_AUTHORITY: entraAuthority
    ENTRA_CLIENT_ID: entraClientId
    INBOUND_ADDRESS: inboundAddress
    NOTIFY_FROM: notifyFrom
    GRAPH_PERMISSION: graphPermission
    // Secrets: Key Vault references resolved with keyVaultReferenceIdentity.
    ENTRA_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${secretUris['entra-client-secret']})'
    TOKEN_CACHE_KEY: '@Microsoft.KeyVault(SecretUri=${secretUris['token-cache-key']})'
    POSTMARK_SERVER_TOKEN: '@Microsoft.KeyVault(SecretUri=${secretUris['postmark-server-token']})'
    POSTMARK_INBOUND_USER: '@Microsoft.KeyVault(SecretUri=${secretUris['postmark-inbound-user']})'
    POSTMARK_INBOUND_PASSWORD: '@Microsoft.KeyVault(SecretUri=${secretUris['postmark-inbound-password']})'
    TRACKING_KEYS: '@Microsoft.KeyVault(SecretUri=${secretUris['tracking-keys']})'
    PUBLIC_BASE_URL: publicBaseUrl
  }
}

// No publishing with basic (username/password) credentials.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
