package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestRunReportsEveryMissingSetting(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"handler"}, func(string) string { return "" }, &out, &errOut)
	if err == nil {
		t.Fatal("run with no settings must fail")
	}
	for _, name := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "AzureWebJobsStorage", "BackupStorage", "QUEUE_TRANSPORT", "ENTRA_AUTHORITY", "ENTRA_CLIENT_ID"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

// TestProductionBinaryLeavesOutTheStandIns: the local stand-ins (Graph,
// Postmark and Entra sandboxes, the local Functions host, test helpers) live
// under internal/dev/ and never reach the deployed handler.
func TestProductionBinaryLeavesOutTheStandIns(t *testing.T) {
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	const dev = "mailmerge/handler/internal/dev/"
	for _, d := range deps(".") {
		if strings.HasPrefix(d, dev) {
			t.Errorf("the handler imports %s", d)
		}
	}
	// The check sees dev packages where they are used: the local host.
	found := false
	for _, d := range deps("./cmd/funchost") {
		found = found || strings.HasPrefix(d, dev)
	}
	if !found {
		t.Error("go list found no dev package in cmd/funchost: the check would not see one in the handler")
	}
}
