package words

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// codeWords are what the code says and a person should not read: setting
// names, identifiers, storage and programming terms, states in their raw
// form.
var codeWords = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a setting's name", regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`)},
	{"an identifier", regexp.MustCompile(`\b[a-z][a-z0-9]*_[a-z0-9_]+\b`)},
	{"an identifier", regexp.MustCompile(`\b[a-z]+[A-Z][a-z]+[A-Za-z]*\b`)},
	{"a storage term", regexp.MustCompile(`(?i)\b(tombstones?|partition(s|key)?|blobs?|row ?keys?|etags?|entit(y|ies)|hash(es|ed)?|ttl|retention timer|queue messages?|table storage|storage account|azurite)\b`)},
	{"a programming term", regexp.MustCompile(`(?i)\b(null|undefined|nan|boolean|enum|payload|stack trace|exception|uuid|guid|\[object)\b`)},
	{"a state in its raw form", regexp.MustCompile(`\((draft|ready|queued|review|scheduled|sending|paused|completed|failed|cancelled|pending|sent|skipped|unknown|processing|invalid)\)|\bis (draft|queued|review)\b|\b(state|status) (is )?(draft|ready|queued|review|scheduled|sending|paused|completed|failed|cancelled|pending|skipped|unknown)\b`)},
}

// allowed are code-like words a person does read as they are.
var allowed = regexp.MustCompile(`\b(iPhone|iPad|macOS|eBay|JavaScript|PowerShell|OneDrive|SharePoint|LinkedIn|YouTube)\b`)

// prose tells a text a person reads from code: three words or more.
var prose = regexp.MustCompile(`[A-Za-z]+[,.:;!?']?\s+[A-Za-z'"“(]+[,.:;!?']?\s+[A-Za-z'"“(]+`)

