// Package words holds the words a person reads for the service's states and
// counts, in one place: the dashboard and the task pane read them from the
// script written from this file (static/words.js), the notices from here,
// so all three say the same thing. A test scans these and every other text
// a person reads for the code's own words.
package words

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"mailmerge/handler/internal/campaign"
)

// State is how a state is named on a badge, and what it means for the
// person, in a sentence.
type State struct {
	Name    string `json:"name"`
	Meaning string `json:"meaning"`
}

// Campaigns names every campaign state.
var Campaigns = map[campaign.Status]State{
	campaign.Draft:     {"Draft", "Add your recipients: upload a spreadsheet."},
	campaign.Ready:     {"Ready", "Your recipients are in. Send your email to the campaign's address to start it."},
	campaign.Queued:    {"Starting", "Your email arrived; the mail merge is starting."},
	campaign.Review:    {"Waiting for you", "Your email arrived and is held: nothing is sent until you start the mail merge."},
	campaign.Scheduled: {"Scheduled", "It starts by itself at the time you chose."},
	campaign.Sending:   {"Sending", "Messages are leaving your mailbox at a steady pace."},
	campaign.Paused:    {"Paused", "Nothing more is sent until you resume it."},
	campaign.Completed: {"Completed", "Every message that could be sent was sent."},
	campaign.Failed:    {"Failed", "It stopped before it could finish."},
	campaign.Cancelled: {"Cancelled", "You cancelled it; nothing more is sent."},
}

// Rows names every state of a recipient's row. The notices' counts use the
// same names.
var Rows = map[campaign.RowStatus]State{
	campaign.RowPending: {"To send", "It will be sent."},
	campaign.RowSending: {"Sending", "It is being sent now."},
	campaign.RowSent:    {"Sent", "It was sent."},
	campaign.RowFailed:  {"Failed", "It could not be sent."},
	campaign.RowSkipped: {"Skipped", "It is not sent: see why beside it."},
	campaign.RowUnknown: {"Not confirmed", "Microsoft did not confirm whether it was sent, so it is not sent again by itself. Look in your Sent Items."},
}

// Data names every state of an uploaded spreadsheet.
var Data = map[campaign.DataStatus]State{
	campaign.DataNone:       {"No spreadsheet yet", "Upload a spreadsheet with one row a recipient."},
	campaign.DataProcessing: {"Reading", "We are reading your spreadsheet."},
	campaign.DataReady:      {"Read", "Your spreadsheet was read."},
	campaign.DataInvalid:    {"Needs a fix", "Your spreadsheet could not be used as it is: see what to fix."},
	campaign.DataFailed:     {"Not read", "Your spreadsheet could not be read. Try again, or upload it again."},
}

// Campaign names a campaign state, or says it plainly when it is new.
func Campaign(s campaign.Status) string { return Campaigns[s].Name }

// Row names a row state.
func Row(s campaign.RowStatus) string { return Rows[s].Name }

// Script is static/words.js: these words for the web app and the task
// pane, as one module.
func Script() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// The words for the service's states, written from handler/internal/words\n")
	b.WriteString("// (go test ./handler/internal/words -run TestScript -update). Do not edit.\n")
	for _, part := range []struct {
		name string
		v    any
	}{{"campaignStates", Campaigns}, {"rowStates", Rows}, {"dataStates", Data}} {
		j, err := json.MarshalIndent(part.v, "", "  ")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "export const %s = %s;\n", part.name, j)
	}
	return b.Bytes(), nil
}

// CampaignIs says a campaign's state inside a sentence: "it is paused",
// "it is waiting for you".
func CampaignIs(s campaign.Status) string {
	if w, ok := Campaigns[s]; ok {
		return strings.ToLower(w.Name)
	}
	return "in a state this version does not know"
}
