package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	kflate "github.com/klauspost/compress/flate"

	"mailmerge/handler/internal/apperr"
)

const (
	// maxSmallPart bounds the parts read whole with encoding/xml (workbook,
	// relationships, styles); real ones are a few hundred KB at most.
	maxSmallPart = 32 << 20
	// maxTextBytes bounds the text a sheet may make us hold (cells that
	// are not shared strings, and the shared strings themselves). A few
	// KB of zip can inflate into gigabytes of distinct cell text; this
	// keeps such a file from costing more than the memory the product
	// plans for one upload.
	maxTextBytes = 192 << 20
	// maxSharedStrings bounds the shared-string table's length for the
	// same reason: a 10 MB upload holds far fewer real distinct texts.
	maxSharedStrings = 4 << 20
)

// Relationship types end with these words in both the transitional and the
// strict OOXML namespaces.
const (
	relOfficeDocument = "/officeDocument"
	relWorksheet      = "/worksheet"
	relStyles         = "/styles"
	relSharedStrings  = "/sharedStrings"
)

func unreadable(err error) *apperr.Error {
	return apperr.Wrap(err, apperr.Invalid, "file_unreadable",
		"the workbook could not be read (it may be damaged, or not really an .xlsx file); open it in Excel, save it again as Excel Workbook (.xlsx) and upload that")
}

// parseXLSX reads a worksheet of an .xlsx workbook: the one named want, or
// the first visible one.
func parseXLSX(data []byte, want string, limits Limits) (*Table, error) {
	if err := checkZipDirectory(data, limits); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, unreadable(err)
	}
	// klauspost's inflate is about twice as fast as compress/flate's, and
	// inflating is a fifth of the time of a large sheet.
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return kflate.NewReader(r) })
	if len(zr.File) > limits.MaxZipEntries {
		return nil, tooManyEntries(len(zr.File), limits)
	}
	p := &pkg{files: make(map[string]*zip.File, len(zr.File))}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		name := partName(f.Name)
		if _, dup := p.files[name]; dup {
			// Which copy a reader takes is up to the reader (Excel refuses
			// the file): the file is damaged or made to mislead.
			return nil, unreadable(errors.New("two parts are named " + name))
		}
		p.files[name] = f
	}
	if total > uint64(limits.MaxUnzippedBytes) {
		return nil, apperr.E(apperr.TooLarge, "zip_too_large",
			"the workbook unpacks to %s, more than the limit of %s; keep only the recipients sheet, or save it as .csv", size(int64(min(total, 1<<62))), size(limits.MaxUnzippedBytes))
	}
	return p.read(want, limits)
}

func tooManyEntries(n int, limits Limits) *apperr.Error {
	return apperr.E(apperr.TooLarge, "zip_too_many_entries",
		"the workbook holds %d parts, more than the limit of %d; keep only the recipients sheet (no images or other sheets), or save it as .csv", n, limits.MaxZipEntries)
}

// checkZipDirectory reads the entry count from the zip's end record, so that
// an archive listing millions of entries is refused before archive/zip
// allocates a record for each.
func checkZipDirectory(data []byte, limits Limits) error {
	const endLen = 22
	lo := max(0, len(data)-endLen-0xFFFF)
	i := bytes.LastIndex(data[lo:], []byte("PK\x05\x06"))
	if i < 0 || lo+i+endLen > len(data) {
		return nil // archive/zip reports the damage
	}
	n := int(binary.LittleEndian.Uint16(data[lo+i+10:]))
	if n != 0xFFFF && n > limits.MaxZipEntries {
		return tooManyEntries(n, limits)
	}
	return nil
}

// pkg is the opened zip: parts by normalised name (OPC names are
// case-insensitive; some writers use backslashes).
type pkg struct {
	files map[string]*zip.File
}

