// Command addin writes the Outlook add-in's manifest for a deployment, for
// side-loading (make package runs it). The function app serves the same
// manifest at /addin/manifest.xml.
//
//	go run ./handler/cmd/addin -base https://mail.contoso.com -client-id <app id> -out build/manifest.xml
package main

import (
	"flag"
	"fmt"
	"os"

	"mailmerge/handler/internal/web"
)

func main() {
	base := flag.String("base", os.Getenv("PUBLIC_BASE_URL"), "the app's public base URL, https://host (PUBLIC_BASE_URL)")
	clientID := flag.String("client-id", os.Getenv("ENTRA_CLIENT_ID"), "the app registration's application id (ENTRA_CLIENT_ID)")
	authority := flag.String("authority", "https://login.microsoftonline.com", "Entra's sign-in authority (ENTRA_AUTHORITY)")
	out := flag.String("out", "build/manifest.xml", "where to write the manifest")
	flag.Parse()
	if err := run(*base, *clientID, *authority, *out); err != nil {
		fmt.Fprintln(os.Stderr, "addin:", err)
		os.Exit(1)
	}
}

func run(base, clientID, authority, out string) error {
	if base == "" || clientID == "" {
		return fmt.Errorf("give -base (the app's https address) and -client-id (the app registration's application id)")
	}
	site, err := web.New(web.Config{ClientID: clientID, Authority: authority, BaseURL: base})
	if err != nil {
		return err
	}
	m, err := site.Manifest()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, m, 0o644); err != nil {
		return err
	}
	fmt.Println(out)
	return nil
}
