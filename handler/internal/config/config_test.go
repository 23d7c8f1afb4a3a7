package config

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func validSettings() map[string]string {
	return map[string]string{
		Port:                    "7000",
		Storage:                 "UseDevelopmentStorage=true",
		BackupStorage:           "UseDevelopmentStorage=true",
		QueueTransport:          "storage",
		EntraAuthority:          "https://login.microsoftonline.com/",
		EntraClientID:           "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10",
		InboundAddress:          "campaigns@inbound.example.com",
		PostmarkInboundUser:     "postmark",
		PostmarkInboundPassword: "a-long-enough-password",
		EntraClientSecret:       "a-secret",
		TokenCacheKey:           "Y29uZmlnLXRlc3Qtb25seS10b2tlbi1jYWNoZS1rZXk=",
		PostmarkServerToken:     "POSTMARK_API_TEST",
		NotifyFrom:              "notices@example.com",
		PublicBaseURL:           "https://mailmerge.example.com",
		TrackingKeys:            "1:Y29uZmlnLXRlc3Qtb25seS10cmFja2luZy1rZXktMzJi",
	}
}

func TestSendingSettings(t *testing.T) {
	s := validSettings()
	c, err := Load(env(s))
	if err != nil {
		t.Fatal(err)
	}
	if c.GraphApplication || c.GraphBaseURL != "https://graph.microsoft.com/v1.0" || c.PostmarkAPIURL != "https://api.postmarkapp.com" || len(c.TokenCacheKey) != 32 {
		t.Errorf("defaults: %+v", c)
	}
	s[GraphPermission], s[SendPerMinute], s[SendConcurrent], s[GraphBaseURL] = "application", "10", "2", "http://127.0.0.1:7073/v1.0/"
	if c, err = Load(env(s)); err != nil || !c.GraphApplication || c.SendPerMinute != 10 || c.SendConcurrent != 2 || c.GraphBaseURL != "http://127.0.0.1:7073/v1.0" {
		t.Errorf("got %+v, %v", c, err)
	}
	s[SendPerMinute], s[SendAboveExchangeLimits] = "1000", "true"
	if c, err = Load(env(s)); err != nil || c.SendPerMinute != 1000 {
		t.Errorf("raised limits: %+v, %v", c, err)
	}
	for name, v := range map[string]string{GraphPermission: "both", SendPerMinute: "31", SendPerDay: "0",
		TokenCacheKey: "c2hvcnQ=", SendConcurrent: "5", SendAboveExchangeLimits: "yes", GraphBaseURL: "http://graph.example.com/v1.0", NotifyFrom: "nobody",
		PublicBaseURL: "http://mailmerge.example.com", TrackingKeys: "1:c2hvcnQ="} {
		bad := validSettings()
		bad[name] = v
		if _, err := Load(env(bad)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v should name the setting", name, v, err)
		}
	}
}

