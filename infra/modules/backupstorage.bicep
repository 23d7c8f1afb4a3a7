// Storage account for the table exports of the backup timer (see
// handler/internal/backup). A separate account because its containers are
// immutable, and immutable storage cannot be combined with the blob
// point-in-time restore of the main account. Read-access geo-zone-redundant:
// its copy in the paired region (West Europe) can be read without a
// failover, which is what a regional recovery restores from.

@description('Region for the account (its RA-GZRS secondary is the Azure region pair).')
param location string

@description('Account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

// The app deletes exports after 36 days and monthly copies after 12 months
// (backup.KeepExports, backup.KeepMonths); the immutability periods must end
// before that, or the deletions would be refused.
@description('Days each whole and change export is immutable (35 days of point-in-time recovery).')
@minValue(1)
@maxValue(35)
param exportImmutableDays int = 35

@description('Days each monthly copy is immutable (12 monthly copies).')
@minValue(1)
@maxValue(364)
param monthlyImmutableDays int = 364

param tags object = {}

resource backups 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_RAGZRS'
  }
  properties: {
    accessTier: 'Cool'
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
      }
    }
  }
}

// Soft delete for containers: a deleted container can be brought back.
// (Blobs need none: they cannot be deleted while immutable.)
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: backups
  name: 'default'
  properties: {
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

// Whole and change exports (daily/ and changes/): container-level time-based
// retention, so no export can be changed or deleted, by the app's identity or
// anyone, until exportImmutableDays after it was written.
resource exports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'backups'
  properties: {
    publicAccess: 'None'
  }
}

resource exportsImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: exports
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: exportImmutableDays
    allowProtectedAppendWrites: false
  }
}

// Monthly copies.
resource monthly 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'backups-monthly'
  properties: {
    publicAccess: 'None'
  }
}

resource monthlyImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: monthly
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: monthlyImmutableDays
    allowProtectedAppendWrites: false
  }
}

output id string = backups.id
output name string = backups.name
output secondaryBlobEndpoint string = backups.properties.secondaryEndpoints.blob
