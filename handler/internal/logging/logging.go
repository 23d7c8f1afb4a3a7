// Package logging gives every log line the Functions invocation id without
// passing it by hand: the id travels in the context and a slog.Handler adds it.
// Log lines carry ids and counts only, never addresses, cell values or bodies.
package logging

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey struct{}

// WithInvocation returns a context carrying the host's invocation id.
func WithInvocation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Invocation returns the invocation id carried by ctx, or "".
func Invocation(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a JSON logger writing to w that adds "invocationId" to every
// record logged with a context that carries one.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(invocationHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

type invocationHandler struct{ slog.Handler }

func (h invocationHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := Invocation(ctx); id != "" {
		r.AddAttrs(slog.String("invocationId", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h invocationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return invocationHandler{h.Handler.WithAttrs(attrs)}
}

func (h invocationHandler) WithGroup(name string) slog.Handler {
	return invocationHandler{h.Handler.WithGroup(name)}
}
