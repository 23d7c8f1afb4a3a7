package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tealeg/xlsx/v3"
)

// benchColumns are 20 columns of a realistic recipient list.
var benchColumns = []string{"Email", "First name", "Last name", "Company", "Title", "Phone", "City", "Zip", "Country", "Since",
	"Plan", "Seats", "Discount", "Manager", "Region", "Language", "Code", "Segment", "Score", "Note"}

// benchValue is row i's value of column c: text, or a number with a format.
func benchValue(i, c int) (string, float64, string) {
	switch c {
	case 0:
		return fmt.Sprintf("u%d@example.com", i), 0, ""
	case 1:
		return []string{"Ann", "Bob", "Chloé", "Dmitri", "Eve"}[i%5], 0, ""
	case 2:
		return []string{"Smith", "Müller", "García", "O'Brien", "Rossi"}[i%5], 0, ""
	case 3:
		return fmt.Sprintf("Co %d", i%3000), 0, ""
	case 6:
		return []string{"Seattle", "Berlin", "Paris", "Tokyo"}[i%4], 0, ""
	case 7:
		return "", float64(i % 99999), "00000"
	case 9:
		return "", float64(40000 + i%3000), "m/d/yyyy"
	case 12:
		return "", float64(i%50) / 100, "0%"
	case 18:
		return "", float64(i % 1000), ""
	}
	return fmt.Sprintf("%c%d", benchColumns[c][0], i%97), 0, ""
}

// benchFiles are the same 100,000 x 20 rows as .xlsx (written by
// tealeg/xlsx) and as .csv; both stay under the 10 MB upload limit.
func benchFiles(b *testing.B) map[string][]byte {
	f := xlsx.NewFile()
	sh, err := f.AddSheet("Recipients")
	if err != nil {
		b.Fatal(err)
	}
	var csv strings.Builder
	row := sh.AddRow()
	for _, h := range benchColumns {
		row.AddCell().SetString(h)
	}
	csv.WriteString(strings.Join(benchColumns, ",") + "\n")
	for i := range 100_000 {
		row := sh.AddRow()
		for c := range benchColumns {
			text, num, format := benchValue(i, c)
			cell := row.AddCell()
			if c > 0 {
				csv.WriteByte(',')
			}
			switch {
			case text != "":
				cell.SetString(text)
				csv.WriteString(text)
			case format != "":
				cell.SetFloatWithFormat(num, format)
				v, _ := cell.FormattedValue()
				csv.WriteString(v)
			default:
				cell.SetFloat(num)
				fmt.Fprint(&csv, num)
			}
		}
		csv.WriteByte('\n')
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"xlsx": buf.Bytes(), "csv": []byte(csv.String())}
}

// BenchmarkUploadToReady100k measures the whole path on Azurite: PUT of a
// 100,000-row file through the local host, the campaign-data worker parsing,
// validating and writing every row to Table storage, until the data is ready.
//
//	tools/with-azurite.sh go test -run '^$' -bench UploadToReady -benchtime 2x ./handler/e2e/
func BenchmarkUploadToReady100k(b *testing.B) {
	files := benchFiles(b)
	h := startHost(b, nil)
	tok := h.token(b, "bob")
	h.call(b, "POST", "/v1/install", tok, "")
	for _, format := range []string{"xlsx", "csv"} {
		b.Run(format, func(b *testing.B) {
			if size := len(files[format]); size > 10<<20 {
				// The product's upload limit; a 100,000-row CSV with these
				// values is over it, so only the xlsx goes the whole way.
				b.Skipf("the %s file is %.1f MB, over the 10 MB upload limit", format, float64(size)/(1<<20))
			}
			b.ReportMetric(float64(len(files[format]))/(1<<20), "MB-file")
			for b.Loop() {
				_, c := h.call(b, "POST", "/v1/campaigns", tok, `{"name":"bench"}`)
				id := c["id"].(string)
				start := time.Now()
				if status, body := h.upload(b, tok, id, "big."+format, files[format]); status != 202 {
					b.Fatalf("upload: %d %v", status, body)
				}
				data := h.processed(b, tok, id)
				if data["status"] != "ready" || data["rows"] != 100000.0 {
					b.Fatalf("processed: %v %v", data["status"], data["error"])
				}
				b.ReportMetric(time.Since(start).Seconds(), "s-to-ready")
				b.StopTimer()
				h.call(b, "DELETE", "/v1/campaigns/"+id, tok, "")
				b.StartTimer()
			}
		})
	}
}