func TestLoadValid(t *testing.T) {
	c, err := Load(env(validSettings()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7000 || c.QueueTransport != TransportStorage || c.EntraAuthority != "https://login.microsoftonline.com" {
		t.Errorf("got %+v", c)
	}
	if c.Storage.ConnectionString != DevelopmentStorage {
		t.Errorf("UseDevelopmentStorage=true was not expanded: %q", c.Storage.ConnectionString)
	}
	if c.DebugLogRetention != 14*24*time.Hour {
		t.Errorf("default debug retention = %v, want 14 days", c.DebugLogRetention)
	}
}

func TestLoadReportsEveryMissingSettingAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{}))
	if err == nil {
		t.Fatal("want an error for empty settings")
	}
	for _, name := range []string{Port, Storage, BackupStorage, QueueTransport, EntraAuthority, EntraClientID, InboundAddress} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoadRejectsMalformedValues(t *testing.T) {
	tests := []struct {
		name, key, value, want string
	}{
		{"port", Port, "seventy", "not a port"},
		{"transport", QueueTransport, "kafka", "is not"},
		{"authority", EntraAuthority, "login.microsoftonline.com", "not an http(s) URL"},
		{"retention", DebugLogRetention, "14 days", "positive duration"},
		{"servicebus without connection", QueueTransport, "servicebus", ServiceBus},
		{"inbound address with a plus", InboundAddress, "a+b@inbound.example.com", "without a + part"},
		{"inbound address without domain", InboundAddress, "campaigns", "plain address"},
		{"inbound address too long for its unsubscribe addresses", InboundAddress, strings.Repeat("a", 36) + "@inbound.example.com", "at most 35"},
		{"short webhook password", PostmarkInboundPassword, "short", "at least 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSettings()
			s[tt.key] = tt.value
			_, err := Load(env(s))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestIdentityBasedConnections(t *testing.T) {
	s := validSettings()
	delete(s, Storage)
	s[Storage+"__accountName"] = "mailmergeprod"
	s[Storage+"__credential"] = "managedidentity"
	s[Storage+"__clientId"] = "0f0e0d0c-0000-4000-8000-000000000001"
	delete(s, BackupStorage)
	s[BackupStorage+"__accountName"] = "mailmergebackup"
	s[BackupStorage+"__credential"] = "managedidentity"
	s[QueueTransport] = "servicebus"
	s[ServiceBus+"__fullyQualifiedNamespace"] = "mailmerge.servicebus.windows.net"
	c, err := Load(env(s))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Storage.TableServiceURI, "https://mailmergeprod.table.core.windows.net"; got != want {
		t.Errorf("table uri = %q, want %q", got, want)
	}
	if got, want := c.Storage.BlobServiceURI, "https://mailmergeprod.blob.core.windows.net"; got != want {
		t.Errorf("blob uri = %q, want %q", got, want)
	}
	if c.Storage.Credential != "managedidentity" || c.Storage.ClientID == "" {
		t.Errorf("credential settings lost: %+v", c.Storage)
	}
	if got, want := c.BackupStorage.BlobServiceURI, "https://mailmergebackup.blob.core.windows.net"; got != want {
		t.Errorf("backup blob uri = %q, want %q", got, want)
	}
	if c.ServiceBus.FullyQualifiedNamespace != "mailmerge.servicebus.windows.net" {
		t.Errorf("namespace = %q", c.ServiceBus.FullyQualifiedNamespace)
	}
}

// TestExampleSettingsNameExactlyWhatTheCodeReads keeps
// local.settings.example.json and Names() equal.
func TestExampleSettingsNameExactlyWhatTheCodeReads(t *testing.T) {
	vals := readExample(t)
	var got []string
	for k := range vals {
		got = append(got, k)
	}
	// The host sets the port itself; it has no place in local.settings.json.
	var want []string
	for _, n := range append(Names(), HostOnly...) {
		if n != Port {
			want = append(want, n)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("local.settings.example.json names %v\nthe code reads %v", got, want)
	}
	// And the example must load as it is, plus the port the host adds.
	vals[Port] = "1"
	if _, err := Load(env(vals)); err != nil {
		t.Errorf("the example settings do not load: %v", err)
	}
}

// readExample returns the values of local.settings.example.json.
func readExample(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "local.settings.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Values map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	return file.Values
}

// TestExampleSecretsRefusedOutsideLoopback: the example's secrets are in
// the repository, so they do only with a sign-in authority on this
// machine; with any other, every one of them is named, with the other
// problems.
func TestExampleSecretsRefusedOutsideLoopback(t *testing.T) {
	secrets := []string{TrackingKeys, TokenCacheKey, PostmarkInboundPassword, PostmarkServerToken, EntraClientSecret}
	for _, authority := range []string{"https://127.0.0.1:7072", "https://127.8.0.1", "https://[::1]:7072", "https://localhost:7072/", "http://localhost"} {
		s := readExample(t)
		s[Port], s[EntraAuthority] = "1", authority
		if _, err := Load(env(s)); err != nil {
			t.Errorf("%s=%s: %v", EntraAuthority, authority, err)
		}
	}
	for _, authority := range []string{"https://login.microsoftonline.com", "https://10.0.0.7", "https://127.0.0.1.example.com", "https://localhost.example.com", ""} {
		s := readExample(t)
		s[EntraAuthority] = authority // and no port: reported too
		_, err := Load(env(s))
		if err == nil {
			t.Errorf("%s=%q: the example secrets were accepted", EntraAuthority, authority)
			continue
		}
		for _, name := range append(secrets, Port) {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: the error does not name %s: %v", EntraAuthority, authority, name, err)
			}
		}
		if want := TrackingKeys + " is the example value from local.settings.example.json; set a secret of your own"; !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	}
	// One example secret among real ones is refused alone.
	for _, name := range secrets {
		s := validSettings()
		s[name] = readExample(t)[name]
		_, err := Load(env(s))
		if err == nil || !strings.Contains(err.Error(), name+" is the example value") {
			t.Errorf("the example %s: got %v", name, err)
		}
	}
}

// TestExampleSecretsAreTheFiles keeps exampleSecrets() and the example
// file's secrets equal, a new placeholder secret in the file included.
func TestExampleSecretsAreTheFiles(t *testing.T) {
	vals := readExample(t)
	listed := map[string]bool{}
	for _, s := range exampleSecrets() {
		listed[s.name] = true
		if got := vals[s.name]; got != s.value {
			t.Errorf("local.settings.example.json has %s=%q, exampleSecrets() %q", s.name, got, s.value)
		}
	}
	for name, v := range vals {
		// The example's keys are base64 of such words, after an id.
		plain, _ := base64.StdEncoding.DecodeString(v[strings.Index(v, ":")+1:])
		if (strings.Contains(v, "not-a-secret") || strings.Contains(string(plain), "not-a-secret")) && !listed[name] {
			t.Errorf("local.settings.example.json has a secret %s that exampleSecrets() does not list", name)
		}
	}
}
