package config

import (
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
		TokenCacheKey:           "bG9jYWwtb25seS1rZXktbm90LWEtc2VjcmV0LTAwMDA=",
		PostmarkServerToken:     "POSTMARK_API_TEST",
		NotifyFrom:              "notices@example.com",
		PublicBaseURL:           "https://mailmerge.example.com",
		TrackingKeys:            "1:bG9jYWwtb25seS10cmFja2luZy1rZXktbm90LWEtc2VjcmV0",
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
	var got []string
	for k := range file.Values {
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
	vals := file.Values
	vals[Port] = "1"
	if _, err := Load(env(vals)); err != nil {
		t.Errorf("the example settings do not load: %v", err)
	}
}
