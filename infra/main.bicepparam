// Example, non-secret parameter values. Secrets are never parameters: set them
// in Key Vault after deployment (see infra/README.md).
using './main.bicep'

param location = 'northeurope'
param secondaryLocation = 'westeurope'
param namePrefix = 'mailmerge'
param serviceBusPremium = false
param entraClientId = '00000000-0000-0000-0000-000000000000'
param inboundAddress = 'campaigns@inbound.example.com'
param notifyFrom = 'notices@example.com'
param graphPermission = 'delegated'
param tags = {
  service: 'mailmerge'
}
