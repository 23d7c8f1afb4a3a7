package merge

import "testing"

// TestLinksWhoseTextIsAURL: click tracking must leave alone a link that
// shows a URL, so each link says whether its text is one.
func TestLinksWhoseTextIsAURL(t *testing.T) {
	html := `<p><a href="https://contoso.example/offer">See the offer</a>
<a href="https://contoso.example/">https://contoso.example/</a>
<a href="https://contoso.example/b"><span>www.contoso.example</span>/b</a>
<a href="{{Website}}">{{<span>Website</span>}}</a>
<a href="{{Website}}/x">{{Website}}</a>
<a href="https://contoso.example/c">Visit&nbsp;us at https://contoso.example</a>
<a href="mailto:a@contoso.example">mailto:a@contoso.example</a></p>`
	tpl, err := Compile(Source{Subject: "s", HTML: html}, []string{"Email", "Website"})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, true, true, false, false, false}
	links := tpl.Links()
	if len(links) != len(want) {
		t.Fatalf("%d links: %+v", len(links), links)
	}
	for i, l := range links {
		if l.TextIsURL != want[i] {
			t.Errorf("link %d (%s): text is a URL %v, want %v", i, l.URL, l.TextIsURL, want[i])
		}
	}
}
