// Command sample sends the sample campaign of samples/ through a running
// local host, the way a user would: sign in (dev issuer), install, create a
// campaign, upload the spreadsheet, email the template to the campaign's
// address (as Postmark's inbound webhook), then wait until every row is
// sent and print where the .eml files are.
//
//	sample [-host http://127.0.0.1:7071] [-settings build/app/local.settings.json] [-dir samples] [-mail build/app/mail]
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sample:", err)
		os.Exit(1)
	}
}

type client struct {
	http  *http.Client
	host  string
	token string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	host := fs.String("host", "http://127.0.0.1:7071", "the local Functions host")
	settingsPath := fs.String("settings", "build/app/local.settings.json", "the staged app's settings (dev issuer, webhook password, sandbox URLs)")
	dir := fs.String("dir", "samples", "the sample spreadsheet, subject, template and attachment")
	mailDir := fs.String("mail", "build/app/mail", "where the local host's Graph sandbox writes .eml files")
	user := fs.String("user", "alice", "the dev user who sends (alice, bob or carol)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var ls struct{ Values map[string]string }
	raw, err := os.ReadFile(*settingsPath)
	if err != nil {
		return fmt.Errorf("read settings (run make stage first): %w", err)
	}
	if err := json.Unmarshal(raw, &ls); err != nil {
		return fmt.Errorf("%s: %w", *settingsPath, err)
	}
	set := ls.Values
	hc, err := devClient(*settingsPath)
	if err != nil {
		return err
	}
	c := &client{http: hc, host: strings.TrimRight(*host, "/")}

	// Sign in as the dev user, as the add-in would.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.do(ctx, "POST", strings.TrimRight(set["ENTRA_AUTHORITY"], "/")+"/dev/token", "application/json", []byte(`{"user":"`+*user+`"}`), nil, &tok); err != nil {
		return fmt.Errorf("dev sign-in: %w", err)
	}
	c.token = tok.AccessToken
	var me struct {
		Account struct{ Email string }
		Graph   struct{ Consent, Message string }
	}
	if err := c.api(ctx, "POST", "/v1/install", "", nil, &me); err != nil {
		return err
	}
	fmt.Fprintf(out, "signed in as %s; Graph access: %s\n", me.Account.Email, me.Graph.Consent)

	var camp struct {
		ID, InboundAddress string
	}
	name := "Sample renewal campaign " + time.Now().Format("15:04:05")
	if err := c.api(ctx, "POST", "/v1/campaigns", "application/json", []byte(`{"name":"`+name+`"}`), &camp); err != nil {
		return err
	}
	sheet, err := os.ReadFile(filepath.Join(*dir, "recipients.csv"))
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "PUT", c.host+"/v1/campaigns/"+camp.ID+"/data", bytes.NewReader(sheet))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("X-File-Name", "recipients.csv")
	if err := c.send(req, nil); err != nil {
		return err
	}
	var data struct {
		Status    string
		ValidRows int `json:"validRows"`
		Error     *struct{ Message string }
	}
	if err := poll(ctx, func() (bool, error) {
		err := c.api(ctx, "GET", "/v1/campaigns/"+camp.ID+"/data", "", nil, &data)
		return data.Status != "processing", err
	}); err != nil {
		return err
	}
	if data.Status != "ready" {
		return fmt.Errorf("the spreadsheet was not accepted (%s); see GET /v1/campaigns/%s/data", data.Status, camp.ID)
	}
	fmt.Fprintf(out, "campaign %q: %d recipients ready; emailing the template to %s\n", name, data.ValidRows, camp.InboundAddress)

	payload, err := inbound(*dir, me.Account.Email, camp.InboundAddress)
	if err != nil {
		return err
	}
	req, _ = http.NewRequestWithContext(ctx, "POST", c.host+"/hooks/postmark/inbound", bytes.NewReader(payload))
	req.SetBasicAuth(set["POSTMARK_INBOUND_USER"], set["POSTMARK_INBOUND_PASSWORD"])
	req.Header.Set("Content-Type", "application/json")
	if err := c.send(req, nil); err != nil {
		return fmt.Errorf("inbound webhook: %w", err)
	}

	var status struct {
		Status string
		Counts map[string]int
		Reason *struct{ Code, Message string }
	}
	if err := poll(ctx, func() (bool, error) {
		err := c.api(ctx, "GET", "/v1/campaigns/"+camp.ID, "", nil, &status)
		switch status.Status {
		case "completed", "failed", "paused", "cancelled":
			return true, err
		}
		return false, err
	}); err != nil {
		return err
	}
	if status.Status != "completed" {
		reason := ""
		if status.Reason != nil {
			reason = ": " + status.Reason.Message
		}
		return fmt.Errorf("the campaign is %s%s", status.Status, reason)
	}
	fmt.Fprintf(out, "campaign completed: %d sent, %d failed, %d unknown, %d skipped\n",
		status.Counts["sent"], status.Counts["failed"], status.Counts["unknown"], status.Counts["skipped"])
	folder := filepath.Join(*mailDir, "graph", strings.ToLower(me.Account.Email))
	emls, _ := filepath.Glob(filepath.Join(folder, "*.eml"))
	fmt.Fprintf(out, "the sent messages are .eml files in %s (%d files); open one in any mail program\n", folder, len(emls))
	if pm := set["POSTMARK_API_URL"]; pm != "" {
		fmt.Fprintf(out, "the owner's notices: %s/_sandbox/messages\n", strings.TrimRight(pm, "/"))
	}
	fmt.Fprintf(out, "the dashboard: %s/#/campaigns/%s  (sign in as %s; first open %s/dev/users once and accept its certificate)\n",
		strings.TrimRight(*host, "/"), camp.ID, *user, strings.TrimRight(set["ENTRA_AUTHORITY"], "/"))
	return nil
}

