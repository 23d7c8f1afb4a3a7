package sheet

// Small helpers for the sheet's attribute values, which are ASCII.

// atoi reads a non-negative decimal, stopping at the first non-digit; it
// saturates instead of overflowing on a hostile value.
func atoi(b []byte) int {
	b = trimSpace(b)
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		if n > 1<<40 {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// colIndex reads the column of a reference such as "AB12" (A is 1).
func colIndex(ref []byte) int {
	n := 0
	for _, c := range ref {
		switch {
		case c >= 'A' && c <= 'Z':
			n = n*26 + int(c-'A'+1)
		case c >= 'a' && c <= 'z':
			n = n*26 + int(c-'a'+1)
		case c == '$':
			continue
		default:
			return n
		}
		if n > 1<<30 {
			return n
		}
	}
	return n
}

// rowIndex reads the row of a reference such as "AB12".
func rowIndex(ref []byte) int {
	for i, c := range ref {
		if c >= '0' && c <= '9' {
			return atoi(ref[i:])
		}
	}
	return 0
}

// colName is the letters of column n (1 is A), as in a cell reference.
func colName(n int) string {
	var b [8]byte
	i := len(b)
	for n > 0 && i > 0 {
		n--
		i--
		b[i] = byte('A' + n%26)
		n /= 26
	}
	return string(b[i:])
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// plainGeneral tells whether a stored number is already what General shows:
// at most 11 characters besides a sign, digits with at most one point, no
// needless zeros. This skips float parsing for most plain numbers.
func plainGeneral(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
		if len(raw) == 1 && raw[0] == '0' {
			return false
		}
	}
	if len(raw) == 0 || len(raw) > 11 || raw[0] == '.' {
		return false
	}
	point := -1
	for i, c := range raw {
		switch {
		case c == '.' && point < 0:
			point = i
		case c < '0' || c > '9':
			return false
		}
	}
	if raw[0] == '0' && len(raw) > 1 && point != 1 {
		return false
	}
	if point >= 0 && (point == len(raw)-1 || raw[len(raw)-1] == '0') {
		return false
	}
	return true
}
