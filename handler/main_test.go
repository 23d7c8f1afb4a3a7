package main

import (
	"bytes"
	"context"
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
