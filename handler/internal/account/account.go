// Package account names whose data something is: the account key, which
// every layer passes (storage, delivery, the workers, the API) without
// needing the storage adapter to say it.
package account

// Key identifies an account: Entra tenant id plus object id, the two
// claims that cannot be reassigned to another person.
type Key struct {
	TenantID string `json:"tenantId"`
	ObjectID string `json:"objectId"`
}

// String is the key as used for partition keys of per-account rows.
func (k Key) String() string { return k.TenantID + "_" + k.ObjectID }

// Valid reports whether both ids are present.
func (k Key) Valid() bool { return k.TenantID != "" && k.ObjectID != "" }