func check(t *testing.T, where, text string) {
	t.Helper()
	clean := allowed.ReplaceAllString(text, "")
	for _, w := range codeWords {
		if m := w.re.FindString(clean); m != "" {
			t.Errorf("%s: %q is %s, in %q", where, m, w.what, clip(text))
		}
	}
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// TestWordsSpeakPlainly checks the states' and counts' words themselves.
func TestWordsSpeakPlainly(t *testing.T) {
	for s, w := range Campaigns {
		check(t, "campaign state "+string(s), w.Name+". "+w.Meaning)
	}
	for s, w := range Rows {
		check(t, "row state "+string(s), w.Name+". "+w.Meaning)
	}
	for s, w := range Data {
		check(t, "data state "+string(s), w.Name+". "+w.Meaning)
	}
}

// TestNoCodeWordsInWhatPeopleRead scans every text a person can read: the
// web app's and the task pane's scripts and pages (their strings and the
// text of their templates), and the Go code's messages (errors, reasons,
// notices, the privacy and export texts, the recipient's pages). Log
// messages and internal errors are left out: no person reads them.
func TestNoCodeWordsInWhatPeopleRead(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	static := filepath.Join(root, "handler", "internal", "web", "static")
	n := 0
	err := filepath.WalkDir(static, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "vendor" {
				return filepath.SkipDir
			}
			return err
		}
		ext := filepath.Ext(path)
		if ext != ".js" && ext != ".html" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		var texts []string
		if ext == ".html" {
			texts = markupTexts(string(raw))
		} else {
			texts = scriptTexts(string(raw))
		}
		for _, s := range texts {
			n++
			check(t, rel, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	internal := filepath.Join(root, "handler", "internal")
	err = filepath.WalkDir(internal, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// The stand-ins for Microsoft's and Postmark's services are
			// not ours to word.
			// Settings, the host's protocol, queue messages and the
			// first-deployment check speak to the operator and to
			// machines, in the code's own terms.
			switch d.Name() {
			case "dev", "testdata", "static", "config", "invoke", "task", "postmark", "infracheck", "verify":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, s := range goTexts(t, path) {
			n++
			check(t, rel, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 300 {
		t.Fatalf("only %d texts found: the scan has lost its sources", n)
	}
	t.Logf("%d texts scanned", n)
}

// goTexts returns a Go file's string literals that read as prose, leaving
// out those given to logging, to internal errors (fmt.Errorf,
// errors.New: their text reaches logs, never a person) and to queries.
func goTexts(t *testing.T, path string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if !internalCall(call) {
			return true
		}
		for _, a := range call.Args {
			ast.Inspect(a, func(n ast.Node) bool {
				if l, ok := n.(*ast.BasicLit); ok {
					skip[l] = true
				}
				return true
			})
		}
		return true
	})
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec, *ast.Field:
			return false // import paths, struct tags
		case *ast.BasicLit:
			if n.Kind != token.STRING || skip[n] {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				return true
			}
			if strings.ContainsAny(s, "<>") {
				out = append(out, markupTexts(s)...)
			} else if prose.MatchString(s) && !query.MatchString(s) {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// internalCall reports whether a call's text reaches only logs or
// developers: logging, internal errors, storage queries.
func internalCall(call *ast.CallExpr) bool {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		name := fn.Sel.Name
		if x, ok := fn.X.(*ast.Ident); ok {
			switch x.Name + "." + name {
			case "fmt.Errorf", "errors.New", "aztables.ListEntitiesOptions", "slog.String":
				return true
			}
			if x.Name == "slog" || x.Name == "log" {
				return true
			}
		}
		switch name {
		case "Info", "Warn", "Error", "Debug", "InfoContext", "WarnContext", "ErrorContext", "DebugContext", "Log", "LogAttrs",
			"Fatal", "Fatalf", "Printf", "Println":
			return true
		}
	}
	return false
}

// query tells a query's text (storage's, Graph's), which no person reads.
var query = regexp.MustCompile(`\b[A-Za-z]+ (eq|ne|ge|gt|le|lt) ('|$)`)

var (
	tag      = regexp.MustCompile(`(?s)<[^>]*>`)
	attrText = regexp.MustCompile(`\b(?:aria-label|title|placeholder|alt|label|action|cancel|typed)="([^"$]*)"`)
)

// markupTexts returns the text of markup: what lies between its tags, and
// the attributes a person reads (labels, titles, placeholders).
func markupTexts(s string) []string {
	var out []string
	for _, m := range attrText.FindAllStringSubmatch(s, -1) {
		if strings.TrimSpace(m[1]) != "" {
			out = append(out, m[1])
		}
	}
	for _, part := range tag.Split(s, -1) {
		if p := strings.Join(strings.Fields(part), " "); p != "" && strings.ContainsFunc(p, isLetter) {
			out = append(out, p)
		}
	}
	return out
}

func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }

// scriptTexts returns a script's texts: the text of its html“ templates
// and its strings that read as prose. Code between ${ } in a template is
// read as script again.
func scriptTexts(src string) []string {
	var out []string
	lits := jsLiterals(src)
	for _, l := range lits {
		if l.template {
			text := l.text
			if strings.ContainsAny(text, "<>") {
				out = append(out, markupTexts(text)...)
				continue
			}
			if prose.MatchString(text) {
				out = append(out, text)
			}
			continue
		}
		if prose.MatchString(l.text) && !strings.ContainsAny(l.text, "=;{") {
			out = append(out, l.text)
		}
	}
	return out
}

type jsLiteral struct {
	text     string
	template bool
}

// jsLiterals lexes a script just enough to find its string and template
// literals (including those inside a template's ${ }), skipping comments.
// A / where a value may begin starts a regular expression literal.
func jsLiterals(src string) []jsLiteral {
	var out []jsLiteral
	var lex func(i int, stopAtBrace bool) int
	lex = func(i int, stopAtBrace bool) int {
		depth := 0
		for i < len(src) {
			c := src[i]
			switch {
			case c == '/' && i+1 < len(src) && src[i+1] == '/':
				for i < len(src) && src[i] != '\n' {
					i++
				}
			case c == '/' && i+1 < len(src) && src[i+1] == '*':
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return len(src)
				}
				i += end + 4
			case c == '/' && regexStart(src, i):
				// A regular expression literal: skip to its closing /,
				// outside a [class].
				j, class := i+1, false
				for j < len(src) && src[j] != '\n' && (class || src[j] != '/') {
					switch src[j] {
					case '\\':
						j++
					case '[':
						class = true
					case ']':
						class = false
					}
					j++
				}
				i = j + 1
			case c == '"' || c == '\'':
				j := i + 1
				for j < len(src) && src[j] != c && src[j] != '\n' {
					if src[j] == '\\' {
						j++
					}
					j++
				}
				if j < len(src) {
					out = append(out, jsLiteral{text: src[i+1 : j]})
				}
				i = j + 1
			case c == '`':
				// The template's own text, each ${ } in it (lexed as
				// script) standing as one space.
				var text strings.Builder
				j := i + 1
				for j < len(src) && src[j] != '`' {
					switch {
					case src[j] == '\\':
						if j+1 < len(src) {
							text.WriteByte(src[j+1])
						}
						j += 2
					case src[j] == '$' && j+1 < len(src) && src[j+1] == '{':
						j = lex(j+2, true)
						text.WriteByte(' ')
					default:
						text.WriteByte(src[j])
						j++
					}
				}
				out = append(out, jsLiteral{text: text.String(), template: true})
				i = j + 1
			case c == '{' && stopAtBrace:
				depth++
				i++
			case c == '}' && stopAtBrace:
				if depth == 0 {
					return i + 1
				}
				depth--
				i++
			default:
				i++
			}
		}
		return i
	}
	lex(0, false)
	return out
}

// regexStart reports whether the / at i begins a regular expression: the
// last thing before it is not a value (a name, a number, a closing
// bracket) but an operator or an opening.
func regexStart(src string, i int) bool {
	j := i - 1
	for j >= 0 && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n') {
		j--
	}
	if j < 0 {
		return true
	}
	return strings.IndexByte("(,=:[!&|?{};+-*%<>~^", src[j]) >= 0
}

// TestScanReadsWhatPeopleRead checks the scan itself: it finds a template's
// text and labels, strings that read as prose, and nothing of the code
// around them.
func TestScanReadsWhatPeopleRead(t *testing.T) {
	src := "const re = /(`[^`]*`)/; // a `comment`\n" +
		"const x = html`<p class=${ok ? \"warn\" : \"note\"} aria-label=\"The row list\">The campaign is ${html`<b>${n} rows</b>`} queued now.</p>`;\n" +
		"const y = \"Nothing changed in the partition\"; const k = \"badge badge-x\";\n" +
		"/* \"a setting TRACKING_KEYS in a comment\" */ const z = a / b / c;"
	got := scriptTexts(src)
	want := []string{"The row list", "The campaign is queued now.", "Nothing changed in the partition"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("the scan missed %q; it read %q", w, got)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "warn") || strings.Contains(g, "TRACKING_KEYS") || strings.Contains(g, "badge") || strings.Contains(g, "comment") {
			t.Errorf("the scan read code or a comment: %q", g)
		}
	}
	for text, bad := range map[string]bool{
		"Set DEBUG_LOG_RETENTION to change it.": true,
		"The row_final rule applies.":           true,
		"We keep a hash of the address.":        true,
		"It can start only when it is (ready).": true,
		"Send your email to start it.":          false,
	} {
		clean := allowed.ReplaceAllString(text, "")
		found := false
		for _, w := range codeWords {
			found = found || w.re.MatchString(clean)
		}
		if found != bad {
			t.Errorf("%q: code word found %v, want %v", text, found, bad)
		}
	}
}
