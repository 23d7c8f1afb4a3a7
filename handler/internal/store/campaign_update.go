package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
)

// ErrUnchanged, returned by a ModifyCampaign change, leaves the campaign
// as it is without an error.
var ErrUnchanged = errors.New("unchanged")

// modifyAttempts bounds how often ModifyCampaign reads again after losing
// a race.
const modifyAttempts = 5

// ModifyCampaign is the one way to change a stored campaign: it reads
// campaign id of account k, applies change, and writes the result under
// the ETag it read, reading again and reapplying when someone else wrote
// meanwhile, a bounded number of times. A campaign being deleted is
// NotFound. An error from change is returned as is (with the campaign as
// read), except ErrUnchanged, which writes nothing and returns the
// campaign as read.
func (s *Store) ModifyCampaign(ctx context.Context, k account.Key, id string, change func(*Campaign) error) (Campaign, error) {
	for range modifyAttempts {
		c, err := s.Campaign(ctx, k, id)
		if err != nil {
			return c, err
		}
		read := c
		if err := change(&c); errors.Is(err, ErrUnchanged) {
			return read, nil
		} else if err != nil {
			return read, err
		}
		e, err := campaignEntity(c)
		if err != nil {
			return read, err
		}
		etag, err := s.replaceEntityTag(ctx, tableCampaigns, e, c.ETag)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		if err != nil {
			return read, err
		}
		c.ETag = etag
		return c, nil
	}
	return Campaign{}, apperr.E(apperr.Transient, "campaign_busy", "the campaign kept changing; try again")
}

// SetStepToken records the campaign's live send step and when it is due.
// It merges those two properties without an ETag, so it never conflicts
// with the owner's edits; the last step written is the live one.
func (s *Store) SetStepToken(ctx context.Context, k account.Key, id, step string, at time.Time) error {
	e := newEntity(k.String(), id)
	e.Properties["StepToken"] = step
	setTime(e, "NextStepAt", at)
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	anyTag := azcore.ETagAny
	return translate(s.onTable(ctx, tableCampaigns, func(c *aztables.Client) error {
		_, err := c.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &anyTag, UpdateMode: aztables.UpdateModeMerge})
		return err
	}))
}

// AdvanceStep hands a campaign's live send step from one token to the
// next, due at, if the live step is still from and the campaign is in one
// of statuses; under the campaign's ETag, so a pause, cancel or resume
// written meanwhile is never overwritten. It reports whether it did.
func (s *Store) AdvanceStep(ctx context.Context, k account.Key, id, from, to string, at time.Time, statuses ...campaign.Status) (bool, error) {
	for range 5 {
		c, err := s.Campaign(ctx, k, id)
		if apperr.Is(err, apperr.NotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if c.StepToken != from || !slices.Contains(statuses, c.Status) {
			return false, nil
		}
		e := newEntity(k.String(), id)
		e.Properties["StepToken"] = to
		setTime(e, "NextStepAt", at)
		raw, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		tag := azcore.ETag(c.ETag)
		err = translate(s.onTable(ctx, tableCampaigns, func(tc *aztables.Client) error {
			_, err := tc.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &tag, UpdateMode: aztables.UpdateModeMerge})
			return err
		}))
		if !apperr.Is(err, apperr.Conflict) {
			return err == nil, err
		}
	}
	return false, apperr.E(apperr.Transient, "campaign_busy", "the campaign kept changing; try again")
}
