package merge

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
)

// Problem is one thing wrong with a template, with where it is.
type Problem struct {
	Part        string   `json:"part"`                  // "subject", "html" or "text"
	Offset      int      `json:"offset"`                // byte offset in that part's source
	Line        int      `json:"line"`                  // 1-based line of Offset
	Column      int      `json:"column"`                // 1-based column of Offset, in characters
	Code        string   `json:"code"`                  // stable snake_case: unknown_column, unclosed_if, ...
	Message     string   `json:"message"`               // what to fix, safe to show
	Placeholder string   `json:"placeholder,omitempty"` // the placeholder as written, when there is one
	Suggestions []string `json:"suggestions,omitempty"` // for unknown_column: up to 3 closest column names
}

// String formats the problem for a person.
func (p Problem) String() string {
	return fmt.Sprintf("%s, line %d, column %d: %s", p.Part, p.Line, p.Column, p.Message)
}

// Sentence says the problem for the owner in plain words, the same in the
// dashboard, the add-in and the notice: for a placeholder that is no
// column, the placeholder as written and the columns it may mean
// ("`{{Frist name}}` is not a column: did you mean `{{First name}}`?").
func (p Problem) Sentence() string {
	where := map[string]string{"subject": "the subject", "html": "the email", "text": "the plain-text email"}[p.Part]
	if where == "" {
		where = "the email"
	}
	if p.Code == "unknown_column" {
		s := "`{{" + p.Placeholder + "}}` in " + where + " is not a column"
		if len(p.Suggestions) > 0 {
			// The closest only: the others are often far off.
			return s + ": did you mean `{{" + p.Suggestions[0] + "}}`?"
		}
		return s + " of the spreadsheet."
	}
	return "In " + where + ", line " + fmt.Sprint(p.Line) + ": " + strings.TrimRight(p.Message, ".") + "."
}

// CompileError lists every problem Compile found. It unwraps to an
// *apperr.Error of kind Invalid with code "template_invalid".
type CompileError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *CompileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns the app's error for the whole list, so apperr.KindOf and
// apperr.Is see an Invalid error.
func (e *CompileError) Unwrap() error {
	msg := "The email template has a problem: " + e.Problems[0].String()
	if n := len(e.Problems); n > 1 {
		msg = fmt.Sprintf("The email template has %d problems; the first: %s", n, e.Problems[0].String())
	}
	return apperr.E(apperr.Invalid, "template_invalid", "%s", msg)
}

// position computes the 1-based line and character column of off in src.
func position(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// shorten keeps error messages readable when a "{{" was closed far away.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	r := []rune(s)
	return string(r[:57]) + "…"
}

// suggest returns up to 3 column names closest to name by edit distance on
// their ColumnKey, closest first, ties in column order.
func suggest(name string, columns []string) []string {
	key := []rune(campaign.ColumnKey(name))
	type cand struct {
		name string
		d, i int
	}
	var cs []cand
	seen := map[string]bool{}
	for i, c := range columns {
		k := campaign.ColumnKey(c)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		cs = append(cs, cand{c, levenshtein(key, []rune(k)), i})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].d < cs[b].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
