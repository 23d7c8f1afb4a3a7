package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/sync/errgroup"
	"golang.org/x/text/unicode/norm"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
)

// CampaignOrder is the order of a list of campaigns, as the API names it:
// a field, descending with a "-" before it.
type CampaignOrder string

// The orders of a list of campaigns.
const (
	NewestFirst CampaignOrder = "-created"
	OldestFirst CampaignOrder = "created"
	ByName      CampaignOrder = "name"
	ByNameDesc  CampaignOrder = "-name"
)

// CampaignOrders lists the orders, the default first.
var CampaignOrders = []CampaignOrder{NewestFirst, OldestFirst, ByName, ByNameDesc}

// CampaignQuery selects a page of an account's campaigns.
type CampaignQuery struct {
	// Name, when set, keeps the campaigns whose name holds it, whatever
	// the case and accents.
	Name string
	// Statuses, when set, keeps the campaigns in one of them.
	Statuses []campaign.Status
	// Order is NewestFirst when empty.
	Order  CampaignOrder
	Limit  int
	Cursor string
}

// CampaignPage is one page of an account's campaigns.
type CampaignPage struct {
	Campaigns []Campaign
	// Next is the opaque cursor of the next page, "" on the last page.
	Next string
}

// Campaigns lists account k's campaigns (those not being deleted), newest
// first, limit per page, from an opaque cursor.
func (s *Store) Campaigns(ctx context.Context, k account.Key, limit int, cursor string) (CampaignPage, error) {
	return s.ListCampaigns(ctx, k, CampaignQuery{Limit: limit, Cursor: cursor})
}

// ListCampaigns lists a page of account k's campaigns (those not being
// deleted) that q selects, in q's order.
//
// Newest first is the order of the campaigns' keys: the page is read as
// it is, and a search by name reads names only, stopping once the page is
// full. The states are filtered by the service. Any other order needs
// every selected campaign's name first (names only: one request per
// thousand campaigns, however many an account has); the page's campaigns
// are then read one by one.
func (s *Store) ListCampaigns(ctx context.Context, k account.Key, q CampaignQuery) (CampaignPage, error) {
	if q.Order == "" {
		q.Order = NewestFirst
	}
	after, err := readCampaignCursor(q.Cursor, q.Order)
	if err != nil {
		return CampaignPage{}, err
	}
	filter := "PartitionKey eq '" + escapeFilter(k.String()) + "'"
	if q.Order == NewestFirst && after.ID != "" {
		filter += " and RowKey gt '" + escapeFilter(after.ID) + "'"
	}
	if len(q.Statuses) > 0 {
		var ors []string
		for _, st := range q.Statuses {
			ors = append(ors, "Status eq '"+escapeFilter(string(st))+"'")
		}
		filter += " and (" + strings.Join(ors, " or ") + ")"
	}
	if q.Order == NewestFirst && q.Name == "" {
		return s.campaignsInKeyOrder(ctx, filter, q.Limit)
	}

	want := nameKey(q.Name)
	var keys []campaignKey
	sel := "RowKey,Name,DeletionRequestedAt"
	err = s.list(ctx, tableCampaigns, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		if !getTime(e, "DeletionRequestedAt").IsZero() {
			return nil
		}
		key := campaignKey{ID: e.RowKey, Name: nameKey(getString(e, "Name"))}
		if !strings.Contains(key.Name, want) || (after.ID != "" && q.Order.compare(key, after) <= 0) {
			return nil
		}
		keys = append(keys, key)
		if q.Order == NewestFirst && len(keys) > q.Limit {
			return errStop // read in this order: the page is full
		}
		return nil
	})
	if err != nil {
		return CampaignPage{}, err
	}
	slices.SortFunc(keys, q.Order.compare)
	var page CampaignPage
	if len(keys) > q.Limit {
		keys = keys[:q.Limit]
		page.Next = campaignCursor(q.Order, keys[len(keys)-1])
	}
	page.Campaigns, err = s.campaignsByID(ctx, k, keys)
	return page, err
}

// campaignsInKeyOrder reads the first page of campaigns filter selects,
// newest first, whole.
func (s *Store) campaignsInKeyOrder(ctx context.Context, filter string, limit int) (CampaignPage, error) {
	var page CampaignPage
	more := false
	top := int32(limit + 1)
	err := s.list(ctx, tableCampaigns, &aztables.ListEntitiesOptions{Filter: &filter, Top: &top}, func(e entity) error {
		c, err := campaignFrom(e, e.ETag)
		if err != nil || c.Deleting() {
			return err
		}
		if len(page.Campaigns) == limit {
			more = true
			return errStop
		}
		page.Campaigns = append(page.Campaigns, c)
		return nil
	})
	if err != nil {
		return CampaignPage{}, err
	}
	if more {
		last := page.Campaigns[len(page.Campaigns)-1]
		page.Next = campaignCursor(NewestFirst, campaignKey{ID: last.ID, Name: nameKey(last.Name)})
	}
	return page, nil
}

// campaignsByID reads the campaigns named, in that order, a few at a
// time; one deleted meanwhile is left out.
func (s *Store) campaignsByID(ctx context.Context, k account.Key, keys []campaignKey) ([]Campaign, error) {
	found := make([]Campaign, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, key := range keys {
		g.Go(func() error {
			c, err := s.Campaign(gctx, k, key.ID)
			if apperr.Is(err, apperr.NotFound) {
				return nil
			}
			found[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Campaign, 0, len(found))
	for _, c := range found {
		if c.ID != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

// campaignKey is what orders a campaign in a list: its id (newest first
// in key order) and its name as compared.
type campaignKey struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// compare orders a before b: by name, then newest first, for the name
// orders; by id for the others.
func (o CampaignOrder) compare(a, b campaignKey) int {
	switch o {
	case OldestFirst:
		return strings.Compare(b.ID, a.ID)
	case ByName:
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	case ByNameDesc:
		return cmp.Or(strings.Compare(b.Name, a.Name), strings.Compare(b.ID, a.ID))
	}
	return strings.Compare(a.ID, b.ID)
}

// nameKey is a name as searched and sorted: lower case, without accents,
// so that "ete" finds "Été" and "Zoé" sorts with "Zoe".
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// A cursor is the order and the key of the last campaign of a page: the
// next page starts after it, whatever was created or deleted meanwhile.
type listCursor struct {
	Order CampaignOrder `json:"o"`
	campaignKey
}

func campaignCursor(o CampaignOrder, last campaignKey) string {
	raw, _ := json.Marshal(listCursor{Order: o, campaignKey: last})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func readCampaignCursor(cursor string, o CampaignOrder) (campaignKey, error) {
	if cursor == "" {
		return campaignKey{}, nil
	}
	var c listCursor
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(raw, &c) != nil || c.ID == "" {
		return campaignKey{}, apperr.E(apperr.Invalid, "cursor_invalid", "the cursor is not one this API gave out")
	}
	if c.Order != o {
		return campaignKey{}, apperr.E(apperr.Invalid, "cursor_invalid", "the cursor belongs to a list in another order: ask for the first page again")
	}
	return c.campaignKey, nil
}
