package graphsandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
)

// What a mailbox holds, as Graph shows it to a reader. Sources are the
// documentation pages (docs = learn.microsoft.com/graph, from the
// microsoftgraph/microsoft-graph-docs-contrib repository) and the reports
// collected in docs/mailbox-reading.md.
//
// A message sent with sendMail goes through two states:
//
//   - From the 202 until SentItemsAt it is an item in Drafts: isDraft true,
//     parentFolderId the Drafts folder. "The message is created in the
//     Drafts folder ... Most of the steps take place after the method
//     response is returned."
//     https://learn.microsoft.com/en-us/graph/outlook-things-to-know-about-send-mail
//     A draft's sentDateTime and receivedDateTime equal its creation time,
//     as in the documented draft examples
//     (https://learn.microsoft.com/en-us/graph/api/user-post-messages,
//     response of example 1): a reader must decide "sent" by isDraft, not by
//     sentDateTime being set.
//   - From SentItemsAt on, the copy is in Sent Items: isDraft false,
//     sentDateTime SentItemsAt. "Getting the message in Sent Items may not
//     succeed immediately after sending the message."
//     https://learn.microsoft.com/en-us/graph/outlook-immutable-id . The
//     docs give no figure for the delay: Options.SentItemsDelay, and the
//     fault kind late for one message.
//     With saveToSentItems false there is no copy: the draft is simply gone
//     ("Specify it only if the parameter is false; default is true",
//     https://learn.microsoft.com/en-us/graph/api/user-sendmail).
//
// The Sent Items copy has another id than the draft: Outlook ids change when
// an item moves to another folder, and the draft's id goes stale after send
// (reported: https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/2947).
// Prefer: IdType="ImmutableId" is not modelled (the docs contradict
// themselves on drafts, docs/mailbox-reading.md 1.2).
//
// The Message-ID (internetMessageId) is the client's when the sendMail JSON
// set one. The docs are silent on whether sendMail keeps it (reported to
// work: https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/2320;
// the property is "Updatable only if isDraft = true",
// https://learn.microsoft.com/en-us/graph/api/message-update, and sendMail
// goes through a draft); the sandbox keeps it, in the .eml and on the Drafts
// and Sent Items items, which is the assumption to verify on a real tenant.
// A value that is not an RFC 5322 msg-id (<left@right>) is refused with
// 400 ErrorInvalidInternetMessageId: Graph's answer is undocumented, and
// refusing is the choice that cannot hide a lost identity. Sending the same
// internetMessageId twice makes two messages (and two Sent Items copies)
// with that id: nothing documents de-duplication on the sender's side.
//
// internetMessageHeaders are not returned for Sent Items copies: several
// reports say the x- headers a client set are missing there
// (https://github.com/microsoftgraph/msgraph-sdk-dotnet/issues/3025,
// https://github.com/microsoftgraph/microsoft-graph-docs/issues/18761), so
// the sandbox gives a sent copy no headers at all. Inbox messages carry
// theirs (inbox.go).

// Well-known folder names (case-insensitive in Graph paths,
// https://learn.microsoft.com/en-us/graph/api/resources/mailfolder).
const (
	FolderInbox     = "inbox"
	FolderSentItems = "sentitems"
	FolderDrafts    = "drafts"
)

var wellKnownFolders = []string{FolderInbox, FolderSentItems, FolderDrafts}

// DefaultSentItemsDelay is how long a sent message stays in Drafts before
// its copy is in Sent Items, when Options.SentItemsDelay is 0.
const DefaultSentItemsDelay = 500 * time.Millisecond

// folderID returns the id of the mailbox's well-known folder. Caller holds
// s.mu.
func (s *Sandbox) folderID(ms *mailboxState, name string) string {
	if ms.folders == nil {
		ms.folders = map[string]string{}
	}
	id := ms.folders[name]
	if id == "" {
		id = "AAMkAD" + randomB64(30) + "AAAEJAAA="
		ms.folders[name] = id
	}
	return id
}

// resolveFolder maps a path's folder (a well-known name, any case, or a
// folder id) to its well-known name. Caller holds s.mu.
func (s *Sandbox) resolveFolder(ms *mailboxState, f string) (string, bool) {
	for _, name := range wellKnownFolders {
		if strings.EqualFold(f, name) || f == s.folderID(ms, name) {
			return name, true
		}
	}
	return "", false
}

