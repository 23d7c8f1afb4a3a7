// Package sheet reads an uploaded spreadsheet (the first sheet of an .xlsx, or
// a .csv) into rows of text exactly as the user sees them in Excel: dates in
// the cell's number format, leading zeros, percentages and currency kept.
// Limits are checked before and while parsing, so a hostile file costs
// little, and a parser panic becomes an error on that upload.
package sheet

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"mailmerge/handler/internal/apperr"
)

// Limits bound what an upload may contain. Each has its own error.
type Limits struct {
	// MaxFileBytes bounds the upload itself.
	MaxFileBytes int64
	// MaxRows bounds the data rows (the header row not counted).
	MaxRows int
	// MaxColumns bounds the columns of any row.
	MaxColumns int
	// MaxCellBytes bounds one cell's text.
	MaxCellBytes int
	// MaxZipEntries and MaxUnzippedBytes bound an .xlsx archive; they are
	// checked against the zip directory before anything is inflated.
	MaxZipEntries    int
	MaxUnzippedBytes int64
}

// DefaultLimits are the product's limits.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:     10 << 20,
		MaxRows:          100_000,
		MaxColumns:       200,
		MaxCellBytes:     32 << 10,
		MaxZipEntries:    1_000,
		MaxUnzippedBytes: 512 << 20,
	}
}

// Table is the sheet read, as displayed.
type Table struct {
	// Format is "xlsx" or "csv".
	Format string
	// Sheet is the name of the worksheet read, and Sheets every worksheet
	// of the workbook, in tab order (both empty for a CSV file).
	Sheet  string
	Sheets []Sheet
	// Warnings are what the reader noticed and read its own way (merged
	// cells, a stray quote in a CSV value): worth a look, not an error.
	Warnings []Warning
	// Header is the first row's cells as displayed (not normalised), with
	// trailing empty columns trimmed.
	Header []string
	// Rows are the data rows after the header, up to the last non-empty
	// row: empty rows in between are kept (with no cells) so that they can be
	// reported by number.
	Rows []Row
}

// Sheet is one sheet of a workbook.
type Sheet struct {
	Name string `json:"name"`
	// Hidden: hidden in Excel (hidden or "very hidden").
	Hidden bool `json:"hidden"`
	// Worksheet: a sheet of cells, not a chart or another kind.
	Worksheet bool `json:"-"`
}

// Warning is one thing the reader read its own way, by the row number
// Excel shows.
type Warning struct {
	Row     int
	Code    string
	Message string
}

// Row is one data row.
type Row struct {
	// Row is the row number the user sees in Excel: the header is row 1.
	Row int
	// Cells are the displayed texts, at most len(Header) long plus any
	// extra non-empty cells; trailing empty cells may be left out.
	Cells []string
}

// Check refuses at once what cannot be parsed: a file over the size limit,
// an empty file, a legacy .xls or another binary. It returns the format,
// "xlsx" or "csv", detected from the content, never from the name or the
// client's Content-Type (the name only words the errors).
func Check(data []byte, name string, limits Limits) (string, error) {
	if int64(len(data)) > limits.MaxFileBytes {
		return "", apperr.E(apperr.TooLarge, "file_too_large", "the file is %s; the limit is %s", size(int64(len(data))), size(limits.MaxFileBytes))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", apperr.E(apperr.Invalid, "file_empty", "the file is empty; upload a spreadsheet whose first row names the columns")
	}
	switch f := detect(data, name); f {
	case "encrypted":
		return "", apperr.E(apperr.Unsupported, "file_encrypted", "the workbook is protected with a password, so it cannot be read; in Excel open it, choose File > Info > Protect Workbook > Encrypt with Password, clear the password, save a copy and upload that")
	case "xls":
		return "", apperr.E(apperr.Unsupported, "xls_not_supported", "legacy .xls files are not supported; in Excel choose File > Save As > Excel Workbook (.xlsx) and upload that")
	case "zip":
		return "", apperr.E(apperr.Unsupported, "format_not_supported", "this archive is not an Excel workbook; upload an .xlsx or .csv file")
	case "binary":
		return "", apperr.E(apperr.Unsupported, "format_not_supported", "this is not a spreadsheet we can read; upload an .xlsx or .csv file")
	default:
		return f, nil
	}
}

// ParseSheet checks the file (see Check) and reads it: a CSV file, or the
// worksheet named sheet (any case) of a workbook; "" reads the first
// visible one, and a CSV file ignores it.
func ParseSheet(data []byte, name, sheet string, limits Limits) (t *Table, err error) {
	format, err := Check(data, name, limits)
	if err != nil {
		return nil, err
	}
	defer func() {
		// A parser bug must cost this upload, not the worker.
		if v := recover(); v != nil {
			t, err = nil, apperr.E(apperr.Invalid, "file_unreadable", "the file could not be read (%v); open it in Excel and save it again as .xlsx or .csv", v)
		}
	}()
	if format == "xlsx" {
		t, err = parseXLSX(data, sheet, limits)
	} else {
		t, err = parseCSV(data, limits)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Header) == 0 {
		return nil, apperr.E(apperr.Invalid, "header_missing", "the first row is empty; it must name the columns (for example Email, First name)")
	}
	return t, nil
}

// detect tells the format by magic bytes.
func detect(data []byte, name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		if bytes.Contains(data[:min(len(data), 64<<10)], []byte("xl/")) || ext == ".xlsx" {
			return "xlsx"
		}
		return "zip"
	case bytes.HasPrefix(data, []byte(oleMagic)):
		// An OLE compound file: a workbook saved with a password to open
		// (Office keeps the encrypted .xlsx in a stream of that name), or
		// a legacy .xls.
		if bytes.Contains(data, utf16le("EncryptedPackage")) {
			return "encrypted"
		}
		return "xls"
	case ext == ".xls":
		return "xls"
	case looksBinary(data):
		return "binary"
	}
	return "csv"
}

// oleMagic starts an OLE compound file.
const oleMagic = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"

// utf16le encodes ASCII text as UTF-16LE, as OLE directory entries name
// their streams.
func utf16le(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for i := range len(s) {
		out = append(out, s[i], 0)
	}
	return out
}

// looksBinary reports NUL bytes outside a UTF-16 text.
func looksBinary(data []byte) bool {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return false
	}
	return bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)/1024)
}
