package graphsandbox

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Delta of the messages in one folder (GET …/mailFolders/{f}/messages/delta),
// as documented in https://learn.microsoft.com/en-us/graph/delta-query-messages
// and https://learn.microsoft.com/en-us/graph/delta-query-overview:
//
//   - A round starts with a call without a token (or with an empty
//     $deltatoken) or with a deltaLink. Pages end with @odata.nextLink
//     ($skiptoken) while more remain, the last one with @odata.deltaLink
//     ($deltatoken). The first round returns the messages in the folder;
//     a deltaLink round returns the changes since the round that made it.
//   - Query options of the first call ($select, changeType=created|updated|
//     deleted, $filter=receivedDateTime ge|gt {time}, $top) are kept in the
//     tokens; later calls need not repeat them. Prefer: odata.maxpagesize={x}
//     sets the page size of each call (answered with Preference-Applied).
//   - New messages are "created"; a message that left the folder (a draft
//     that was sent) is {"id", "@removed": {"reason": "deleted"}}. The
//     sandbox never updates a message, so changeType=updated returns nothing.
//   - Every item carries @odata.type, @odata.etag and id. Whether
//     internetMessageHeaders can be selected in delta is not documented
//     (docs/mailbox-reading.md section 4): the sandbox never returns them
//     there, so a reader must GET each message it needs headers of.
//   - Tokens are snapshots: calling the same link again replays the same
//     changes (replays are documented as possible).
//   - "For Outlook entities ... the upper limit is not fixed; it's dependent
//     on the size of the internal delta token cache ... the older delta
//     tokens are deleted." and "In case of an expired token, the service
//     should respond with a 40X-series error with error codes such as
//     syncStateNotFound", and "Delta query can return a response code of 410
//     (gone) and a Location header containing a request URL with an empty
//     $deltaToken (same as the initial query)". The sandbox keeps the last
//     Options.DeltaTokens tokens of each mailbox and answers an unknown,
//     forgotten or foreign token with both documented signals: 410 Gone,
//     code syncStateNotFound, and a Location to restart from. A reader
//     should treat any 4xx on a token as "start a full round again".
//     ExpireDeltaTokens (DELETE /_sandbox/delta) forgets them at once.

// DefaultDeltaTokens is how many delta and skip tokens a mailbox keeps.
const DefaultDeltaTokens = 100

// deltaState is what a token stands for.
type deltaState struct {
	token  string
	skip   bool   // a $skiptoken (mid-round), else a $deltatoken
	folder string // well-known name
	query  deltaQuery
	// seen are the ids the rounds before reported and that still exist:
	// what a deltaLink round compares with.
	seen map[string]bool
	// rest are the changes left of a round (skip tokens), and next the seen
	// set its deltaLink will carry.
	rest []deltaEntry
	next map[string]bool
}

// deltaQuery are the options of a round, fixed by its first call.
type deltaQuery struct {
	sel        selection
	changeType string // "", created, updated, deleted
	filterRaw  string
	top        int
}

// deltaEntry is one change: a message, or the id of a removed one.
type deltaEntry struct {
	view    *view
	removed string
}

const msgSyncStateNotFound = "The sync state generation is not found. The delta token is expired and data must be synchronized again."