// devClient trusts the local host's dev issuer certificate when it serves
// one (written next to the staged app as entra-ca.pem).
func devClient(settingsPath string) (*http.Client, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	pem, err := os.ReadFile(filepath.Join(filepath.Dir(settingsPath), "entra-ca.pem"))
	if errors.Is(err, os.ErrNotExist) {
		return hc, nil
	}
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return hc, nil
}

// inbound builds Postmark's inbound webhook payload for the sample
// template, as Postmark would post it: sender checks passed, the
// campaign's token as MailboxHash.
func inbound(dir, from, to string) ([]byte, error) {
	subject, err := os.ReadFile(filepath.Join(dir, "subject.txt"))
	if err != nil {
		return nil, err
	}
	html, err := os.ReadFile(filepath.Join(dir, "template.html"))
	if err != nil {
		return nil, err
	}
	leaflet, err := os.ReadFile(filepath.Join(dir, "leaflet.pdf"))
	if err != nil {
		return nil, err
	}
	local, _, _ := strings.Cut(to, "@")
	_, hash, _ := strings.Cut(local, "+")
	now := time.Now().UTC()
	return json.Marshal(map[string]any{
		"MessageID": fmt.Sprintf("sample-%d", now.UnixNano()), "MessageStream": "inbound",
		"From": from, "FromName": "", "FromFull": map[string]string{"Email": from, "Name": "", "MailboxHash": ""},
		"To": to, "ToFull": []map[string]string{{"Email": to, "Name": "", "MailboxHash": hash}},
		"Cc": "", "CcFull": []any{}, "Bcc": "", "BccFull": []any{}, "OriginalRecipient": to, "ReplyTo": "",
		"Subject": strings.TrimSpace(string(subject)), "MailboxHash": hash, "Date": now.Format(time.RFC1123Z),
		"TextBody": "", "HtmlBody": string(html), "StrippedTextReply": "", "Tag": "",
		"Headers": []map[string]string{
			{"Name": "X-Spam-Status", "Value": "No"},
			{"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"},
			{"Name": "Received-SPF", "Value": `pass (sample) identity=mailfrom; envelope-from="` + from + `"`},
		},
		"Attachments": []map[string]any{{"Name": "Leaflet.pdf", "Content": base64.StdEncoding.EncodeToString(leaflet),
			"ContentType": "application/pdf", "ContentLength": len(leaflet), "ContentID": ""}},
	})
}

func (c *client) api(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	return c.do(ctx, method, c.host+path, ctype, body, map[string]string{"Authorization": "Bearer " + c.token}, out)
}

func (c *client) do(ctx context.Context, method, url, ctype string, body []byte, headers map[string]string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.send(req, out)
}

func (c *client) send(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func poll(ctx context.Context, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.New("gave up waiting after 5 minutes")
		case <-time.After(500 * time.Millisecond):
		}
	}
}
