// Service Bus namespace with one queue per queue-triggered function. Local
// (SAS) auth is disabled: only Entra identities with data roles can send or
// receive. Standard by default; Premium adds geo-replication of metadata AND
// messages to the secondary region (check its GA status before relying on it).

@description('Primary region of the namespace.')
param location string

@description('Region of the geo-replication secondary (Premium only).')
param secondaryLocation string

@description('Namespace name (6-50 characters).')
@minLength(6)
@maxLength(50)
param name string

@description('Premium with geo-replication to secondaryLocation; Standard otherwise.')
param premium bool = false

@description('Largest accepted replication lag in seconds (Premium): 0 (synchronous) or 300 to 86400.')
param maxReplicationLagSeconds int = 300

param tags object = {}

// Queue names are the names of the queue-triggered functions in functions/.
var queueNames = [
  'account-delete'
  'campaign-delete'
  'campaign-data'
  'campaign-start'
  'campaign-send'
  'notify'
  'tracking-events'
  'mailbox-read'
]

var standardSku = {
  name: 'Standard'
  tier: 'Standard'
}

var premiumSku = {
  name: 'Premium'
  tier: 'Premium'
  capacity: 1
}

var baseProperties = {
  disableLocalAuth: true
  minimumTlsVersion: '1.2'
  publicNetworkAccess: 'Enabled'
}

var premiumProperties = {
  premiumMessagingPartitions: 1
  geoDataReplication: {
    maxReplicationLagDurationInSeconds: maxReplicationLagSeconds
    locations: [
      {
        locationName: location
        roleType: 'Primary'
      }
      {
        locationName: secondaryLocation
        roleType: 'Secondary'
      }
    ]
  }
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: premium ? premiumSku : standardSku
  properties: union(baseProperties, premium ? premiumProperties : {})
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [
  for q in queueNames: {
    parent: namespace
    name: q
    properties: {
      maxDeliveryCount: 5
      deadLetteringOnMessageExpiration: true
    }
  }
]

output id string = namespace.id
output name string = namespace.name
// Host name for ServiceBusConnection__fullyQualifiedNamespace.
// serviceBusEndpoint looks like https://<name>.servicebus.windows.net:443/
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
