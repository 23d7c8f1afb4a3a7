package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// hundredThousandRowsCSV is 100,000 recipients x 20 columns.
func hundredThousandRowsCSV() []byte {
	var b strings.Builder
	cols := []string{"Email", "First name", "Last name", "Company", "Title", "Phone", "Street", "City", "Zip", "Country",
		"Customer since", "Plan", "Seats", "Discount", "Manager", "Region", "Language", "Code", "Note", "Segment"}
	b.WriteString(strings.Join(cols, ",") + "\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "user%06d@example.com,First%d,Last%d,Company %d,Manager,+44 20 7946 %04d,%d High Street,London,%05d,United Kingdom,"+
			"10/%d/2021,Business,%d,%d%%,Boss %d,EMEA,en-GB,%06d,\"Likes \"\"quotes\"\", commas\",Segment %d\n",
			i, i, i, i%5000, i%10000, i%200, i%100000, i%28+1, i%50, i%30, i%100, i, i%7)
	}
	return []byte(b.String())
}

// BenchmarkUploadToReady100k measures the whole path on Azurite: PUT of a
// 100,000-row file through the local host, the campaign-data worker parsing,
// validating and writing every row to Table storage, until the data is ready.
//
//	make bench   (or tools/with-azurite.sh go test -run '^$' -bench UploadToReady ./handler/e2e/)
func BenchmarkUploadToReady100k(b *testing.B) {
	h := startHost(b, nil)
	tok := h.token(b, "bob")
	h.call(b, "POST", "/v1/install", tok, "")
	files := map[string][]byte{"csv": hundredThousandRowsCSV()}
	for _, format := range []string{"csv"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				_, c := h.call(b, "POST", "/v1/campaigns", tok, `{"name":"bench"}`)
				id := c["id"].(string)
				start := time.Now()
				if status, body := h.upload(b, tok, id, "big."+format, files[format]); status != 202 {
					b.Fatalf("upload: %d %v", status, body)
				}
				data := h.processed(b, tok, id)
				if data["status"] != "ready" || data["rows"] != 100000.0 {
					b.Fatalf("processed: %v", data["status"])
				}
				b.ReportMetric(time.Since(start).Seconds(), "s-to-ready")
				h.call(b, "DELETE", "/v1/campaigns/"+id, tok, "")
			}
		})
	}
}