// view is one message as a reader sees it at one moment.
type view struct {
	id                string
	folder            string // well-known name
	seq               uint64 // creation order
	appeared          time.Time
	created, modified time.Time
	received, sent    time.Time
	isDraft, isRead   bool
	internetMessageID string
	conversationID    string
	subject           string
	importance        string
	from              *Address
	to, cc, bcc       []Address
	replyTo           []Address
	headers           []Header // nil: not returned (sent copies)
	bodyType, body    string
	hasAttachments    bool
}

// views returns the messages of mailbox at now, oldest first. Caller holds
// s.mu.
func (s *Sandbox) views(mailbox string, now time.Time) []view {
	var out []view
	for _, a := range s.accepted {
		if a.Mailbox != mailbox {
			continue
		}
		v := view{
			seq: a.Seq, created: a.Time, modified: a.Time, received: a.Time, sent: a.Time,
			internetMessageID: a.MessageID, conversationID: a.ConversationID, subject: a.Subject,
			importance: "normal", from: &Address{Name: a.FromName, Address: a.Mailbox},
			to: a.To, cc: a.Cc, bcc: a.Bcc, replyTo: a.ReplyTo, isRead: true,
			bodyType: a.BodyType, body: a.Body, hasAttachments: len(a.Attachments) > 0,
		}
		if v.bodyType == "" {
			v.bodyType = "text"
		}
		if now.Before(a.SentItemsAt) {
			v.id, v.folder, v.isDraft, v.appeared = a.draftID, FolderDrafts, true, a.Time
		} else if a.SaveToSentItems {
			v.id, v.folder, v.appeared = a.sentID, FolderSentItems, a.SentItemsAt
			v.modified, v.received, v.sent = a.SentItemsAt, a.SentItemsAt, a.SentItemsAt
		} else {
			continue // sent without a copy: the draft is gone
		}
		out = append(out, v)
	}
	for _, in := range s.inbox {
		if in.Mailbox != mailbox || now.Before(in.ReceivedDateTime) {
			continue
		}
		from := in.From
		bodyType := in.BodyType
		if bodyType == "" {
			bodyType = "text"
		}
		out = append(out, view{
			id: in.ID, folder: FolderInbox, seq: in.seq, appeared: in.ReceivedDateTime,
			created: in.ReceivedDateTime, modified: in.ReceivedDateTime,
			received: in.ReceivedDateTime, sent: in.SentDateTime,
			internetMessageID: in.InternetMessageID, conversationID: in.ConversationID,
			subject: in.Subject, importance: "normal", from: &from, to: in.To, cc: in.Cc, replyTo: in.ReplyTo,
			headers: in.Headers, bodyType: bodyType, body: in.Body, hasAttachments: in.HasAttachments,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].appeared.Equal(out[j].appeared) {
			return out[i].appeared.Before(out[j].appeared)
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// etag is the item's @odata.etag: it changes with the item.
func (v view) etag() string {
	sum := sha256.Sum256([]byte(v.id + v.modified.String()))
	return `W/"CQAAABYAAA` + base64.StdEncoding.EncodeToString(sum[:12]) + `"`
}

// graphTime formats a time as Graph does (UTC, whole seconds).
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// newItemID is an opaque Outlook item id ("AAMk…", base64url).
func newItemID() string { return "AAMkAD" + randomB64(48) + "AAA=" }

// newConversationID is an opaque conversation id ("AAQk…").
func newConversationID() string { return "AAQkAD" + randomB64(30) + "=" }

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// generatedMessageID is the Message-ID the sandbox gives a message whose
// client set none. Exchange Online makes <unique@mailbox-server host>
// (e.g. <BY5PR09MB5090C0A1…@BY5PR09MB5090.namprd09.prod.outlook.com> in a
// real bounce, rothskeller/packet pktmsg/parse_test.go); the sandbox uses
// its own host name so a sandbox id is recognisable.
func generatedMessageID(seq uint64) string {
	return fmt.Sprintf("<%s.%d@sandbox.graph.local>", strings.ReplaceAll(newUUID(), "-", ""), seq)
}

// validMessageID reports whether s is an RFC 5322 msg-id:
// "<" dot-atom-text "@" (dot-atom-text / "[" dtext "]") ">".
func validMessageID(s string) bool {
	if len(s) < 5 || len(s) > 998 || s[0] != '<' || s[len(s)-1] != '>' {
		return false
	}
	left, right, ok := strings.Cut(s[1:len(s)-1], "@")
	if !ok || !dotAtom(left) {
		return false
	}
	if len(right) >= 2 && right[0] == '[' && right[len(right)-1] == ']' {
		for i := 1; i < len(right)-1; i++ {
			if c := right[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	return dotAtom(right)
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
