package funchost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// parseSchedule reads an NCRONTAB expression or a TimeSpan such as 00:05:00.
func parseSchedule(expr string) (cron.Schedule, error) {
	if d := parseTimeSpan(expr, 0); d > 0 {
		return cron.Every(d), nil
	}
	// The host's NCRONTAB has six fields, seconds first, in UTC.
	parser := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}

func (h *Host) startTimers(ctx context.Context, wg *sync.WaitGroup) error {
	for _, f := range h.app.Functions {
		t, _ := f.trigger()
		if t.Type != "timerTrigger" {
			continue
		}
		sched, err := parseSchedule(t.Schedule)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		wg.Go(func() {
			last := time.Time{}
			for {
				next := sched.Next(time.Now().UTC())
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				h.fireTimer(ctx, f, t, last, sched.Next(next))
				last = next
			}
		})
	}
	return nil
}

// fireTimer invokes a timer function with the host's timer object.
func (h *Host) fireTimer(ctx context.Context, f function, t binding, last, next time.Time) {
	now := time.Now().UTC()
	status := map[string]any{
		"Last":        last.Format(time.RFC3339Nano),
		"Next":        next.Format(time.RFC3339Nano),
		"LastUpdated": now.Format(time.RFC3339Nano),
	}
	data := map[string]any{t.Name: map[string]any{
		"Schedule":       map[string]any{"AdjustForDST": true},
		"ScheduleStatus": status,
		"IsPastDue":      false,
	}}
	h.invokeDefault(ctx, f.Name, "timer", data, map[string]any{"sys": sysMetadata(f.Name)})
}
