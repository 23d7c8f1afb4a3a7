// Package config reads the app settings once, at start, into one struct.
// Every setting name is a constant here, and every missing or malformed
// setting is reported in one error.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The names of the app settings the code reads. local.settings.example.json
// names exactly these (a test checks it), plus HostOnly.
const (
	// Port is set by the Functions host: where the handler listens.
	Port = "FUNCTIONS_CUSTOMHANDLER_PORT"
	// Storage is the connection for tables, blobs and (locally) queues: a
	// connection string, or identity-based settings under this prefix.
	Storage = "AzureWebJobsStorage"
	// QueueTransport selects the queue adapter: "servicebus" or "storage".
	QueueTransport = "QUEUE_TRANSPORT"
	// ServiceBus is the Service Bus connection (connection string or
	// ServiceBusConnection__fullyQualifiedNamespace), needed for "servicebus".
	ServiceBus = "ServiceBusConnection"
	// EntraAuthority is the sign-in authority, https://login.microsoftonline.com
	// in Azure. Token issuers are <authority>/<tid>/v2.0.
	EntraAuthority = "ENTRA_AUTHORITY"
	// EntraClientID is our API's application (client) id: the required audience.
	EntraClientID = "ENTRA_CLIENT_ID"
	// DebugLogRetention is how long install debug entries are kept (Go duration).
	DebugLogRetention = "DEBUG_LOG_RETENTION"
	// InboundAddress is the Postmark inbound address; each campaign's
	// address is its local part + "+" + the campaign's token.
	InboundAddress = "INBOUND_ADDRESS"
	// PostmarkInboundUser and PostmarkInboundPassword are the HTTP basic
	// auth credentials in the inbound webhook URL configured at Postmark
	// (secrets: Key Vault references in Azure).
	PostmarkInboundUser     = "POSTMARK_INBOUND_USER"
	PostmarkInboundPassword = "POSTMARK_INBOUND_PASSWORD"
)

// HostOnly names settings that belong in local.settings.json for the
// Functions host but that the handler itself never reads.
var HostOnly = []string{"FUNCTIONS_WORKER_RUNTIME"}

// Names lists every setting the handler reads, for the example-file test.
func Names() []string {
	return []string{Port, Storage, QueueTransport, ServiceBus, EntraAuthority, EntraClientID, DebugLogRetention, InboundAddress, PostmarkInboundUser, PostmarkInboundPassword}
}

// The queue transports.
const (
	TransportServiceBus = "servicebus"
	TransportStorage    = "storage"
)

// DefaultDebugLogRetention is the promised expiry of install debug entries.
const DefaultDebugLogRetention = 14 * 24 * time.Hour

// Config is every setting the handler uses.
type Config struct {
	Port              int
	Storage           Connection
	QueueTransport    string
	ServiceBus        Connection
	EntraAuthority    string
	EntraClientID     string
	DebugLogRetention time.Duration
	InboundAddress    string
	// PostmarkInbound holds the webhook's basic auth credentials.
	PostmarkInbound BasicAuth
}

// BasicAuth is a user name and password pair.
type BasicAuth struct {
	User, Password string
}

// Load reads the settings through getenv and reports every problem at once.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch p := getenv(Port); {
	case p == "":
		bad("%s is missing (the Functions host sets it; the local host does too)", Port)
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			bad("%s=%q is not a port number", Port, p)
		}
		c.Port = n
	}

	c.Storage = readConnection(getenv, Storage)
	if c.Storage.IsZero() {
		bad("%s is missing: give a connection string (UseDevelopmentStorage=true for Azurite) or %s__accountName for a managed identity", Storage, Storage)
	}

	c.QueueTransport = getenv(QueueTransport)
	switch c.QueueTransport {
	case TransportStorage:
	case TransportServiceBus:
		c.ServiceBus = readConnection(getenv, ServiceBus)
		if c.ServiceBus.ConnectionString == "" && c.ServiceBus.FullyQualifiedNamespace == "" {
			bad("%s is missing: %s=servicebus needs a connection string or %s__fullyQualifiedNamespace", ServiceBus, QueueTransport, ServiceBus)
		}
	case "":
		bad("%s is missing: set %q (Azure) or %q (Azurite)", QueueTransport, TransportServiceBus, TransportStorage)
	default:
		bad("%s=%q is not %q or %q", QueueTransport, c.QueueTransport, TransportServiceBus, TransportStorage)
	}

	c.EntraAuthority = strings.TrimRight(getenv(EntraAuthority), "/")
	if c.EntraAuthority == "" {
		bad("%s is missing: https://login.microsoftonline.com in Azure, the dev issuer's URL locally", EntraAuthority)
	} else if u, err := url.Parse(c.EntraAuthority); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("%s=%q is not an http(s) URL", EntraAuthority, c.EntraAuthority)
	}

	c.EntraClientID = getenv(EntraClientID)
	if c.EntraClientID == "" {
		bad("%s is missing: the application (client) id of the API registration", EntraClientID)
	}

	c.DebugLogRetention = DefaultDebugLogRetention
	if v := getenv(DebugLogRetention); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("%s=%q is not a positive duration such as 336h", DebugLogRetention, v)
		}
		c.DebugLogRetention = d
	}

	c.InboundAddress = strings.TrimSpace(getenv(InboundAddress))
	if local, domain, ok := strings.Cut(c.InboundAddress, "@"); c.InboundAddress == "" {
		bad("%s is missing: the Postmark inbound address, e.g. 1a2b3c@inbound.postmarkapp.com", InboundAddress)
	} else if !ok || local == "" || strings.ContainsAny(local, "+ ") || !strings.Contains(domain, ".") || strings.Contains(domain, "@") {
		bad("%s=%q must be a plain address without a + part, e.g. 1a2b3c@inbound.postmarkapp.com", InboundAddress, c.InboundAddress)
	}

	c.PostmarkInbound = BasicAuth{User: getenv(PostmarkInboundUser), Password: getenv(PostmarkInboundPassword)}
	if c.PostmarkInbound.User == "" || strings.Contains(c.PostmarkInbound.User, ":") {
		bad("%s is missing or holds a colon: the user name of the inbound webhook URL's basic auth", PostmarkInboundUser)
	}
	if len(c.PostmarkInbound.Password) < 16 {
		bad("%s must be at least 16 characters: the password of the inbound webhook URL's basic auth", PostmarkInboundPassword)
	}

	if len(problems) > 0 {
		return c, errors.New("settings: " + strings.Join(problems, "; "))
	}
	return c, nil
}
