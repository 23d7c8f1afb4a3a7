// Storage account for the app (blobs and tables) and for the Functions host.
// Standard_RAGZRS: zone-redundant in the primary region, asynchronously copied
// to the paired region (North Europe -> West Europe), where the copy can be
// read without a failover (the recovery runbook copies blobs from it). No
// shared keys, TLS 1.2, no public blob access, infrastructure (double)
// encryption set at creation.

@description('Region for the account (its GZRS secondary is the Azure region pair).')
param location string

@description('Account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

@description('Days of point-in-time restore for blobs (must be less than softDeleteDays).')
@minValue(1)
@maxValue(364)
param restoreDays int = 35

@description('Days deleted blobs and containers stay recoverable.')
@minValue(2)
@maxValue(365)
param softDeleteDays int = 36

param tags object = {}

var containerNames = [
  'uploads'
  'originals'
  'tokencache'
  'deployments'
]

// Lifecycle prefixes (container/) of the versioned containers.
var versionedPrefixes = [for c in containerNames: '${c}/']

var tableNames = [
  'accounts'
  'campaigns'
  'campaignaddresses'
  'recipients'
  'mailboxes'
  'debuglog'
  'deletions'
  'removals'
  'events'
  'suppressions'
  'unsubscribelinks'
  'timerruns'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_RAGZRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        // Account-scoped keys for tables and queues so infrastructure
        // encryption covers them as well.
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

// Blob data protection: soft delete, container soft delete, versioning, change
// feed and point-in-time restore (restore window one day shorter than soft delete).
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    isVersioningEnabled: true
    changeFeed: {
      enabled: true
      retentionInDays: softDeleteDays
    }
    restorePolicy: {
      enabled: true
      days: restoreDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for c in containerNames: {
    parent: blobService
    name: c
    properties: {
      publicAccess: 'None'
    }
  }
]

// Lifecycle: versioning (needed by point-in-time restore) keeps every
// overwrite; old versions go once outside the restore window.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'old-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: versionedPrefixes
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: softDeleteDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for t in tableNames: {
    parent: tableService
    name: t
  }
]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