func partName(n string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(n, `\`, "/"), "/"))
}

func (p *pkg) open(name string) (io.ReadCloser, bool, error) {
	f, ok := p.files[partName(name)]
	if !ok {
		return nil, false, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, true, unreadable(err)
	}
	return rc, true, nil
}

// readXML decodes a small part into v, reporting false when it is absent.
func (p *pkg) readXML(name string, v any) (bool, error) {
	rc, ok, err := p.open(name)
	if !ok || err != nil {
		return ok, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSmallPart+1))
	if err != nil {
		return true, unreadable(err)
	}
	if len(b) > maxSmallPart {
		return true, unreadable(errors.New(name + " is too large"))
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return true, unreadable(err)
	}
	return true, nil
}

type relsXML struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

type workbookXML struct {
	Pr struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Attrs []xml.Attr `xml:",any,attr"`
	} `xml:"sheets>sheet"`
}

type stylesXML struct {
	NumFmts []struct {
		ID   string `xml:"numFmtId,attr"`
		Code string `xml:"formatCode,attr"`
	} `xml:"numFmts>numFmt"`
	Xfs []struct {
		NumFmtID string `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

// resolve turns a relationship target into a part name: absolute targets
// start at the package root, others are relative to the source's folder.
func resolve(dir, target string) string {
	target = strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(target, "/") {
		return path.Clean(target)[1:]
	}
	return strings.TrimPrefix(path.Clean(path.Join("/", dir, target)), "/")
}

// read finds the workbook, the sheet to read, styles and shared strings,
// then scans the sheet.
func (p *pkg) read(want string, limits Limits) (*Table, error) {
	wbPath := "xl/workbook.xml"
	var root relsXML
	if _, err := p.readXML("_rels/.rels", &root); err != nil {
		return nil, err
	}
	for _, r := range root.Rels {
		if strings.HasSuffix(r.Type, relOfficeDocument) {
			wbPath = resolve("", r.Target)
			break
		}
	}
	var wb workbookXML
	ok, err := p.readXML(wbPath, &wb)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, unreadable(errors.New("no workbook part"))
	}
	dir := path.Dir(wbPath)
	var rels relsXML
	if _, err := p.readXML(path.Join(dir, "_rels", path.Base(wbPath)+".rels"), &rels); err != nil {
		return nil, err
	}
	if len(wb.Sheets) == 0 {
		return nil, unreadable(errors.New("the workbook has no sheets"))
	}
	stylesPath, sstPath := path.Join(dir, "styles.xml"), path.Join(dir, "sharedStrings.xml")
	byID := map[string]int{}
	for i, r := range rels.Rels {
		byID[r.ID] = i
		switch {
		case strings.HasSuffix(r.Type, relStyles):
			stylesPath = resolve(dir, r.Target)
		case strings.HasSuffix(r.Type, relSharedStrings):
			sstPath = resolve(dir, r.Target)
		}
	}
	sheets, paths := listSheets(wb, rels, byID, dir)
	chosen, err := chooseSheet(sheets, want)
	if err != nil {
		return nil, err
	}
	sheetPath := paths[chosen]
	s := &sheetReader{limits: limits, date1904: wb.Pr.Date1904 == "1" || strings.EqualFold(wb.Pr.Date1904, "true")}
	if s.styles, err = p.readStyles(stylesPath); err != nil {
		return nil, err
	}
	if s.sst, err = p.readSharedStrings(sstPath, limits); err != nil {
		return nil, err
	}
	rc, ok, err := p.open(sheetPath)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, unreadable(errors.New("the worksheet's part is missing"))
	}
	defer rc.Close()
	t, err := s.read(rc)
	if err != nil {
		return nil, err
	}
	t.Sheet = sheets[chosen].Name
	for _, sh := range sheets {
		if sh.Worksheet {
			t.Sheets = append(t.Sheets, sh)
		}
	}
	return t, nil
}

// listSheets lists the workbook's sheets in tab order, and the part of
// each ("" for a sheet whose part is missing).
func listSheets(wb workbookXML, rels relsXML, byID map[string]int, dir string) ([]Sheet, []string) {
	sheets := make([]Sheet, len(wb.Sheets))
	paths := make([]string, len(wb.Sheets))
	for i, sh := range wb.Sheets {
		id, state := "", ""
		for _, a := range sh.Attrs {
			switch {
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			case a.Name.Local == "name" && a.Name.Space == "":
				sheets[i].Name = a.Value
			case a.Name.Local == "state" && a.Name.Space == "":
				state = a.Value
			}
		}
		sheets[i].Hidden = state == "hidden" || state == "veryHidden"
		if j, ok := byID[id]; ok && id != "" {
			sheets[i].Worksheet = strings.HasSuffix(rels.Rels[j].Type, relWorksheet)
			paths[i] = resolve(dir, rels.Rels[j].Target)
		}
	}
	return sheets, paths
}

// chooseSheet picks the sheet named want (as Excel compares sheet names:
// regardless of case), or else the first visible worksheet, which is what
// Excel shows first; chart sheets hold no rows.
func chooseSheet(sheets []Sheet, want string) (int, error) {
	var names []string
	for _, sh := range sheets {
		if sh.Worksheet {
			names = append(names, strconv.Quote(sh.Name))
		}
	}
	if len(names) == 0 {
		return 0, apperr.E(apperr.Invalid, "no_worksheet", "the workbook has no worksheet (only charts or other kinds of sheet); put the recipients on a worksheet")
	}
	if want = strings.TrimSpace(want); want != "" {
		for i, sh := range sheets {
			if !strings.EqualFold(strings.TrimSpace(sh.Name), want) {
				continue
			}
			if !sh.Worksheet {
				return 0, apperr.E(apperr.Invalid, "sheet_not_a_worksheet", "the sheet %q is a chart, not a list; choose one of the workbook's worksheets: %s", sh.Name, strings.Join(names, ", "))
			}
			return i, nil
		}
		return 0, apperr.E(apperr.Invalid, "sheet_not_found", "the workbook has no sheet named %q; its worksheets are %s", want, strings.Join(names, ", "))
	}
	first := -1
	for i, sh := range sheets {
		if sh.Worksheet && !sh.Hidden {
			return i, nil
		}
		if sh.Worksheet && first < 0 {
			first = i
		}
	}
	// Every worksheet is hidden: the first one.
	return first, nil
}

// readStyles compiles the number format of each cell style (cellXfs, which a
// cell's s attribute indexes), each distinct code once.
func (p *pkg) readStyles(name string) ([]*numFormat, error) {
	var st stylesXML
	if _, err := p.readXML(name, &st); err != nil {
		return nil, err
	}
	custom := make(map[int]string, len(st.NumFmts))
	for _, f := range st.NumFmts {
		if id, err := strconv.Atoi(strings.TrimSpace(f.ID)); err == nil {
			custom[id] = f.Code
		}
	}
	compiled := make(map[string]*numFormat)
	out := make([]*numFormat, len(st.Xfs))
	for i, xf := range st.Xfs {
		id, _ := strconv.Atoi(strings.TrimSpace(xf.NumFmtID))
		code, ok := custom[id]
		if !ok {
			code = builtinFormat(id)
		}
		f := compiled[code]
		if f == nil {
			f = compileFormat(code)
			compiled[code] = f
		}
		out[i] = f
	}
	return out, nil
}
