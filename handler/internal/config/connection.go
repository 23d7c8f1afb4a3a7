package config

import "strings"

// Connection is an Azure connection as Functions settings express it: either a
// connection string in the setting itself, or identity-based settings under
// the setting name as a prefix (<prefix>__accountName, __serviceUri, ...).
type Connection struct {
	// Name is the setting name (the prefix).
	Name string
	// ConnectionString is set when the setting itself holds one.
	ConnectionString string
	// AccountName is a storage account name (<prefix>__accountName).
	AccountName string
	// BlobServiceURI, QueueServiceURI and TableServiceURI override the
	// endpoints derived from AccountName.
	BlobServiceURI, QueueServiceURI, TableServiceURI string
	// FullyQualifiedNamespace is a Service Bus namespace host name.
	FullyQualifiedNamespace string
	// Credential is "managedidentity" in Azure; empty means the developer's
	// own identity (Azure CLI and friends), as Core Tools does.
	Credential string
	// ClientID selects a user-assigned managed identity.
	ClientID string
}

// The suffixes of identity-based connection settings.
const (
	suffixAccountName     = "__accountName"
	suffixServiceURI      = "__serviceUri"
	suffixBlobServiceURI  = "__blobServiceUri"
	suffixQueueServiceURI = "__queueServiceUri"
	suffixTableServiceURI = "__tableServiceUri"
	suffixNamespace       = "__fullyQualifiedNamespace"
	suffixCredential      = "__credential"
	suffixClientID        = "__clientId"
)

// DevelopmentStorage is Azurite's published, well-known connection string.
// The Functions host understands UseDevelopmentStorage=true; the Go SDK does
// not, so we expand it ourselves.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" +
	"QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

func readConnection(getenv func(string) string, name string) Connection {
	c := Connection{
		Name:                    name,
		ConnectionString:        getenv(name),
		AccountName:             getenv(name + suffixAccountName),
		BlobServiceURI:          getenv(name + suffixBlobServiceURI),
		QueueServiceURI:         getenv(name + suffixQueueServiceURI),
		TableServiceURI:         getenv(name + suffixTableServiceURI),
		FullyQualifiedNamespace: getenv(name + suffixNamespace),
		Credential:              getenv(name + suffixCredential),
		ClientID:                getenv(name + suffixClientID),
	}
	if c.BlobServiceURI == "" {
		c.BlobServiceURI = getenv(name + suffixServiceURI)
	}
	if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(c.ConnectionString, ";")), "UseDevelopmentStorage=true") {
		c.ConnectionString = DevelopmentStorage
	}
	if c.AccountName != "" {
		base := ".core.windows.net"
		if c.BlobServiceURI == "" {
			c.BlobServiceURI = "https://" + c.AccountName + ".blob" + base
		}
		if c.QueueServiceURI == "" {
			c.QueueServiceURI = "https://" + c.AccountName + ".queue" + base
		}
		if c.TableServiceURI == "" {
			c.TableServiceURI = "https://" + c.AccountName + ".table" + base
		}
	}
	return c
}

// IsZero reports whether nothing at all was configured for the connection.
func (c Connection) IsZero() bool {
	return c.ConnectionString == "" && c.BlobServiceURI == "" && c.QueueServiceURI == "" &&
		c.TableServiceURI == "" && c.FullyQualifiedNamespace == ""
}

// ReadConnection reads one connection's settings (a connection string or
// the identity-based __ settings) for tools outside the handler, such as
// the restore command.
func ReadConnection(getenv func(string) string, name string) Connection {
	return readConnection(getenv, name)
}
