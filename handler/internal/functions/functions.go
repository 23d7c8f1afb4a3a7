// Package functions declares the app's Azure Functions once. The table below
// is the single source of truth: it generates every function.json and
// host.json (see write.go), and the app registers one handler per entry.
package functions

import (
	"mailmerge/handler/internal/queue"
)

// Trigger is what starts a function.
type Trigger string

// The triggers the app uses.
const (
	HTTP  Trigger = "http"
	Queue Trigger = "queue"
	Timer Trigger = "timer"
)

// Binding names, as the host uses them in {Data, Metadata} payloads.
const (
	QueueBinding = "msg"
	TimerBinding = "timer"
)

// Function is one Azure Function.
type Function struct {
	Name    string
	Trigger Trigger
	// Route is the HTTP route template (routePrefix is empty, so it is the
	// path without its leading slash); Methods are lower-case HTTP methods.
	Route   string
	Methods []string
	// Queue is the queue (or Service Bus entity) a queue function drains.
	Queue string
	// Schedule is a timer's NCRONTAB expression, six fields with seconds, UTC.
	Schedule string
}

var allMethods = []string{"get", "post", "put", "patch", "delete"}

// Table is every function of the app.
func Table() []Function {
	return []Function{
		// The add-in and dashboard API. One HTTP function forwards all of /v1
		// to the Go router, which owns routing and authentication.
		{Name: "api", Trigger: HTTP, Route: "v1/{*path}", Methods: allMethods},
		// Postmark's inbound webhook: the template email that starts a campaign.
		{Name: "postmark-inbound", Trigger: HTTP, Route: "hooks/postmark/inbound", Methods: []string{"post"}},
		// The open pixel, tracked links and the unsubscribe page, for
		// recipients: no sign-in, the signed token is the credential.
		{Name: "open", Trigger: HTTP, Route: "o/{token}", Methods: []string{"get", "head"}},
		{Name: "click", Trigger: HTTP, Route: "c/{token}", Methods: []string{"get", "head"}},
		{Name: "unsubscribe", Trigger: HTTP, Route: "u/{token}", Methods: []string{"get", "head", "post"}},
		// The web app: the dashboard at / and its files under /app/, the
		// Outlook add-in's pages and manifest under /addin/ (every other
		// route is more specific, so this one only gets the rest).
		{Name: "web", Trigger: HTTP, Route: "{*path}", Methods: []string{"get", "head"}},
		// Deletes everything an account has, after DELETE /v1/me.
		{Name: "account-delete", Trigger: Queue, Queue: queue.AccountDelete},
		// Deletes a campaign with its rows and blobs, after DELETE /v1/campaigns/{id}.
		{Name: "campaign-delete", Trigger: Queue, Queue: queue.CampaignDelete},
		// Extracts the rows of an uploaded spreadsheet (or copies another
		// campaign's), then deletes the upload.
		{Name: "campaign-data", Trigger: Queue, Queue: queue.CampaignData},
		// Starts a campaign once its template email arrived: compiles the
		// template against the columns, checks attachments, plans sending.
		{Name: "campaign-start", Trigger: Queue, Queue: queue.CampaignStart},
		// One send step of a campaign: sends rows at the mailbox's pace,
		// then schedules the next step.
		{Name: "campaign-send", Trigger: Queue, Queue: queue.CampaignSend},
		// Sends the owner's notices through Postmark.
		{Name: "notify", Trigger: Queue, Queue: queue.Notify},
		// Judges (person or machine) and stores the tracking endpoints'
		// events, and records each row's first open and click.
		{Name: "tracking-events", Trigger: Queue, Queue: queue.TrackingEvents},
		// Reads the inbox of one account that lets us (replies to and
		// bounces of its messages), from where the last read stopped.
		{Name: "mailbox-read", Trigger: Queue, Queue: queue.MailboxRead},
		// Finds the accounts whose inbox is read (they let us, and a
		// campaign of theirs sent within 30 days) and queues a read of
		// each. Every 5 minutes.
		{Name: "mailbox-scan", Trigger: Timer, Schedule: "40 */5 * * * *"},
		// Settles what crashes leave: overdue steps (the next step settles
		// rows in sending past their claim's deadline), lost starts. Every minute.
		{Name: "sweep", Trigger: Timer, Schedule: "30 * * * * *"},
		// Exports the tables to the backups containers (Table storage has
		// no point-in-time restore of its own): whole at the first run of
		// each hour, what changed at the others. Every 5 minutes.
		{Name: "backup", Trigger: Timer, Schedule: "20 */5 * * * *"},
		// Deletes what the privacy promises say must go (expired debug
		// entries, uploads whose processing never finished) and finishes
		// interrupted deletions. Hourly.
		{Name: "retention", Trigger: Timer, Schedule: "0 5 * * * *"},
	}
}
