package worker

import (
	"context"
	"net/mail"
	"sync"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// job is a campaign compiled for sending: the template, where the special
// columns are, and the template email's attachments with their content.
type job struct {
	tpl    *merge.Template
	fields merge.Fields
	atts   []merge.Attachment
	files  []delivery.File
	// subject is the template's subject as written, for notices.
	subject string
	// sender is the template email's sender (the owner, whose mailbox
	// sends), for the unsubscribe page.
	sender string
}

// jobs caches compiled campaigns per process, by campaign and template.
type jobs struct {
	mu sync.Mutex
	m  map[string]*job
}

const maxCachedJobs = 16

func (j *jobs) get(key string) *job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.m[key]
}

func (j *jobs) put(key string, v *job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil || len(j.m) >= maxCachedJobs {
		j.m = map[string]*job{}
	}
	j.m[key] = v
}

// compile loads and compiles a campaign's template with its attachments.
// A template that does not compile is a *merge.CompileError.
func (w *Worker) compile(ctx context.Context, c store.Campaign) (*job, error) {
	key := c.ID + "/" + c.OriginalID + "/" + c.InboundMessageID
	if j := w.jobs.get(key); j != nil {
		return j, nil
	}
	o, err := w.Store.Original(ctx, c)
	if err != nil {
		return nil, err
	}
	tpl, err := merge.Compile(merge.Source{Subject: o.Subject, HTML: o.HtmlBody, Text: o.TextBody}, c.Data.Columns)
	if err != nil {
		return nil, err
	}
	cols := campaign.Locate(c.Data.Columns)
	j := &job{tpl: tpl, fields: merge.FieldsOf(cols), subject: o.Subject, sender: o.Sender()}
	for i, at := range o.Attachments {
		data, err := w.Store.OriginalFile(ctx, c, i)
		if err != nil {
			return nil, err
		}
		j.atts = append(j.atts, merge.Attachment{Name: at.Name, ContentType: at.ContentType, Size: int64(len(data)), ContentID: at.ContentID})
		j.files = append(j.files, delivery.File{Name: at.Name, ContentType: at.ContentType, ContentID: at.ContentID, Data: data})
	}
	w.jobs.put(key, j)
	return j, nil
}

// names are what the unsubscribe page of a row's message shows: the
// sender, and the row's first To address masked (its To and CC as
// merge.Template.Build reads them).
func (j *job) names(cells []string) tracking.Names {
	addresses := func(col int) []*mail.Address {
		if col < 0 || col >= len(cells) {
			return nil
		}
		a, _ := campaign.ParseAddresses(cells[col])
		return a
	}
	return tracking.NamesOf(j.sender, addresses(j.fields.To), addresses(j.fields.CC))
}
