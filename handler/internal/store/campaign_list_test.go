package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/testenv"
)

// TestListCampaigns pages through an account's campaigns in every order,
// two at a time, with and without a search and a filter by state; a
// campaign being deleted and another account's never show.
func TestListCampaigns(t *testing.T) {
	s, ctx := open(t), context.Background()
	k, other := newKey(), newKey()
	now := time.Now().UTC()
	// Ids sort newest first: c1 is the newest.
	made := []struct {
		id, name string
		status   campaign.Status
	}{
		{"c1", "Été 2027", campaign.Sending},
		{"c2", "autumn news", campaign.Draft},
		{"c3", "Zoé's launch", campaign.Completed},
		{"c4", "Autumn news", campaign.Completed},
		{"c5", "being deleted", campaign.Draft},
		{"c6", "Betty's summer", campaign.Paused},
	}
	for _, m := range made {
		c := Campaign{Account: k, ID: m.id, Name: m.name, Status: m.status, AddressHash: testenv.Name("h"), CreatedAt: now, UpdatedAt: now,
			Data: DataSummary{Status: campaign.DataReady, Report: strings.Repeat("x", 1000)}}
		if m.id == "c5" {
			c.DeletionRequestedAt = now
		}
		if err := s.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateCampaign(ctx, Campaign{Account: other, ID: "c0", Name: "Autumn news", Status: campaign.Draft, AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	all := func(q CampaignQuery) string {
		t.Helper()
		var ids []string
		for range 10 {
			page, err := s.ListCampaigns(ctx, k, q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			if len(page.Campaigns) > q.Limit {
				t.Fatalf("%+v: %d campaigns on a page of %d", q, len(page.Campaigns), q.Limit)
			}
			for _, c := range page.Campaigns {
				if c.Data.Report == "" {
					t.Errorf("%s read without its data", c.ID)
				}
				ids = append(ids, c.ID)
			}
			if q.Cursor = page.Next; q.Cursor == "" {
				return strings.Join(ids, ",")
			}
		}
		t.Fatalf("%+v: the pages never end", q)
		return ""
	}
	for _, tc := range []struct {
		q    CampaignQuery
		want string
	}{
		{CampaignQuery{}, "c1,c2,c3,c4,c6"},
		{CampaignQuery{Order: NewestFirst}, "c1,c2,c3,c4,c6"},
		{CampaignQuery{Order: OldestFirst}, "c6,c4,c3,c2,c1"},
		// Case and accents aside; the same name: newest first.
		{CampaignQuery{Order: ByName}, "c2,c4,c6,c1,c3"},
		{CampaignQuery{Order: ByNameDesc}, "c3,c1,c6,c4,c2"},
		{CampaignQuery{Name: "AUTUMN"}, "c2,c4"},
		{CampaignQuery{Name: "ete"}, "c1"},
		{CampaignQuery{Name: "zoe", Order: ByName}, "c3"},
		{CampaignQuery{Name: "'s", Order: OldestFirst}, "c6,c3"},
		{CampaignQuery{Name: "deleted"}, ""},
		{CampaignQuery{Name: "nothing like it"}, ""},
		{CampaignQuery{Statuses: []campaign.Status{campaign.Completed}}, "c3,c4"},
		{CampaignQuery{Statuses: []campaign.Status{campaign.Completed, campaign.Paused}, Order: ByName}, "c4,c6,c3"},
		{CampaignQuery{Statuses: []campaign.Status{campaign.Draft}, Name: "news"}, "c2"},
		{CampaignQuery{Statuses: []campaign.Status{campaign.Cancelled}}, ""},
	} {
		for _, limit := range []int{1, 2, 50} {
			tc.q.Limit = limit
			if got := all(tc.q); got != tc.want {
				t.Errorf("%+v: got %s, want %s", tc.q, got, tc.want)
			}
		}
	}

	// A cursor is only good for the order it was given in.
	page, err := s.ListCampaigns(ctx, k, CampaignQuery{Order: ByName, Limit: 2})
	if err != nil || page.Next == "" {
		t.Fatalf("first page by name: %+v %v", page, err)
	}
	if _, err := s.ListCampaigns(ctx, k, CampaignQuery{Order: NewestFirst, Limit: 2, Cursor: page.Next}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a cursor of another order: %v", err)
	}
	if _, err := s.ListCampaigns(ctx, k, CampaignQuery{Limit: 2, Cursor: "!!"}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a cursor of nothing: %v", err)
	}
	// A campaign made after the first page was read does not move the
	// next page: it starts after the last one shown.
	first, err := s.ListCampaigns(ctx, k, CampaignQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCampaign(ctx, Campaign{Account: k, ID: "c0", Name: "newest", Status: campaign.Draft, AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	next, err := s.ListCampaigns(ctx, k, CampaignQuery{Limit: 2, Cursor: first.Next})
	if err != nil || len(next.Campaigns) != 2 || next.Campaigns[0].ID != "c3" {
		t.Errorf("the page after a new campaign: %+v %v", next, err)
	}
}
