// Package config reads the app settings once, at start, into one struct.
// Every setting name is a constant here, and every missing or malformed
// setting is reported in one error.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/tracking"
)

// The names of the app settings the code reads. local.settings.example.json
// names exactly these (a test checks it), plus HostOnly.
const (
	// Port is set by the Functions host: where the handler listens.
	Port = "FUNCTIONS_CUSTOMHANDLER_PORT"
	// Storage is the connection for tables, blobs and (locally) queues: a
	// connection string, or identity-based settings under this prefix.
	Storage = "AzureWebJobsStorage"
	// BackupStorage is the connection of the storage account that holds the
	// table exports (the backup timer): in Azure a separate account whose
	// containers are immutable, since immutability and the main account's
	// point-in-time restore cannot be combined. Same forms as Storage.
	BackupStorage = "BackupStorage"
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
	// EntraClientSecret is our app's client secret, for the on-behalf-of
	// exchange and app-only tokens (a Key Vault reference in Azure).
	EntraClientSecret = "ENTRA_CLIENT_SECRET"
	// GraphPermission is "delegated" (each user's own grant, on-behalf-of)
	// or "application" (the tenant admin granted Mail.Send to the app).
	GraphPermission = "GRAPH_PERMISSION"
	// GraphBaseURL is Microsoft Graph, https://graph.microsoft.com/v1.0.
	GraphBaseURL = "GRAPH_BASE_URL"
	// TokenCacheKey encrypts the stored token caches: 32 bytes, base64
	// (a Key Vault reference in Azure).
	TokenCacheKey = "TOKEN_CACHE_KEY"
	// SendPerMinute, SendPerDay and SendConcurrent are a mailbox's limits;
	// the defaults are Exchange Online's 30 a minute, 10,000 recipients a
	// day and 4 requests in flight, and they may be set lower. Optional.
	SendPerMinute  = "SEND_PER_MINUTE"
	SendPerDay     = "SEND_PER_DAY"
	SendConcurrent = "SEND_CONCURRENT"
	// SendAboveExchangeLimits="true" allows the three above Exchange
	// Online's limits: only for a mailbox service with other limits (the
	// Graph sandbox's raised ones in benchmarks). Exchange Online blocks a
	// mailbox that goes over. Optional.
	SendAboveExchangeLimits = "SEND_ABOVE_EXCHANGE_LIMITS"
	// SendLookAfter is how long after a send's answer was lost its
	// message is first looked for in the sender's mailbox, and the time
	// between looks (for owners who let us read it); a Go duration,
	// default 2m. Optional.
	SendLookAfter = "SEND_LOOK_AFTER"
	// PostmarkAPIURL is Postmark's API, https://api.postmarkapp.com.
	PostmarkAPIURL = "POSTMARK_API_URL"
	// PostmarkServerToken is the Postmark server's API token (a secret).
	PostmarkServerToken = "POSTMARK_SERVER_TOKEN"
	// NotifyFrom is the sender of notices: a confirmed Postmark sender.
	NotifyFrom = "NOTIFY_FROM"
	// PublicBaseURL is where recipients reach the app: the open pixel,
	// tracked links and the unsubscribe page are under it.
	PublicBaseURL = "PUBLIC_BASE_URL"
	// TrackingKeys sign the tracking and unsubscribe tokens:
	// "id:base64secret" (32 bytes or more), newest first, comma separated;
	// the first signs, all verify.
	TrackingKeys = "TRACKING_KEYS"
)

// HostOnly names settings that belong in local.settings.json for the
// Functions host but that the handler itself never reads.
var HostOnly = []string{"FUNCTIONS_WORKER_RUNTIME"}

// Names lists every setting the handler reads, for the example-file test.
func Names() []string {
	return []string{Port, Storage, BackupStorage, QueueTransport, ServiceBus, EntraAuthority, EntraClientID, DebugLogRetention, InboundAddress,
		PostmarkInboundUser, PostmarkInboundPassword, EntraClientSecret, GraphPermission, GraphBaseURL, TokenCacheKey,
		SendPerMinute, SendPerDay, SendConcurrent, SendAboveExchangeLimits, SendLookAfter, PostmarkAPIURL, PostmarkServerToken, NotifyFrom,
		PublicBaseURL, TrackingKeys}
}

