package sheet

import "testing"

// The expectations are what Excel (en-US) shows in a wide enough cell, or
// TEXT(value, code) returns.
func TestFormatNumber(t *testing.T) {
	tests := []struct {
		code string
		v    float64
		want string
	}{
		// General
		{"General", 0, "0"},
		{"General", 42, "42"},
		{"General", -42, "-42"},
		{"General", 0.1 + 0.2, "0.3"},
		{"General", 1.5, "1.5"},
		{"General", 1234567890123, "1.23457E+12"},
		{"General", 12345678901, "12345678901"},
		{"General", 123456789012, "1.23457E+11"},
		{"General", 1234567890.5, "1234567891"},
		{"General", 123456.789012345, "123456.789"},
		{"General", 0.0001234567891, "0.000123457"},
		{"General", 0.00001, "0.00001"},
		{"General", 0.0000123456789, "1.23457E-05"},
		{"General", 1e-10, "1E-10"},
		{"General", 1.5e-10, "1.5E-10"},
		{"General", 1e20, "1E+20"},
		{"General", 2.0 / 3, "0.666666667"},
		{"General", -2.0 / 3, "-0.666666667"},
		{"General", 99999999999.5, "1E+11"},
		{"", 7, "7"},
		// Fixed decimals, rounding half away from zero on the 15-digit value.
		{"0", 2.5, "3"},
		{"0", -2.5, "-3"},
		{"0", 0.4, "0"},
		{"0.00", 1.005, "1.01"},
		{"0.00", 2.675, "2.68"},
		{"0.00", 0, "0.00"},
		{"0.0#", 1.5, "1.5"},
		{"0.0#", 1.25, "1.25"},
		{"0.0#", 1, "1.0"},
		{"#.##", 5, "5."},
		{"#.##", 0.5, ".5"},
		{".00", 1.5, "1.50"},
		{"#", 0, ""},
		{"0.??", 1.5, "1.5 "},
		// Thousands and scaling
		{"#,##0", 1234567, "1,234,567"},
		{"#,##0", 123, "123"},
		{"#,##0", 0, "0"},
		{"#,##0", -1234, "-1,234"},
		{"#,##0.00", 1234567.891, "1,234,567.89"},
		{"0,000", 5, "0,005"},
		{"#,##0,", 1234567, "1,235"},
		{`0.0,,"M"`, 1234567, "1.2M"},
		// Leading zeros and literals between digits
		{"00000", 1234, "01234"},
		{"00000", 123456, "123456"},
		{"000-00-0000", 123456789, "123-45-6789"},
		{"(000) 000-0000", 2065551234, "(206) 555-1234"},
		// Percent
		{"0%", 0.25, "25%"},
		{"0.00%", 0.12345, "12.35%"},
		{"0.00%", -0.5, "-50.00%"},
		{"0%", 1.5, "150%"},
		// Currency and negative sections
		{"$#,##0.00", 25821.28, "$25,821.28"},
		{"$#,##0.00", -25821.28, "-$25,821.28"},
		{"$#,##0_);($#,##0)", 1234, "$1,234 "},
		{"$#,##0_);($#,##0)", -1234, "($1,234)"},
		{"$#,##0.00_);[Red]($#,##0.00)", -5, "($5.00)"},
		{"#,##0.00;(#,##0.00)", -1234.5, "(1,234.50)"},
		{"#,##0.00;(#,##0.00)", 1234.5, "1,234.50"},
		{"#,##0 ;(#,##0)", 1234, "1,234 "},
		{`[$€-407]#,##0.00`, 1234.5, "€1,234.50"},
		{`#,##0.00 [$€-1]`, 1234.5, "1,234.50 €"},
		{`[$-409]#,##0`, 1234, "1,234"},
		{`[$USD] #,##0`, 5, "USD 5"},
		{`_("$"* #,##0.00_);_("$"* \(#,##0.00\);_("$"* "-"??_);_(@_)`, 1234.5, " $1,234.50 "},
		{`_("$"* #,##0.00_);_("$"* \(#,##0.00\);_("$"* "-"??_);_(@_)`, -1234.5, " $(1,234.50)"},
		{`_("$"* #,##0.00_);_("$"* \(#,##0.00\);_("$"* "-"??_);_(@_)`, 0, " $-   "},
		{"0;-0;\"zero\"", 0, "zero"},
		{"0;-0;\"zero\"", -3, "-3"},
		{"0;;", -3, ""},
		{"[Red]0.00", -1, "-1.00"},
		{"[Blue]#,##0;[Red]-#,##0", -1234, "-1,234"},
		// Conditions
		{"[<=9999999]###-####;(###) ###-####", 5551234, "555-1234"},
		{"[<=9999999]###-####;(###) ###-####", 2065551234, "(206) 555-1234"},
		{`[>=1000000]0.0,,"M";[>=1000]0.0,"K";0`, 1234567, "1.2M"},
		{`[>=1000000]0.0,,"M";[>=1000]0.0,"K";0`, 12345, "12.3K"},
		{`[>=1000000]0.0,,"M";[>=1000]0.0,"K";0`, 12, "12"},
		// Quoted literals and escapes
		{`0 "units"`, 5, "5 units"},
		{`\#0`, 5, "#5"},
		{`"Total: "General`, 12.5, "Total: 12.5"},
		{`0.00" kg"`, 2.5, "2.50 kg"},
		{`**0`, 5, "5"},
		// Scientific
		{"0.00E+00", 12345, "1.23E+04"},
		{"0.00E+00", 0.00012345, "1.23E-04"},
		{"0.00E+00", 0, "0.00E+00"},
		{"0.00E+00", 9.999, "1.00E+01"},
		{"0.00E-00", 12345, "1.23E04"},
		{"##0.0E+0", 12345, "12.3E+3"},
		{"##0.0E+0", 0.001234, "1.2E-3"},
		{"0E+0", 1234, "1E+3"},
		// Fractions
		{"# ?/?", 1.5, "1 1/2"},
		{"# ?/?", 0.75, " 3/4"},
		{"# ??/??", 3.14159, "3  1/7 "},
		{"# ?/?", 5, "5    "},
		{"?/?", 1.5, "3/2"},
		{"# ?/8", 2.375, "2 3/8"},
		{"# ??/16", 0.5, "  8/16"},
		// Text-only format shows numbers as General
		{"@", 12.5, "12.5"},
		{`"Call "@`, 3, "3"},
		// Literal-only sections
		{`"Yes";"Yes";"No"`, 0, "No"},
		{`"Yes";"Yes";"No"`, -1, "Yes"},
	}
	for _, tt := range tests {
		got := string(compileFormat(tt.code).appendValue(nil, tt.v, false))
		if got != tt.want {
			t.Errorf("format(%q, %v) = %q, want %q", tt.code, tt.v, got, tt.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	// 44474 is 2021-10-05, a Tuesday; .75 is 6 PM.
	tests := []struct {
		code string
		v    float64
		want string
	}{
		{"m/d/yyyy", 44474, "10/5/2021"},
		{"m/d/yyyy", 44474.99, "10/5/2021"},
		{"mm/dd/yyyy", 44474, "10/05/2021"},
		{"d-mmm-yy", 44474, "5-Oct-21"},
		{"d-mmm", 44474, "5-Oct"},
		{"mmm-yy", 44474, "Oct-21"},
		{"dddd, mmmm d, yyyy", 44474, "Tuesday, October 5, 2021"},
		{"ddd d mmm yyyy", 44474, "Tue 5 Oct 2021"},
		{"mmmmm", 44474, "O"},
		{"yyyy-mm-dd", 44474, "2021-10-05"},
		{"yyyy-mm-dd hh:mm:ss", 44474.75, "2021-10-05 18:00:00"},
		{`yyyy-mm-dd"T"hh:mm`, 44474.5, "2021-10-05T12:00"},
		{"m/d/yyyy h:mm", 44474.75, "10/5/2021 18:00"},
		{"h:mm AM/PM", 0.75, "6:00 PM"},
		{"h:mm AM/PM", 0, "12:00 AM"},
		{"h:mm AM/PM", 0.5, "12:00 PM"},
		{"h:mm:ss AM/PM", 0.25 + 1.0/86400, "6:00:01 AM"},
		{"hh:mm a/p", 0.75, "06:00 p"},
		{"h:mm", 0.75, "18:00"},
		{"h:mm:ss", 0.5 + 59.7/86400, "12:01:00"},
		{"h:mm", (10*3600 + 29*60 + 40) / 86400.0, "10:29"},
		{"h:mm", (10*3600 + 29*60 + 59.6) / 86400.0, "10:30"},
		{"h:mm:ss.00", (3600 + 1.234) / 86400.0, "1:00:01.23"},
		{"mm:ss", (5*60 + 7) / 86400.0, "05:07"},
		{"mm:ss.0", (5*60 + 7.25) / 86400.0, "05:07.3"},
		{"mmss.0", (5*60 + 7.25) / 86400.0, "0507.3"},
		{"[h]:mm:ss", 1.5, "36:00:00"},
		{"[h]:mm", 2 + 1.0/24 + 1.0/1440, "49:01"},
		{"[mm]:ss", 1.0 / 24, "60:00"},
		{"[ss]", 1.0 / 1440, "60"},
		{"m/d/yyyy h:mm:ss", 44474 + (86399.9 / 86400), "10/6/2021 0:00:00"},
		// The 1900 leap-year bug and day 0.
		{"m/d/yyyy", 60, "2/29/1900"},
		{"m/d/yyyy", 59, "2/28/1900"},
		{"m/d/yyyy", 61, "3/1/1900"},
		{"m/d/yyyy", 1, "1/1/1900"},
		{"m/d/yyyy", 0, "1/0/1900"},
		{"dddd", 1, "Sunday"},
		{"dddd", 61, "Thursday"},
		{"m/d/yyyy", 2958465, "12/31/9999"},
		// Out of range: the number rather than Excel's #####.
		{"m/d/yyyy", -1, "-1"},
		{"m/d/yyyy", 3000000, "3000000"},
		{"yy", 36526, "00"},
	}
	for _, tt := range tests {
		got := string(compileFormat(tt.code).appendValue(nil, tt.v, false))
		if got != tt.want {
			t.Errorf("format(%q, %v) = %q, want %q", tt.code, tt.v, got, tt.want)
		}
	}
}

func TestFormatDate1904(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "1/1/1904"},
		{1, "1/2/1904"},
		{43012, "10/5/2021"},
	}
	for _, tt := range tests {
		got := string(compileFormat("m/d/yyyy").appendValue(nil, tt.v, true))
		if got != tt.want {
			t.Errorf("1904 format(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := string(compileFormat("dddd").appendValue(nil, 0, true)); got != "Friday" {
		t.Errorf("1904 day 0 = %q, want Friday", got)
	}
}

func TestFormatText(t *testing.T) {
	tests := []struct {
		code, text, want string
		applied          bool
	}{
		{"@", "00123", "00123", true},
		{`"Dear "@`, "Ann", "Dear Ann", true},
		{`0;-0;0;"<"@">"`, "x", "<x>", true},
		{`0;-0;0;"n/a"`, "x", "n/a", true},
		{"0.00", "abc", "", false},
		{"General", "abc", "", false},
	}
	for _, tt := range tests {
		got, ok := compileFormat(tt.code).appendText(nil, tt.text)
		if ok != tt.applied || string(got) != tt.want {
			t.Errorf("text(%q, %q) = %q, %v; want %q, %v", tt.code, tt.text, got, ok, tt.want, tt.applied)
		}
	}
}

func TestBuiltinFormats(t *testing.T) {
	tests := []struct {
		id   int
		v    float64
		want string
	}{
		{0, 1234.5, "1234.5"},
		{1, 1234.5, "1235"},
		{2, 1234.5, "1234.50"},
		{3, 1234.5, "1,235"},
		{4, 1234.5, "1,234.50"},
		{7, 1234.5, "$1,234.50 "},
		{9, 0.5, "50%"},
		{10, 0.5, "50.00%"},
		{11, 1234.5, "1.23E+03"},
		{14, 44474, "10/5/2021"},
		{15, 44474, "5-Oct-21"},
		{18, 0.75, "6:00 PM"},
		{19, 0.75, "6:00:00 PM"},
		{20, 0.75, "18:00"},
		{21, 0.75, "18:00:00"},
		{22, 44474.75, "10/5/2021 18:00"},
		{39, -1234.5, "(1,234.50)"},
		{46, 1.25, "30:00:00"},
		{48, 12345, "12.3E+3"},
		{49, 12, "12"},
		{164, 12, "12"}, // an undeclared custom id falls back to General
	}
	for _, tt := range tests {
		got := string(compileFormat(builtinFormat(tt.id)).appendValue(nil, tt.v, false))
		if got != tt.want {
			t.Errorf("builtin %d (%q) on %v = %q, want %q", tt.id, builtinFormat(tt.id), tt.v, got, tt.want)
		}
	}
}
