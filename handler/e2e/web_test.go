package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// screenshots is where the browser tests save each screen.
var screenshots = filepath.Join("..", "..", "build", "screenshots")

// browser starts headless Chromium (Debian's chromium package, which
// .ci/run installs). The dev issuer's certificate comes from the local
// host's own CA, which this browser is told to accept.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium: install Debian's chromium package (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// page checks a screen as a person would meet it: axe-core finds no
// serious or critical accessibility violation, and it is saved at 1280 px
// and at 320 px (the Outlook task pane).
func page(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	axe, err := os.ReadFile(filepath.Join("..", "internal", "web", "testdata", "vendor", "axe-core.axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{1280, 320} {
		err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Sleep(300*time.Millisecond))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Evaluate[any](string(axe)))
		}
		var violations []string
		if err == nil {
			violations, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
				.filter(v => v.impact === "serious" || v.impact === "critical")
				.map(v => v.id + ": " + v.help + " (" + v.nodes.map(n => n.target.join(" ")).join(", ") + ")"))`, chromedp.EvalAwaitPromise))
		}
		var shot []byte
		if err == nil {
			shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if err != nil {
			t.Fatalf("%s at %d px: %v", name, width, err)
		}
		for _, v := range violations {
			t.Errorf("%s at %d px: %s", name, width, v)
		}
		file := filepath.Join(screenshots, name+"-"+map[int64]string{1280: "1280", 320: "320"}[width]+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

// TestWebApp walks the dashboard in a real browser against the local
// host: sign in as alice through MSAL.js and the dev issuer, create a
// campaign with tracking, upload a CSV and read its report.
func TestWebApp(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := browser(t)
	tag := testenv.Name("web")
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, []byte("Email,First name\n"+tag+".1@example.com,Ann\n"+tag+".2@example.com,Ben\nnot-an-address,Cy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\npage: %s", what, err, body)
		}
	}
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	run("open the dashboard", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`))
	page(t, ctx, "signin")
	run("sign in", chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)), chromedp.Click(chromedp.CSS(`button[value="alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	who := text("signed in as alice", `.who .email`)
	if who != "alice@contoso.example" {
		t.Errorf("signed in as %q", who)
	}
	run("no campaigns yet", chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	page(t, ctx, "campaigns-empty")
	run("create a campaign", chromedp.SendKeys(chromedp.CSS(`form.create input:not([type])`), "Spring "+tag),
		chromedp.Click(`//label[contains(., "Count opens")]/input`), chromedp.Click(`//label[contains(., "Count clicks")]/input`),
		chromedp.Click(`//button[contains(., "Create campaign")]`), chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)))
	title := text("the campaign page", `#campaign-title`)
	if title != "Spring "+tag {
		t.Errorf("campaign title %q", title)
	}
	address := text("the campaign's address", `#inbound`)
	if !strings.HasPrefix(address, "campaigns+") || !strings.Contains(address, "@") {
		t.Errorf("inbound address %q", address)
	}
	page(t, ctx, "campaign-new")
	run("upload the CSV", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}),
		chromedp.WaitVisible(`//p[contains(., "will be sent")]`))
	data := text("the data report", `.data`)
	for _, want := range []string{"people.csv", "3 rows", "2 will be sent", "1 skipped"} {
		if !strings.Contains(data, want) {
			t.Errorf("data report %q lacks %q", data, want)
		}
	}
	page(t, ctx, "campaign-data")
}
