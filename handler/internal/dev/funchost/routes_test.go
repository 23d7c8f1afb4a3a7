package funchost

import "testing"

func TestRouteTemplates(t *testing.T) {
	tests := []struct {
		prefix, route, path string
		want                bool
	}{
		{"", "v1/{*path}", "/v1/me", true},
		{"", "v1/{*path}", "/v1/campaigns/abc/data", true},
		{"", "v1/{*path}", "/v1", true},
		{"", "v1/{*path}", "/v2/me", false},
		{"", "V1/{*path}", "/v1/me", true},
		{"", "o/{token}", "/o/abc", true},
		{"", "o/{token}", "/o/abc/def", false},
		{"", "o/{token}", "/o/", false},
		{"", "hooks/postmark/inbound", "/hooks/postmark/inbound", true},
		{"", "hooks/postmark/inbound", "/hooks/postmark", false},
		{"api", "hello", "/api/hello", true},
		{"api", "hello", "/hello", false},
		{"", "items/{id?}", "/items", true},
		{"", "items/{id?}", "/items/3", true},
		{"", "items/{id:int}", "/items/3", true},
	}
	for _, tt := range tests {
		if got := RouteMatches(tt.prefix, tt.route, tt.path); got != tt.want {
			t.Errorf("prefix %q route %q path %q: got %v, want %v", tt.prefix, tt.route, tt.path, got, tt.want)
		}
	}
}

func TestTimeSpans(t *testing.T) {
	tests := map[string]string{"00:10:00": "10m0s", "00:00:02": "2s", "1.02:00:00": "26h0m0s", "00:00:00.5": "500ms"}
	for in, want := range tests {
		if got := parseTimeSpan(in, 0).String(); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestSchedules(t *testing.T) {
	for _, s := range []string{"0 5 * * * *", "*/10 * * * * *", "00:05:00"} {
		if _, err := parseSchedule(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := parseSchedule("5 * * * *"); err == nil {
		t.Error("a five-field cron expression must be refused: NCRONTAB has seconds")
	}
}
