// Storage account for the app (blobs and tables) and for the Functions host.
// Standard_GZRS: zone-redundant in the primary region, asynchronously copied to
// the paired region (North Europe -> West Europe). No shared keys, TLS 1.2,
// no public blob access, infrastructure (double) encryption set at creation.

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

@description('Days the backups container keeps daily table exports (immutable for that long).')
param dailyBackupDays int = 35

@description('Days the backups container keeps monthly table exports (12 monthly copies).')
param monthlyBackupDays int = 366

param tags object = {}

var containerNames = [
  'uploads'
  'originals'
  'tokencache'
  'deployments'
]

// Lifecycle prefixes (container/) of the versioned, non-backup containers.
var versionedPrefixes = [for c in containerNames: '${c}/']

var tableNames = [
  'accounts'
  'campaigns'
  'campaignaddresses'
  'recipients'
  'mailboxes'
  'debuglog'
  'deletions'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GZRS'
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

// Table exports (daily/ and monthly/ prefixes). Version-level immutability:
// every blob version is WORM for the default period below; deletion only by
// the lifecycle rules once that period has passed.
resource backups 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'backups'
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

// Default version-level policy of the backups container. Left unlocked by the
// template; lock it once verified (a locked policy can only be extended).
resource backupsImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: backups
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: dailyBackupDays
    allowProtectedAppendWrites: false
  }
}

// Lifecycle: daily exports (and their versions) go after dailyBackupDays;
// monthly exports after monthlyBackupDays (their longer immutability is set per
// blob version by the export job).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'backups-daily'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'backups/daily/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: dailyBackupDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: dailyBackupDays
                }
              }
            }
          }
        }
        {
          name: 'backups-monthly'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'backups/monthly/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: monthlyBackupDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: monthlyBackupDays
                }
              }
            }
          }
        }
        {
          // Versioning (needed by point-in-time restore) keeps every overwrite,
          // e.g. of tokencache blobs: drop versions once outside the restore window.
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
  dependsOn: [
    backups
  ]
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
