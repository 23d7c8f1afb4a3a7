package infracheck

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/dev/testenv"
)

// bicep reads every Bicep file of infra/, by path relative to infra/.
func bicep(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), "infra")
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(filepath.Ext(p), ".bicep") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Bicep files in infra/")
	}
	return out
}

// code drops // comments, so promises are checked in what Azure reads.
func code(src string) string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "//"); i >= 0 && !strings.Contains(line[:i], "'") {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestSecurityProperties(t *testing.T) {
	files := bicep(t)
	for file, want := range map[string][]string{
		"modules/storage.bicep": {
			"allowSharedKeyAccess: false", "minimumTlsVersion: 'TLS1_2'", "allowBlobPublicAccess: false",
			"requireInfrastructureEncryption: true", "supportsHttpsTrafficOnly: true", "isVersioningEnabled: true",
			"restorePolicy:", "changeFeed:", "sku: {\n    name: 'Standard_RAGZRS'",
		},
		"modules/backupstorage.bicep": {
			"allowSharedKeyAccess: false", "minimumTlsVersion: 'TLS1_2'", "allowBlobPublicAccess: false",
			"requireInfrastructureEncryption: true", "supportsHttpsTrafficOnly: true", "sku: {\n    name: 'Standard_RAGZRS'",
		},
		"modules/servicebus.bicep":  {"disableLocalAuth: true", "minimumTlsVersion: '1.2'", "deadLetteringOnMessageExpiration: true"},
		"modules/keyvault.bicep":    {"enableRbacAuthorization: true", "enablePurgeProtection: true"},
		"modules/functionapp.bicep": {"httpsOnly: true", "minTlsVersion: '1.2'", "'FlexConsumption'", "name: 'custom'"},
	} {
		src := code(files[file])
		if src == "" {
			t.Errorf("%s is missing", file)
			continue
		}
		for _, w := range want {
			if !strings.Contains(src, w) {
				t.Errorf("%s does not set %q", file, w)
			}
		}
	}
	oldTLS := regexp.MustCompile(`(?i)tlsversion:\s*'(tls)?1[._][01]'`)
	for file, src := range files {
		for _, bad := range []string{"allowSharedKeyAccess: true", "disableLocalAuth: false", "allowBlobPublicAccess: true"} {
			if strings.Contains(code(src), bad) {
				t.Errorf("%s: %s", file, bad)
			}
		}
		if m := oldTLS.FindString(code(src)); m != "" {
			t.Errorf("%s allows an old TLS version: %s", file, m)
		}
	}
}

var regionLiteral = regexp.MustCompile(`'((?:north|south|east|west|central|uk|france|germany|norway|sweden|switzerland|poland|italy|spain|us|brazil|canada|japan|korea|australia|india|uae|qatar|israel|mexico|newzealand)[a-z0-9]*)'`)

// Only North Europe and West Europe appear, and the region parameters
// allow nothing else.
func TestOnlyTheTwoEURegions(t *testing.T) {
	allowed := map[string]bool{"northeurope": true, "westeurope": true}
	for file, src := range bicep(t) {
		for _, m := range regionLiteral.FindAllStringSubmatch(code(src), -1) {
			if strings.Contains(m[1], "europe") || strings.HasSuffix(m[1], "us") || strings.Contains(m[1], "asia") {
				if !allowed[m[1]] {
					t.Errorf("%s names region %s", file, m[1])
				}
			}
		}
	}
	main := code(bicep(t)["main.bicep"])
	for _, p := range []string{"location", "secondaryLocation"} {
		re := regexp.MustCompile(`@allowed\(\[\s*'northeurope'\s*'westeurope'\s*\]\)\s*param ` + p + ` string = '(northeurope|westeurope)'`)
		if !re.MatchString(main) {
			t.Errorf("main.bicep: param %s must be restricted to northeurope and westeurope", p)
		}
	}
}

// The identity gets exactly the intended built-in roles, no broader one.
func TestOnlyTheIntendedRoles(t *testing.T) {
	intended := map[string]string{
		"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
		"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
		"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
		"69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
		"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
		"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
		"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
		"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
	}
	guid := regexp.MustCompile(`'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`)
	seen := map[string]bool{}
	for file, src := range bicep(t) {
		if !strings.Contains(src, "roleDefinitions") {
			continue
		}
		for _, m := range guid.FindAllStringSubmatch(code(src), -1) {
			if _, ok := intended[m[1]]; !ok {
				t.Errorf("%s assigns role %s, which is not one of the intended roles", file, m[1])
			}
			seen[m[1]] = true
		}
	}
	var missing []string
	for id, name := range intended {
		if !seen[id] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("roles never assigned: %v", missing)
	}
}

var secretLiteral = regexp.MustCompile(`(?i)(AccountKey=|SharedAccessKey=|InstrumentationKey=[0-9a-f]|-----BEGIN|(password|secret|token|key)\s*:\s*'[^'$@]{8,}')`)

// No secret is written in a file; the secrets the app reads are Key Vault
// references.
func TestNoSecretLiterals(t *testing.T) {
	files := bicep(t)
	for file, src := range files {
		if m := secretLiteral.FindString(code(src)); m != "" {
			t.Errorf("%s holds what looks like a secret: %q", file, m)
		}
	}
	app := code(files["modules/functionapp.bicep"])
	for _, name := range []string{config.EntraClientSecret, config.TokenCacheKey, config.PostmarkServerToken, config.PostmarkInboundUser, config.PostmarkInboundPassword, config.TrackingKeys} {
		if !regexp.MustCompile(name + `:\s*'@Microsoft\.KeyVault\(SecretUri=`).MatchString(app) {
			t.Errorf("app setting %s is not a Key Vault reference", name)
		}
	}
	for _, name := range []string{config.Storage + "__accountName", config.Storage + "__credential", config.ServiceBus + "__fullyQualifiedNamespace",
		config.BackupStorage + "__accountName", config.BackupStorage + "__credential"} {
		if !strings.Contains(app, name) {
			t.Errorf("identity-based setting %s is missing", name)
		}
	}
}

// Backups: the exports' containers are immutable, in their own account
// (immutability and point-in-time restore exclude each other), and every
// immutability period ends before the backup timer deletes the export, so
// the deletions that keep the retention promise are never refused.
func TestBackupImmutability(t *testing.T) {
	files := bicep(t)
	bk := code(files["modules/backupstorage.bicep"])
	if strings.Contains(bk, "restorePolicy") || strings.Contains(bk, "immutableStorageWithVersioning") {
		t.Error("backupstorage.bicep: point-in-time restore or version-level immutability in the backup account")
	}
	if strings.Contains(code(files["modules/storage.bicep"]), "immutab") {
		t.Error("storage.bicep: immutability in the account with point-in-time restore")
	}
	for _, c := range []struct {
		param, container string
		limit            int
	}{
		{"exportImmutableDays", "exports", int(backup.KeepExports/(24*time.Hour)) - 1},
		{"monthlyImmutableDays", "monthly", 364},
	} {
		def := regexp.MustCompile(`@maxValue\((\d+)\)\s*param ` + c.param + ` int = (\d+)`).FindStringSubmatch(bk)
		if def == nil {
			t.Errorf("backupstorage.bicep: param %s needs a @maxValue and a default", c.param)
			continue
		}
		for _, v := range def[1:] {
			if n, _ := strconv.Atoi(v); n > c.limit {
				t.Errorf("%s allows %d days; at most %d, so the backup timer's deletion at expiry is never refused", c.param, n, c.limit)
			}
		}
		policy := regexp.MustCompile(`parent: ` + c.container + `\s*name: 'default'\s*properties: \{\s*immutabilityPeriodSinceCreationInDays: ` + c.param)
		if !policy.MatchString(bk) {
			t.Errorf("container %s has no immutability policy of %s days", c.container, c.param)
		}
	}
	for _, name := range []string{backup.Container, backup.MonthlyContainer} {
		if !strings.Contains(bk, "name: '"+name+"'") {
			t.Errorf("backupstorage.bicep lacks container %s", name)
		}
	}
}

// TestSoftDeleteAsStated: the privacy notice's keeping period of deleted
// blobs (backup.KeepSoftDeleted) is the one the storage account applies.
func TestSoftDeleteAsStated(t *testing.T) {
	m := regexp.MustCompile(`param softDeleteDays int = (\d+)`).FindStringSubmatch(code(bicep(t)["modules/storage.bicep"]))
	if m == nil {
		t.Fatal("storage.bicep: no softDeleteDays parameter")
	}
	if n, _ := strconv.Atoi(m[1]); time.Duration(n)*24*time.Hour != backup.KeepSoftDeleted {
		t.Errorf("storage.bicep keeps deleted blobs %d days; backup.KeepSoftDeleted, which the privacy notice states, says %v", n, backup.KeepSoftDeleted)
	}
}
