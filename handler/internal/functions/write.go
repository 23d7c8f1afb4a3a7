package functions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Transport selects how queue functions are triggered in the generated files.
type Transport string

// The transports: Service Bus in Azure, Storage queues on Azurite.
const (
	ServiceBus Transport = "servicebus"
	Storage    Transport = "storage"
)

// Connection setting names the bindings refer to (see config).
const (
	storageConnection    = "AzureWebJobsStorage"
	serviceBusConnection = "ServiceBusConnection"
)

// ExecutableName is the handler binary in the staged app root.
const ExecutableName = "handler"

type binding struct {
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Name         string   `json:"name"`
	AuthLevel    string   `json:"authLevel,omitempty"`
	Methods      []string `json:"methods,omitempty"`
	Route        string   `json:"route,omitempty"`
	QueueName    string   `json:"queueName,omitempty"`
	Connection   string   `json:"connection,omitempty"`
	Schedule     string   `json:"schedule,omitempty"`
	RunOnStartup *bool    `json:"runOnStartup,omitempty"`
	UseMonitor   *bool    `json:"useMonitor,omitempty"`
}

type functionJSON struct {
	Bindings []binding `json:"bindings"`
}

// FunctionJSON renders f's function.json for the transport.
func FunctionJSON(f Function, t Transport) ([]byte, error) {
	var bs []binding
	switch f.Trigger {
	case HTTP:
		// Exactly one httpTrigger in and one http out: the host then forwards
		// the original request (enableForwardingHttpRequest).
		bs = []binding{
			{Type: "httpTrigger", Direction: "in", Name: "req", AuthLevel: "anonymous", Methods: f.Methods, Route: f.Route},
			{Type: "http", Direction: "out", Name: "res"},
		}
	case Queue:
		b := binding{Direction: "in", Name: QueueBinding, QueueName: f.Queue}
		switch t {
		case ServiceBus:
			b.Type, b.Connection = "serviceBusTrigger", serviceBusConnection
		case Storage:
			b.Type, b.Connection = "queueTrigger", storageConnection
		default:
			return nil, fmt.Errorf("unknown transport %q", t)
		}
		bs = []binding{b}
	case Timer:
		no, yes := false, true
		bs = []binding{{Type: "timerTrigger", Direction: "in", Name: TimerBinding, Schedule: f.Schedule, RunOnStartup: &no, UseMonitor: &yes}}
	default:
		return nil, fmt.Errorf("function %s: unknown trigger %q", f.Name, f.Trigger)
	}
	return marshal(functionJSON{Bindings: bs})
}

// HostJSON renders host.json. The queues section applies to the Storage-queue
// transport (local runs); Service Bus settles messages itself.
func HostJSON() ([]byte, error) {
	host := map[string]any{
		"version":         "2.0",
		"functionTimeout": "00:10:00",
		"logging": map[string]any{
			"logLevel": map[string]any{"default": "Information"},
		},
		"extensionBundle": map[string]any{
			"id":      "Microsoft.Azure.Functions.ExtensionBundle",
			"version": "[4.*, 5.0.0)",
		},
		"customHandler": map[string]any{
			"description": map[string]any{
				"defaultExecutablePath": ExecutableName,
				"workingDirectory":      "",
				"arguments":             []string{},
			},
			"enableForwardingHttpRequest": true,
		},
		"extensions": map[string]any{
			// Empty so that routes are exactly DESIGN §3's: /v1/..., not /api/v1/...
			"http": map[string]any{"routePrefix": ""},
			// Storage queues carry the functions only in local runs. A send
			// step is scheduled about every 2 s (30 messages a minute, spread),
			// so an idle queue is polled well within that.
			"queues": map[string]any{
				"maxPollingInterval": "00:00:00.250",
				"visibilityTimeout":  "00:00:10",
				"batchSize":          16,
				"maxDequeueCount":    5,
				"messageEncoding":    "base64",
			},
			"serviceBus": map[string]any{
				"prefetchCount":              0,
				"maxConcurrentCalls":         16,
				"autoCompleteMessages":       true,
				"maxAutoLockRenewalDuration": "00:10:00",
			},
		},
	}
	return marshal(host)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Files returns every generated file, by path relative to the app root:
// host.json at the root and <dir>/<name>/function.json for each function.
// The repository keeps function folders under dir "functions"; a staged app
// root keeps them at the top (dir "").
func Files(dir string, t Transport) (map[string][]byte, error) {
	files := map[string][]byte{}
	host, err := HostJSON()
	if err != nil {
		return nil, err
	}
	files["host.json"] = host
	for _, f := range Table() {
		b, err := FunctionJSON(f, t)
		if err != nil {
			return nil, err
		}
		files[filepath.Join(dir, f.Name, "function.json")] = b
	}
	return files, nil
}

// Write writes Files under root, removing function folders under root/dir
// that the table no longer declares.
func Write(root, dir string, t Transport) error {
	files, err := Files(dir, t)
	if err != nil {
		return err
	}
	orphans, err := Orphans(root, dir)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		if err := os.RemoveAll(filepath.Join(root, dir, o)); err != nil {
			return err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Orphans lists folders under root/dir that hold a function.json but are not
// in the table.
func Orphans(root, dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, f := range Table() {
		known[f.Name] = true
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || known[e.Name()] {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, dir, e.Name(), "function.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
