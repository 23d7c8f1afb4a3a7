package app

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"mailmerge/handler/internal/dev/funchost"
	"mailmerge/handler/internal/functions"
)

// TestOpenAPIDocumentMatchesTheRouter fails when a route is in the router but
// not in the document, or the reverse, and when the document is not valid
// OpenAPI 3.
func TestOpenAPIDocumentMatchesTheRouter(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	publicRoutes := map[string]bool{}
	for _, rt := range (&App{}).routes() {
		publicRoutes[rt.method+" "+rt.pattern] = rt.public != nil
	}
	var inDoc, inRouter []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
			bearer := op.Security == nil // the document's default: Entra bearer tokens
			if op.Security != nil {
				for _, req := range *op.Security {
					_, ok := req["entra"]
					bearer = bearer || ok
				}
			}
			if bearer == publicRoutes[method+" "+path] {
				t.Errorf("%s %s: the document's security does not match the route's", method, path)
			}
		}
	}
	for _, rt := range (&App{}).routes() {
		inRouter = append(inRouter, rt.method+" "+rt.pattern)
	}
	sort.Strings(inDoc)
	sort.Strings(inRouter)
	if strings.Join(inDoc, "\n") != strings.Join(inRouter, "\n") {
		t.Errorf("document:\n%s\nrouter:\n%s", strings.Join(inDoc, "\n"), strings.Join(inRouter, "\n"))
	}
}

// TestEveryRouteIsReachableThroughAFunction: the host only forwards paths an
// HTTP function's route template matches, so every API route needs one.
func TestEveryRouteIsReachableThroughAFunction(t *testing.T) {
	for _, rt := range (&App{}).routes() {
		path := strings.NewReplacer("{id}", "x", "{token}", "x").Replace(rt.pattern)
		reached := false
		for _, f := range functions.Table() {
			if f.Trigger != functions.HTTP || !funchost.RouteMatches("", f.Route, path) {
				continue
			}
			for _, m := range f.Methods {
				reached = reached || strings.EqualFold(m, rt.method)
			}
		}
		if !reached {
			t.Errorf("%s %s is not reachable through any HTTP function", rt.method, rt.pattern)
		}
	}
}
