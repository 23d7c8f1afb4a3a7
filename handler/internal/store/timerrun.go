package store

import (
	"context"
	"time"
)

// tableTimerRuns keeps, for each timer function, its last run: when it
// started and ended and whether it failed. One row per function, replaced
// by each run (one write a run: the sweep's is one a minute). It holds no
// one's data, only function names and times, and is read by the app's
// health answer (GET /v1/health) to say whether the timers keep their
// schedules.
const tableTimerRuns = "timerruns"

// timerRunsPartition is the one partition of tableTimerRuns.
const timerRunsPartition = "timer"

// TimerRun is one run of a timer function.
type TimerRun struct {
	// Function is the timer's name in the function table.
	Function  string
	StartedAt time.Time
	EndedAt   time.Time
	// Failure is the kind of error the run ended with (apperr.Kind);
	// empty when it succeeded.
	Failure string
}

// RecordTimerRun stores r as its function's last run, replacing the one
// before.
func (s *Store) RecordTimerRun(ctx context.Context, r TimerRun) error {
	e := newEntity(timerRunsPartition, r.Function)
	setTime(e, "StartedAt", r.StartedAt)
	setTime(e, "EndedAt", r.EndedAt)
	e.Properties["Failure"] = r.Failure
	return s.replaceEntity(ctx, tableTimerRuns, e, "")
}

// TimerRuns returns the last recorded run of each timer function, by
// function name; a timer that never ran has none.
func (s *Store) TimerRuns(ctx context.Context) (map[string]TimerRun, error) {
	out := map[string]TimerRun{}
	err := s.query(ctx, tableTimerRuns, "PartitionKey eq '"+timerRunsPartition+"'", func(e entity) error {
		out[e.RowKey] = TimerRun{
			Function:  e.RowKey,
			StartedAt: getTime(e, "StartedAt"),
			EndedAt:   getTime(e, "EndedAt"),
			Failure:   getString(e, "Failure"),
		}
		return nil
	})
	return out, err
}