// MaxInboundLocal bounds the part of INBOUND_ADDRESS before @: "+u-" and
// a 26-letter unsubscribe ID follow it in a message's unsubscribe address
// (tracking.UnsubscribeIDs), whose part before @ may have 64 characters
// (RFC 5321 §4.5.3.1.1).
const MaxInboundLocal = 64 - 3 - 26

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
	BackupStorage     Connection
	QueueTransport    string
	ServiceBus        Connection
	EntraAuthority    string
	EntraClientID     string
	DebugLogRetention time.Duration
	InboundAddress    string
	// PostmarkInbound holds the webhook's basic auth credentials.
	PostmarkInbound   BasicAuth
	EntraClientSecret string
	// GraphApplication: send with the app's own Mail.Send permission.
	GraphApplication bool
	GraphBaseURL     string
	TokenCacheKey    []byte
	// Send limits; zero means Exchange Online's.
	SendPerMinute, SendPerDay, SendConcurrent int
	// SendLookAfter: zero for the default.
	SendLookAfter       time.Duration
	PostmarkAPIURL      string
	PostmarkServerToken string
	NotifyFrom          string
	PublicBaseURL       string
	TrackingKeys        tracking.Keys
}

// Graph permission modes.
const (
	PermissionDelegated   = "delegated"
	PermissionApplication = "application"
)

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

	c.BackupStorage = readConnection(getenv, BackupStorage)
	if c.BackupStorage.IsZero() {
		bad("%s is missing: the storage account for table exports, as a connection string (UseDevelopmentStorage=true for Azurite) or %s__accountName for a managed identity", BackupStorage, BackupStorage)
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
	localSignIn := false
	if c.EntraAuthority == "" {
		bad("%s is missing: https://login.microsoftonline.com in Azure, the dev issuer's URL locally", EntraAuthority)
	} else if u, err := url.Parse(c.EntraAuthority); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("%s=%q is not an http(s) URL", EntraAuthority, c.EntraAuthority)
	} else {
		localSignIn = isLoopback(u.Hostname())
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
	} else if len(local) > MaxInboundLocal {
		bad("%s=%q: the part before @ has %d characters, at most %d: a message's unsubscribe address adds 29 to it, and mail programs refuse an address whose part before @ is over 64 (Postmark's own inbound addresses have 32)",
			InboundAddress, c.InboundAddress, len(local), MaxInboundLocal)
	}

	c.PostmarkInbound = BasicAuth{User: getenv(PostmarkInboundUser), Password: getenv(PostmarkInboundPassword)}
	if c.PostmarkInbound.User == "" || strings.Contains(c.PostmarkInbound.User, ":") {
		bad("%s is missing or holds a colon: the user name of the inbound webhook URL's basic auth", PostmarkInboundUser)
	}
	if len(c.PostmarkInbound.Password) < 16 {
		bad("%s must be at least 16 characters: the password of the inbound webhook URL's basic auth", PostmarkInboundPassword)
	}

	loadSending(&c, getenv, bad)
	if !localSignIn {
		refuseExampleSecrets(getenv, bad)
	}

	if len(problems) > 0 {
		return c, errors.New("settings: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// loadSending reads the settings of Graph access, pacing and notices.
func loadSending(c *Config, getenv func(string) string, bad func(string, ...any)) {
	if c.EntraClientSecret = getenv(EntraClientSecret); c.EntraClientSecret == "" {
		bad("%s is missing: the client secret of the app registration", EntraClientSecret)
	}
	switch getenv(GraphPermission) {
	case "", PermissionDelegated:
	case PermissionApplication:
		c.GraphApplication = true
	default:
		bad("%s=%q must be %q or %q", GraphPermission, getenv(GraphPermission), PermissionDelegated, PermissionApplication)
	}
	c.GraphBaseURL = httpsURL(getenv, GraphBaseURL, "https://graph.microsoft.com/v1.0", bad)
	c.PostmarkAPIURL = httpsURL(getenv, PostmarkAPIURL, "https://api.postmarkapp.com", bad)
	if key, err := base64.StdEncoding.DecodeString(getenv(TokenCacheKey)); err != nil || len(key) != 32 {
		bad("%s must be 32 random bytes in base64 (e.g. the output of: openssl rand -base64 32)", TokenCacheKey)
	} else {
		c.TokenCacheKey = key
	}
	above := false
	switch v := getenv(SendAboveExchangeLimits); v {
	case "", "false":
	case "true":
		above = true
	default:
		bad("%s=%q must be true or false", SendAboveExchangeLimits, v)
	}
	for _, l := range []struct {
		name     string
		exchange int
		dst      *int
	}{{SendPerMinute, 30, &c.SendPerMinute}, {SendPerDay, 10_000, &c.SendPerDay}, {SendConcurrent, 4, &c.SendConcurrent}} {
		v := getenv(l.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			bad("%s=%q must be a whole number of at least 1", l.name, v)
		case n > l.exchange && !above:
			bad("%s=%d is over Exchange Online's limit of %d, which blocks the mailbox; set it lower (or %s=true for a mailbox service with other limits)", l.name, n, l.exchange, SendAboveExchangeLimits)
		default:
			*l.dst = n
		}
	}
	if v := getenv(SendLookAfter); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			bad("%s=%q must be a duration from 1s to 1h, such as 2m", SendLookAfter, v)
		}
		c.SendLookAfter = d
	}
	if c.PostmarkServerToken = getenv(PostmarkServerToken); c.PostmarkServerToken == "" {
		bad("%s is missing: the Postmark server API token notices are sent with", PostmarkServerToken)
	}
	if c.NotifyFrom = getenv(NotifyFrom); !strings.Contains(c.NotifyFrom, "@") {
		bad("%s=%q must be the address notices come from, a confirmed Postmark sender", NotifyFrom, c.NotifyFrom)
	}
	if getenv(PublicBaseURL) == "" {
		bad("%s is missing: the https address recipients reach the app at (tracked links and unsubscribe pages are under it)", PublicBaseURL)
	} else if u, err := url.Parse(getenv(PublicBaseURL)); err != nil || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		bad("%s=%q must be a base address without a path, e.g. https://mailmerge.example.com", PublicBaseURL, getenv(PublicBaseURL))
	} else {
		c.PublicBaseURL = httpsURL(getenv, PublicBaseURL, "", bad)
	}
	keys, err := tracking.ParseKeys(getenv(TrackingKeys))
	if err != nil {
		bad("%s: %v (e.g. 1:$(openssl rand -base64 32))", TrackingKeys, err)
	}
	c.TrackingKeys = keys
}