func (s *Sandbox) handleDelta(w http.ResponseWriter, r *http.Request, rt route, mailbox string, access readAccess) *graphError {
	q := r.URL.Query()
	skipTok, deltaTok := q.Get("$skiptoken"), q.Get("$deltatoken")
	if skipTok != "" && deltaTok != "" {
		return gerr(http.StatusBadRequest, CodeBadRequest, "Use either $skiptoken or $deltatoken, not both.")
	}
	now := s.now()
	s.mu.Lock()
	ms := s.mailbox(mailbox)
	folder, ok := s.resolveFolder(ms, rt.folder)
	if !ok {
		s.mu.Unlock()
		return gerr(http.StatusNotFound, CodeItemNotFound, "The specified object was not found in the store.")
	}
	ids := s.folderIDs(ms)
	link := baseURL(r) + strings.TrimPrefix(rt.prefix, "/v1.0") + "/mailFolders('" + ids[folder] + "')/messages/delta"

	var st *deltaState
	if tok := skipTok + deltaTok; tok != "" {
		for _, t := range ms.tokens {
			if t.token == tok && t.skip == (skipTok != "") && t.folder == folder {
				st = t
			}
		}
		if st == nil {
			s.mu.Unlock()
			w.Header().Set("Location", link+"?$deltatoken=")
			return gerr(http.StatusGone, CodeSyncStateNotFound, msgSyncStateNotFound)
		}
	}

	var query deltaQuery
	var changes []deltaEntry
	var next map[string]bool
	if st != nil && st.skip {
		query, changes, next = st.query, st.rest, st.next
	} else {
		if st != nil {
			query = st.query
		} else {
			var e *graphError
			if query, e = parseDeltaQuery(r, access); e != nil {
				s.mu.Unlock()
				return e
			}
		}
		var seen map[string]bool
		if st != nil {
			seen = st.seen
		}
		changes, next = s.deltaRound(mailbox, folder, query, seen, now)
	}

	size := query.top
	if n := maxPageSize(r); n > 0 {
		size = n
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(n))
	}
	if size <= 0 {
		size = DefaultPageSize
	}
	page, rest := changes, []deltaEntry(nil)
	if len(changes) > size {
		page, rest = changes[:size], changes[size:]
	}
	out := map[string]any{"@odata.context": baseURL(r) + "/$metadata#Collection(message)"}
	if len(rest) > 0 {
		tok := s.keepToken(ms, &deltaState{skip: true, folder: folder, query: query, rest: rest, next: next})
		out["@odata.nextLink"] = link + "?$skiptoken=" + tok
	} else {
		tok := s.keepToken(ms, &deltaState{folder: folder, query: query, seen: next})
		out["@odata.deltaLink"] = link + "?$deltatoken=" + tok
	}
	s.mu.Unlock()

	value := []map[string]any{}
	for _, c := range page {
		if c.view == nil {
			value = append(value, map[string]any{"@odata.type": "#microsoft.graph.message", "id": c.removed, "@removed": map[string]string{"reason": "deleted"}})
			continue
		}
		m := render(*c.view, query.sel, access, ids)
		delete(m, "internetMessageHeaders")
		m["@odata.type"] = "#microsoft.graph.message"
		value = append(value, m)
	}
	out["value"] = value
	writeGraphJSON(w, http.StatusOK, out)
	return nil
}

// parseDeltaQuery reads the options of a round's first call.
func parseDeltaQuery(r *http.Request, access readAccess) (deltaQuery, *graphError) {
	q := r.URL.Query()
	var dq deltaQuery
	var e *graphError
	if dq.sel, e = parseSelect(q.Get("$select"), access); e != nil {
		return dq, e
	}
	switch ct := strings.ToLower(q.Get("changeType")); ct {
	case "", "created", "updated", "deleted":
		dq.changeType = ct
	default:
		return dq, gerr(http.StatusBadRequest, CodeBadRequest, "Invalid changeType '%s': use created, updated or deleted.", q.Get("changeType"))
	}
	if _, e = parseFilter(q.Get("$filter"), true); e != nil {
		return dq, e
	}
	dq.filterRaw = q.Get("$filter")
	if top := q.Get("$top"); top != "" {
		if dq.top, e = pageSize(r, top); e != nil {
			return dq, e
		}
	}
	return dq, nil
}

// deltaRound lists the changes of folder since seen (nil: the first round)
// and the seen set after them. Caller holds s.mu.
func (s *Sandbox) deltaRound(mailbox, folder string, q deltaQuery, seen map[string]bool, now time.Time) ([]deltaEntry, map[string]bool) {
	match, _ := parseFilter(q.filterRaw, true)
	next := map[string]bool{}
	var changes []deltaEntry
	present := map[string]bool{}
	for _, v := range s.views(mailbox, now) {
		if v.folder != folder || !match(v) {
			continue
		}
		present[v.id] = true
		next[v.id] = true
		if seen[v.id] || q.changeType == "updated" || q.changeType == "deleted" {
			continue
		}
		v := v
		changes = append(changes, deltaEntry{view: &v})
	}
	if seen != nil && (q.changeType == "" || q.changeType == "deleted") {
		var gone []string
		for id := range seen {
			if !present[id] {
				gone = append(gone, id)
			}
		}
		sort.Strings(gone)
		for _, id := range gone {
			changes = append(changes, deltaEntry{removed: id})
		}
	}
	return changes, next
}

// keepToken stores a token state in the mailbox's cache, forgetting the
// oldest beyond Options.DeltaTokens, and returns its token. Caller holds
// s.mu.
func (s *Sandbox) keepToken(ms *mailboxState, st *deltaState) string {
	st.token = randomB64(24)
	ms.tokens = append(ms.tokens, st)
	if n := len(ms.tokens) - s.deltaTokens; n > 0 {
		ms.tokens = append(ms.tokens[:0:0], ms.tokens[n:]...)
	}
	return st.token
}

// ExpireDeltaTokens forgets the delta and skip tokens of mailbox (all
// mailboxes when ""), as Exchange does when its token cache is full: the
// next call with one answers 410 syncStateNotFound.
func (s *Sandbox) ExpireDeltaTokens(mailbox string) {
	mailbox = normalizeMailbox(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, ms := range s.boxes {
		if mailbox == "" || m == mailbox {
			ms.tokens = nil
		}
	}
}
