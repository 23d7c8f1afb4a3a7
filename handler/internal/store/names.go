package store

import (
	"strings"

	"mailmerge/handler/internal/account"
)

// The blob containers of the app's storage account. Every blob of an
// account is named under its account key, so deleting the account can
// find them all by prefix.
const (
	// ContainerUploads keeps an uploaded spreadsheet until the data worker
	// has read it (or the retention timer drops it).
	ContainerUploads = "uploads"
	// ContainerOriginals keeps template emails and their attachments until
	// the campaign is deleted.
	ContainerOriginals = "originals"
	// ContainerTokenCache keeps each account's encrypted Graph access.
	ContainerTokenCache = "tokencache"
	// ContainerDeployments holds the app's code packages (no one's data).
	ContainerDeployments = "deployments"
)

// accountPrefix is where every blob of an account is named under.
func accountPrefix(k account.Key) string { return k.String() + "/" }

// UploadsOf is the blob prefix of a campaign's uploads.
func UploadsOf(k account.Key, campaignID string) string {
	return accountPrefix(k) + campaignID + "/"
}

// UploadBlob names one upload of a campaign.
func UploadBlob(k account.Key, campaignID, uploadID string) string {
	return UploadsOf(k, campaignID) + uploadID
}

// OriginalsOf is the blob prefix of a campaign's template emails.
func OriginalsOf(k account.Key, campaignID string) string {
	return accountPrefix(k) + campaignID + "/"
}

// OriginalDir is where one inbound email of a campaign is stored: its
// template.json and attachments/<n>. id "" is where a campaign stored
// before inbound emails had ids kept its only one.
func OriginalDir(k account.Key, campaignID, id string) string {
	if id == "" {
		return OriginalsOf(k, campaignID)
	}
	return OriginalsOf(k, campaignID) + id + "/"
}

// TokenCacheBlob names an account's encrypted Graph access.
func TokenCacheBlob(k account.Key) string { return k.String() }

// ParseUploadBlob reads the account, campaign and upload an UploadBlob
// name stands for; ok is false for a name UploadBlob did not make.
func ParseUploadBlob(name string) (k account.Key, campaignID, uploadID string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return k, "", "", false
	}
	tid, oid, err := splitAccountKey(parts[0])
	if err != nil {
		return k, "", "", false
	}
	return account.Key{TenantID: tid, ObjectID: oid}, parts[1], parts[2], true
}

// ParseTokenCacheBlob reads the account a TokenCacheBlob name stands for.
func ParseTokenCacheBlob(name string) (account.Key, bool) {
	tid, oid, err := splitAccountKey(name)
	if err != nil || strings.Contains(name, "/") {
		return account.Key{}, false
	}
	return account.Key{TenantID: tid, ObjectID: oid}, true
}
