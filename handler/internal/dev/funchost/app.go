// Package funchost runs a staged Functions app the way the Azure Functions
// host does, for machines without Core Tools: it starts the custom handler
// with FUNCTIONS_CUSTOMHANDLER_PORT, waits for GET /, forwards HTTP requests,
// polls Storage queues and invokes queue functions with the host's payload
// shape, fires timers on their NCRONTAB schedules, retries failed messages up
// to maxDequeueCount and then moves them to <queue>-poison. It reads the same
// files the real host reads: host.json, */function.json, local.settings.json.
package funchost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// hostJSON is the part of host.json the local host honours.
type hostJSON struct {
	Version         string `json:"version"`
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
		Queues struct {
			MaxPollingInterval string `json:"maxPollingInterval"`
			VisibilityTimeout  string `json:"visibilityTimeout"`
			BatchSize          int    `json:"batchSize"`
			NewBatchThreshold  *int   `json:"newBatchThreshold"`
			MaxDequeueCount    int    `json:"maxDequeueCount"`
			MessageEncoding    string `json:"messageEncoding"`
		} `json:"queues"`
	} `json:"extensions"`
}

// binding is one entry of a function.json.
type binding struct {
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	Name       string   `json:"name"`
	Methods    []string `json:"methods"`
	Route      string   `json:"route"`
	QueueName  string   `json:"queueName"`
	Connection string   `json:"connection"`
	Schedule   string   `json:"schedule"`
}

// function is one function of the staged app.
type function struct {
	Name     string
	Bindings []binding
}

// trigger returns the function's trigger binding.
func (f function) trigger() (binding, bool) {
	for _, b := range f.Bindings {
		if b.Direction == "in" && strings.HasSuffix(strings.ToLower(b.Type), "trigger") {
			return b, true
		}
	}
	return binding{}, false
}

// forwarded reports whether the host would forward HTTP requests to this
// function unchanged: exactly one httpTrigger in and one http out.
func (f function) forwarded() bool {
	if len(f.Bindings) != 2 {
		return false
	}
	var in, out bool
	for _, b := range f.Bindings {
		in = in || (b.Type == "httpTrigger" && b.Direction == "in")
		out = out || (b.Type == "http" && b.Direction == "out")
	}
	return in && out
}

// appRoot is a loaded staged app.
type appRoot struct {
	Dir       string
	Host      hostJSON
	Functions []function
	Settings  map[string]string

	routePrefix        string
	functionTimeout    time.Duration
	maxPollingInterval time.Duration
	visibilityTimeout  time.Duration
	batchSize          int
	newBatchThreshold  int
	maxDequeueCount    int
	base64Messages     bool
}

// loadApp reads host.json, every <dir>/function.json and local.settings.json.
func loadApp(dir string) (*appRoot, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	a := &appRoot{Dir: dir, Settings: map[string]string{}}
	raw, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		return nil, fmt.Errorf("read host.json: %w", err)
	}
	if err := json.Unmarshal(raw, &a.Host); err != nil {
		return nil, fmt.Errorf("host.json: %w", err)
	}
	if a.Host.Version != "2.0" {
		return nil, fmt.Errorf("host.json: version must be \"2.0\", not %q", a.Host.Version)
	}
	if a.Host.CustomHandler.Description.DefaultExecutablePath == "" {
		return nil, fmt.Errorf("host.json: customHandler.description.defaultExecutablePath is missing")
	}
	a.routePrefix = "api"
	if p := a.Host.Extensions.HTTP.RoutePrefix; p != nil {
		a.routePrefix = strings.Trim(*p, "/")
	}
	q := a.Host.Extensions.Queues
	a.functionTimeout = parseTimeSpan(a.Host.FunctionTimeout, 30*time.Minute)
	a.maxPollingInterval = max(parseTimeSpan(q.MaxPollingInterval, time.Minute), 100*time.Millisecond)
	a.visibilityTimeout = parseTimeSpan(q.VisibilityTimeout, 0)
	a.batchSize = q.BatchSize
	if a.batchSize <= 0 {
		a.batchSize = 16
	}
	a.batchSize = min(a.batchSize, 32)
	a.newBatchThreshold = a.batchSize / 2
	if q.NewBatchThreshold != nil {
		a.newBatchThreshold = *q.NewBatchThreshold
	}
	a.maxDequeueCount = q.MaxDequeueCount
	if a.maxDequeueCount <= 0 {
		a.maxDequeueCount = 5
	}
	a.base64Messages = q.MessageEncoding == "" || strings.EqualFold(q.MessageEncoding, "base64")

	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "function.json"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var fj struct {
			Bindings []binding `json:"bindings"`
			Disabled bool      `json:"disabled"`
		}
		if err := json.Unmarshal(raw, &fj); err != nil {
			return nil, fmt.Errorf("%s/function.json: %w", e.Name(), err)
		}
		if fj.Disabled {
			continue
		}
		f := function{Name: e.Name(), Bindings: fj.Bindings}
		if _, ok := f.trigger(); !ok {
			return nil, fmt.Errorf("%s/function.json: no trigger binding", e.Name())
		}
		a.Functions = append(a.Functions, f)
	}
	sort.Slice(a.Functions, func(i, j int) bool { return a.Functions[i].Name < a.Functions[j].Name })

	raw, err = os.ReadFile(filepath.Join(dir, "local.settings.json"))
	if err == nil {
		var ls struct {
			Values map[string]string `json:"Values"`
		}
		if err := json.Unmarshal(raw, &ls); err != nil {
			return nil, fmt.Errorf("local.settings.json: %w", err)
		}
		a.Settings = ls.Values
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return a, nil
}

// parseTimeSpan reads a .NET TimeSpan such as "00:10:00" or "1.02:00:00".
func parseTimeSpan(s string, def time.Duration) time.Duration {
	if s == "" || s == "-1" {
		return def
	}
	var days time.Duration
	if d, rest, ok := strings.Cut(s, "."); ok && !strings.Contains(d, ":") {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil {
			days, s = time.Duration(n)*24*time.Hour, rest
		}
	}
	var h, m int
	var sec float64
	if _, err := fmt.Sscanf(s, "%d:%d:%g", &h, &m, &sec); err != nil {
		return def
	}
	return days + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
}
