package functions

import (
	"fmt"
	"net/http"
)

// Serve returns the handler the Functions host talks to: the host POSTs
// each queue and timer invocation to /<function name>, handled here by
// invocations[name], and forwards the requests of the HTTP functions as
// they came, handled by api. It fails if a queue or timer function of the
// table has no handler.
func Serve(api http.Handler, invocations map[string]http.Handler) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, f := range Table() {
		if f.Trigger == HTTP {
			continue
		}
		h, ok := invocations[f.Name]
		if !ok {
			return nil, fmt.Errorf("function %s is in the table but has no handler", f.Name)
		}
		mux.Handle("POST /"+f.Name, h)
	}
	mux.Handle("/", api)
	return mux, nil
}