// exampleSecret is a secret setting's value in local.settings.example.json
// and how to make one's own.
type exampleSecret struct {
	name, value, howTo string
}

// exampleSecrets lists the secrets of local.settings.example.json as the
// file has them (a test keeps the two equal; go:embed cannot reach the
// file from here).
func exampleSecrets() []exampleSecret {
	const placeholder = "local-only-not-a-secret"
	return []exampleSecret{
		{TrackingKeys, "1:bG9jYWwtb25seS10cmFja2luZy1rZXktbm90LWEtc2VjcmV0", "e.g. 1:$(openssl rand -base64 32)"},
		{TokenCacheKey, "bG9jYWwtb25seS1rZXktbm90LWEtc2VjcmV0LTAwMDA=", "e.g. the output of: openssl rand -base64 32"},
		{PostmarkInboundPassword, placeholder, "e.g. the output of: openssl rand -base64 24, also in the inbound webhook URL at Postmark"},
		{PostmarkServerToken, placeholder, "the API token of the Postmark server"},
		{EntraClientSecret, placeholder, "a client secret of the app registration"},
	}
}

// refuseExampleSecrets names each secret that still has the example's
// value. Those values are public, in the repository: they do for the
// stand-ins on this machine, but with a real sign-in authority they would
// let anyone forge tracking and unsubscribe links, decrypt the stored
// Graph tokens or post to the inbound webhook. So outside loopback the
// handler does not start with them; there is no mode that allows it.
func refuseExampleSecrets(getenv func(string) string, bad func(string, ...any)) {
	for _, s := range exampleSecrets() {
		if getenv(s.name) == s.value {
			bad("%s is the example value from local.settings.example.json; set a secret of your own (%s)", s.name, s.howTo)
		}
	}
}

// httpsURL reads an optional base URL setting: https, or http to a
// loopback address (the local stand-ins).
func httpsURL(getenv func(string) string, name, def string, bad func(string, ...any)) string {
	v := getenv(name)
	if v == "" {
		return def
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		bad("%s=%q must be an https URL (http only to a loopback address)", name, v)
		return def
	}
	return strings.TrimRight(v, "/")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
