package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/postmark"
)

// Original is a template email as kept: Postmark's payload with the
// attachments' content moved to blobs of their own (template.json and
// attachments/<n> under OriginalDir).
type Original struct {
	postmark.Inbound
	ReceivedAt time.Time `json:"ReceivedAt"`
	// SentAt is the email's Date, when it parses.
	SentAt time.Time `json:"SentAt,omitzero"`
}

// PutOriginal keeps template email o of a campaign under id, with files,
// the decoded content of its attachments in order (o's own attachment
// content is not kept in template.json).
func (s *Store) PutOriginal(ctx context.Context, k account.Key, campaignID, id string, o Original, files [][]byte) error {
	dir := OriginalDir(k, campaignID, id)
	atts := make([]postmark.Attachment, len(o.Attachments))
	for i, at := range o.Attachments {
		if err := s.PutBlob(ctx, ContainerOriginals, dir+"attachments/"+strconv.Itoa(i), files[i]); err != nil {
			return err
		}
		at.Content, at.ContentLength = "", int64(len(files[i]))
		atts[i] = at
	}
	o.Attachments = atts
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.PutBlob(ctx, ContainerOriginals, dir+"template.json", raw)
}

// Original reads the template email campaign c points at.
func (s *Store) Original(ctx context.Context, c Campaign) (Original, error) {
	var o Original
	raw, err := s.GetBlob(ctx, ContainerOriginals, OriginalDir(c.Account, c.ID, c.OriginalID)+"template.json")
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("stored template of campaign %s: %w", c.ID, err)
	}
	return o, nil
}

// OriginalFile reads the content of attachment i of the template email
// campaign c points at.
func (s *Store) OriginalFile(ctx context.Context, c Campaign, i int) ([]byte, error) {
	return s.GetBlob(ctx, ContainerOriginals, OriginalDir(c.Account, c.ID, c.OriginalID)+"attachments/"+strconv.Itoa(i))
}

// DeleteOriginal deletes template email id of a campaign.
func (s *Store) DeleteOriginal(ctx context.Context, k account.Key, campaignID, id string) error {
	_, err := s.DeleteBlobs(ctx, ContainerOriginals, OriginalDir(k, campaignID, id))
	return err
}
