package sheet

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"mailmerge/handler/internal/apperr"
)

// A zip bomb named .xlsx: one entry of 1 GB of zeros, about 1.3 MB packed.
// It must be refused from the directory, before anything is inflated.
func TestXLSXZipBomb(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, &zerosReader{n: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = ParseSheet(buf.Bytes(), "bomb.xlsx", "", DefaultLimits())
	wantCode(t, err, apperr.TooLarge, "zip_too_large")
}

// An entry that declares 100 bytes but inflates to 10 MB: archive/zip stops
// at the declared size, and the file is reported as damaged.
func TestXLSXEntryLiesAboutSize(t *testing.T) {
	good := book{sheetData: row(1, inl("A1", "H"))}.bytes(t)
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var packed bytes.Buffer
	fw, _ := flate.NewWriter(&packed, flate.BestSpeed)
	if _, err := io.Copy(fw, &zerosReader{n: 10 << 20}); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CompressedSize64: uint64(packed.Len()), UncompressedSize64: 100})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(packed.Bytes())
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	_, err = ParseSheet(out.Bytes(), "liar.xlsx", "", DefaultLimits())
	wantCode(t, err, apperr.Invalid, "file_unreadable")
}

func TestXLSXTooManyEntries(t *testing.T) {
	extra := map[string][]byte{}
	for i := range 1001 {
		extra["xl/media/image"+itoa(i)+".png"] = []byte("x")
	}
	data := book{extra: extra, sheetData: row(1, inl("A1", "H"))}.bytes(t)
	_, err := ParseSheet(data, "many.xlsx", "", DefaultLimits())
	wantCode(t, err, apperr.TooLarge, "zip_too_many_entries")
}

func TestNotAWorkbook(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	good := book{sheetData: row(1, inl("A1", "H")) + row(2, inl("A2", "x"))}.bytes(t)
	flipped := bytes.Clone(good)
	// Damage the compressed sheet in the middle of the file.
	zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			off, _ := f.DataOffset()
			for i := off + 5; i < off+int64(f.CompressedSize64)-2; i++ {
				flipped[i] ^= 0x55
			}
		}
	}
	tests := []struct {
		name string
		data []byte
		file string
		kind apperr.Kind
		code string
	}{
		{"xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), "old.xls", apperr.Unsupported, "xls_not_supported"},
		{"random binary", random, "data.bin", apperr.Unsupported, "format_not_supported"},
		{"truncated zip", good[:len(good)/2], "cut.xlsx", apperr.Invalid, "file_unreadable"},
		{"damaged deflate", flipped, "bad.xlsx", apperr.Invalid, "file_unreadable"},
		{"zip without workbook", zipOf(t, map[string][]byte{"xl/a.txt": []byte("hi")}, false), "a.xlsx", apperr.Invalid, "file_unreadable"},
		{"bad workbook xml", book{extra: map[string][]byte{"xl/workbook.xml": []byte("<workbook><sheets><sheet")}}.bytes(t), "w.xlsx", apperr.Invalid, "file_unreadable"},
		{"doctype", book{extra: map[string][]byte{"xl/worksheets/sheet1.xml": []byte(`<!DOCTYPE x [<!ENTITY a "b">]><worksheet/>`)}}.bytes(t), "d.xlsx", apperr.Invalid, "file_unreadable"},
		{"missing shared string", book{sheetData: row(1, `<c r="A1" t="s"><v>7</v></c>`)}.bytes(t), "s.xlsx", apperr.Invalid, "file_unreadable"},
		{"damaged number", book{sheetData: row(1, `<c r="A1"><v>1.2.3</v></c>`)}.bytes(t), "n.xlsx", apperr.Invalid, "file_unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSheet(tt.data, tt.file, "", DefaultLimits())
			wantCode(t, err, tt.kind, tt.code)
		})
	}
}

// Damaged sheets must give an error or a table, never a panic: this calls
// parseXLSX directly, without ParseSheet's recover, on thousands of
// mutations of an uncompressed workbook.
func TestXLSXMutationsDoNotPanic(t *testing.T) {
	b := book{
		store:     true,
		numFmts:   map[int]string{164: `[<=9999999]###-####;(###) ###-####`, 165: `# ??/??`, 166: `[h]:mm:ss.00`},
		xfs:       []int{0, 14, 164, 165, 166, 44},
		shared:    []string{`<t>a</t>`, `<r><t>b</t></r><rPh><t>c</t></rPh>`},
		sheetData: row(1, inl("A1", "H"), `<c r="B1" t="s"><v>1</v></c>`) + row(2, num("A2", 1, "44474.5"), num("B2", 2, "5551234"), num("C2", 3, "3.14"), num("D2", 4, "1.25"), num("E2", 5, "-3")),
		after:     `<mergeCells><mergeCell ref="A2:B3"/></mergeCells>`,
	}
	good := b.bytes(t)
	rng := rand.New(rand.NewPCG(3, 4))
	mutants := []byte(`<>/="'&;_x0:AZ9 -.E`)
	for i := range 3000 {
		data := bytes.Clone(good)
		for range 1 + i%4 {
			data[rng.IntN(len(data))] = mutants[rng.IntN(len(mutants))]
		}
		tab, err := parseXLSX(data, "", DefaultLimits())
		var e *apperr.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("mutation %d: error %v is not an *apperr.Error", i, err)
		}
		if err == nil && tab == nil {
			t.Fatalf("mutation %d: no table and no error", i)
		}
	}
}

// FuzzParse runs its seeds as a test; `go test -fuzz FuzzParse` explores.
func FuzzParse(f *testing.F) {
	f.Add(book{store: true, sheetData: row(1, inl("A1", "H")) + row(2, num("A2", 0, "1"))}.bytes(f), "a.xlsx")
	f.Add([]byte("a,b\n1,\"2\n3\"\n"), "a.csv")
	f.Add([]byte("\xff\xfea\x00,\x00b\x00"), "u.csv")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		limits := DefaultLimits()
		limits.MaxUnzippedBytes = 64 << 20
		tab, err := ParseSheet(data, name, "", limits)
		var e *apperr.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *apperr.Error", err)
		}
		if err == nil && len(tab.Header) == 0 {
			t.Fatal("a table without a header")
		}
	})
}
