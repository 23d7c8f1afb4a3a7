// Mail merge service: everything in one resource group, primary North Europe
// (Ireland), backup West Europe (the Netherlands). Deploy with
//   az deployment group create -g <rg> --parameters infra/main.bicepparam
// (the parameters file names this template); see infra/README.md.
targetScope = 'resourceGroup'

@description('Primary region. Only the two EU regions of the pair are allowed.')
@allowed([
  'northeurope'
  'westeurope'
])
param location string = 'northeurope'

@description('Backup region (Service Bus geo-replication secondary; the storage GZRS secondary is the Azure region pair).')
@allowed([
  'northeurope'
  'westeurope'
])
param secondaryLocation string = 'westeurope'

@description('Short lowercase prefix for resource names.')
@minLength(2)
@maxLength(12)
param namePrefix string

@description('Service Bus Premium with geo-replication to secondaryLocation (Standard when false).')
param serviceBusPremium bool = false

@description('Application (client) id of the Entra app registration.')
param entraClientId string

@description('Postmark inbound address: the address of each campaign is its local part + "+" + a token.')
param inboundAddress string

@description('Sender address of notices.')
param notifyFrom string

@description('delegated, or application if the tenant grants the app Mail.Send.')
@allowed([
  'delegated'
  'application'
])
param graphPermission string = 'delegated'

param tags object = {}

var prefix = toLower(namePrefix)
var token = uniqueString(resourceGroup().id, prefix)

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: 'id-${prefix}'
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: 'log-${prefix}-${token}'
    appInsightsName: 'appi-${prefix}-${token}'
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: take('st${replace(prefix, '-', '')}${token}', 24)
    tags: tags
  }
}

// The table exports, in their own account: immutable containers, which the
// main account's point-in-time restore rules out.
module backupStorage 'modules/backupstorage.bicep' = {
  name: 'backupstorage'
  params: {
    location: location
    name: take('stbk${replace(prefix, '-', '')}${token}', 24)
    tags: tags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    secondaryLocation: secondaryLocation
    name: 'sb-${prefix}-${token}'
    premium: serviceBusPremium
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    name: 'kv${token}'
    tags: tags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    backupStorageAccountName: backupStorage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    planName: 'plan-${prefix}-${token}'
    appName: 'func-${prefix}-${token}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    backupStorageAccountName: backupStorage.outputs.name
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    appInsightsName: monitoring.outputs.appInsightsName
    secretUris: keyVault.outputs.secretUris
    entraClientId: entraClientId
    inboundAddress: inboundAddress
    notifyFrom: notifyFrom
    graphPermission: graphPermission
    tags: tags
  }
  // The identity must hold its data roles before the app reads its deployment
  // package and resolves Key Vault references.
  dependsOn: [
    roles
  ]
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = storage.outputs.name
output backupStorageAccountName string = backupStorage.outputs.name
output backupSecondaryBlobEndpoint string = backupStorage.outputs.secondaryBlobEndpoint
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output keyVaultName string = keyVault.outputs.name
output identityClientId string = identity.outputs.clientId
