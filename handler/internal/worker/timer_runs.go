package worker

import (
	"context"
	"net/http"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
)

// timer adapts fn, the timer function name of the function table, to the
// Functions protocol and records each of its runs: when it started, when
// it ended and the kind of error it failed with, one write a run
// (store.RecordTimerRun). The app's health answer reads them to say
// whether each timer keeps its schedule. Every timer is registered through
// here, so none goes unrecorded.
func (w *Worker) timer(name string, fn invoke.TimerFunc) http.Handler {
	return invoke.TimerHandler(w.Logger, name, functions.TimerBinding, func(ctx context.Context, t invoke.Timer) (err error) {
		run := store.TimerRun{Function: name, StartedAt: w.Now()}
		defer func() {
			// A panic is recorded as a failure, then goes on to invoke,
			// which answers the host.
			v := recover()
			switch {
			case v != nil:
				run.Failure = string(apperr.Internal)
			case err != nil:
				run.Failure = string(apperr.KindOf(err))
			}
			run.EndedAt = w.Now()
			w.recordRun(ctx, run)
			if v != nil {
				panic(v)
			}
		}()
		return fn(ctx, t)
	})
}

// recordRun stores run, also when the invocation's context has ended
// (host shutdown): the run happened. A record that cannot be written is
// logged, not the run's failure: the next run writes it again.
func (w *Worker) recordRun(ctx context.Context, run store.TimerRun) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := w.Store.RecordTimerRun(ctx, run); err != nil {
		w.Logger.WarnContext(ctx, "timer run not recorded", "function", run.Function, "error", err.Error())
	}
}
